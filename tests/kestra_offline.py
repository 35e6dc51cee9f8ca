"""Offline checks and a dry-run simulator for the Kestra flows of this repository.

No Kestra server can run where this project is built, so the flows are proven in two ways:

1. ``check_flows``: a static checker. Every task type and property must be one that
   ../shared/kestra/NOTES.md documents (the tables below are that note, kept as data), every
   Pebble expression must parse, every ``outputs.<task>...`` reference must name a task and an
   output that exist, every Subflow call must target a flow of the repository with exactly its
   declared inputs, every namespace file a flow uses must exist, and the 1.3/2.0 portability
   rules must hold.
2. ``OfflineKestra``: a small simulator that executes a flow the way a Kestra worker with the
   Process task runner would: a fresh working directory per Commands task (namespace files at
   their namespace paths, then inputFiles), the ``commands`` rendered by a minimal Pebble renderer
   and run through ``/bin/sh -c``, ``::{"outputs": ...}::`` lines parsed into ``vars``,
   ``outputFiles`` collected with Java glob semantics into a fake internal storage, FILE values
   passed between subflows as ``kestra://`` URIs, Fail/Assert/Log tasks evaluated, and the
   ``errors`` branch run when a task fails.

What the simulator does NOT model (see docs/KESTRA.md): triggers firing, concurrency, SLAs,
timeouts, task runners other than Process, real secrets/KV backends, Slack or SMTP delivery,
and anything the Pebble subset below does not implement (it fails loudly instead of guessing).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable
from zoneinfo import ZoneInfo

import yaml

NAMESPACE = "bottleneck.reporting"
PACKAGE = "bottleneck_pipeline"
# Namespace-file folder where the business drops the month's workbooks (UI or API). It is not in
# the repository: flows may point at it (nsfile:///inbox/...) without the file existing here.
INBOX = "inbox/"

# ------------------------------------------------------------------------------------------------
# What NOTES.md documents, as data. Source: ../shared/kestra/NOTES.md, sections "Task types the
# pipeline needs" (TASK_PROPERTIES, COMMON_TASK_PROPERTIES, TRIGGER_PROPERTIES) and
# "Flow-level properties" (FLOW_PROPERTIES, INPUT_*, RETRY_PROPERTIES, SLA_PROPERTIES,
# CONCURRENCY_PROPERTIES); "Verified details" for OUTPUT_TYPES (2.0 `Type` enum), labels, SLA and
# `allowedFileExtensions` ("Files without an upload"). Output `description` is in the 2.0
# OpenAPI `Output` schema (shared/kestra/openapi-2.0.yml).

COMMON_TASK_PROPERTIES = {"id", "type", "description", "retry", "timeout", "disabled",
                          "allowFailure", "runIf", "logLevel"}

_SCRIPT_COMMON = {"namespaceFiles", "inputFiles", "outputFiles", "containerImage", "taskRunner",
                  "beforeCommands", "env", "dependencies", "pythonVersion"}

TASK_PROPERTIES: dict[str, set[str]] = {
    "io.kestra.plugin.scripts.python.Commands": {"commands"} | _SCRIPT_COMMON,
    "io.kestra.plugin.scripts.python.Script": {"script"} | _SCRIPT_COMMON,
    "io.kestra.plugin.jdbc.duckdb.Query": {"sql", "inputFiles", "outputFiles", "url", "databaseUri",
                                           "outputDbFile", "fetchType", "parameters"},
    "io.kestra.plugin.core.flow.Subflow": {"namespace", "flowId", "inputs", "wait", "transmitFailed",
                                           "inheritLabels", "labels", "restartBehavior"},
    "io.kestra.plugin.core.flow.WorkingDirectory": {"tasks", "inputFiles", "outputFiles",
                                                    "namespaceFiles", "cache"},
    "io.kestra.plugin.core.flow.If": {"condition", "then", "else"},
    "io.kestra.plugin.core.flow.Switch": {"value", "cases", "defaults"},
    "io.kestra.plugin.core.flow.Parallel": {"tasks"},
    "io.kestra.plugin.core.flow.Sequential": {"tasks"},
    "io.kestra.plugin.core.execution.Fail": {"condition", "errorMessage"},
    "io.kestra.plugin.core.execution.Assert": {"conditions", "errorMessage"},
    "io.kestra.plugin.core.log.Log": {"message", "level"},
    "io.kestra.plugin.slack.notifications.SlackIncomingWebhook": {"url", "messageText", "payload"},
    "io.kestra.plugin.email.MailSend": {"host", "port", "username", "password", "transportStrategy",
                                        "from", "to", "subject", "htmlTextContent", "attachments"},
}
COMMANDS = "io.kestra.plugin.scripts.python.Commands"
SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
FAIL = "io.kestra.plugin.core.execution.Fail"
ASSERT = "io.kestra.plugin.core.execution.Assert"
LOG = "io.kestra.plugin.core.log.Log"
SLACK = "io.kestra.plugin.slack.notifications.SlackIncomingWebhook"
MAIL = "io.kestra.plugin.email.MailSend"
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"

TRIGGER_PROPERTIES = {SCHEDULE: {"id", "type", "cron", "timezone", "recoverMissedSchedules", "inputs"}}
FLOW_PROPERTIES = {"id", "namespace", "description", "labels", "inputs", "variables", "tasks",
                   "errors", "finally", "afterExecution", "outputs", "retry", "concurrency", "sla",
                   "triggers"}
INPUT_PROPERTIES = {"id", "type", "description", "defaults", "required", "allowedFileExtensions"}
INPUT_TYPES = {"FILE", "STRING", "INT", "FLOAT", "BOOL", "SELECT", "DATETIME"}
OUTPUT_PROPERTIES = {"id", "type", "value", "description"}
OUTPUT_TYPES = {"STRING", "INT", "FLOAT", "BOOL", "DATETIME", "DATE", "TIME", "DURATION", "FILE",
                "JSON", "URI", "SECRET", "ARRAY", "MULTISELECT", "YAML", "EMAIL"}
RETRY_PROPERTIES = {"constant": {"interval"}, "exponential": {"interval", "maxInterval", "delayFactor"},
                    "random": {"minInterval", "maxInterval"}}
RETRY_COMMON = {"type", "maxAttempts", "maxDuration"}
SLA_PROPERTIES = {"id", "type", "duration", "behavior", "labels", "assert"}
CONCURRENCY_PROPERTIES = {"limit", "behavior"}
CONCURRENCY_BEHAVIORS = {"QUEUE", "CANCEL", "FAIL"}
NAMESPACE_FILES_PROPERTIES = {"enabled", "include"}
RECOVER_MISSED = {"ALL", "LAST", "NONE"}
LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}

# Portability 1.3 + 2.0 (NOTES "Versions"): names 2.0 rejects or that belong to old releases.
FORBIDDEN_KEYS = {"pluginDefaults", "taskDefaults"}
FORBIDDEN_TYPE_PATTERNS = (re.compile(r"\.ForEach(Item)?$"), re.compile(r"^io\.kestra\.core\.tasks\."),
                           re.compile(r"^io\.kestra\.plugin\.notifications\."))
FORBIDDEN_INPUT_TYPES = {"BOOLEAN", "ENUM"}

# Kestra durations are ISO-8601 without week/month/year designators (docs: timeout, retries).
ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")

# ------------------------------------------------------------------------------------------------
# The Kestra outputs each CLI command emits (``::{"outputs": {...}}::``), success and rejection
# (``--rejection-as-output``). tests/test_flows.py runs the CLI to prove this table right.
STAGE_COMMANDS = ("ingest", "clean", "merge", "report", "classify")
_STAGE_KEYS = {"rejected", "rows_in", "rows_out"}
EMITTED_ON_SUCCESS: dict[str, set[str]] = {
    "ingest": _STAGE_KEYS, "clean": _STAGE_KEYS, "merge": _STAGE_KEYS,
    "report": _STAGE_KEYS | {"ca_total"},
    "classify": _STAGE_KEYS | {"premium_count", "ordinary_count"},
    "check": {"rejected", "passed", "errors", "warnings"},
    "finalize": {"rejected", "products", "ca_total", "premium_count", "ordinary_count"},
}
EMITTED_ON_REJECTION = {"rejected", "rejection_message"}
CLI_OPTIONS_WITH_VALUE = {"--log-format", "--run-id", "--database"}


def cli_command(command_line: str) -> str | None:
    """The subcommand a ``python -m bottleneck_pipeline ...`` line runs (``check`` for checks)."""
    words = re.sub(r"\{\{.*?\}\}", "EXPR", command_line).split()
    try:
        start = words.index(PACKAGE) + 1
    except ValueError:
        return None
    i = start
    while i < len(words) and words[i].startswith("--"):
        i += 2 if words[i] in CLI_OPTIONS_WITH_VALUE else 1
    return words[i] if i < len(words) else None


# ------------------------------------------------------------------------------------------------
# Java glob (java.nio PathMatcher "glob:"), as Kestra uses it for namespaceFiles.include and
# outputFiles: `*` and `?` stay within one path segment, `**` crosses segments, `{a,b}` alternates.

def java_glob_regex(pattern: str) -> re.Pattern:
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        elif c == "[":
            end = pattern.index("]", i)
            out.append(pattern[i:end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def include_matches(pattern: str, namespace_path: str) -> bool:
    """namespaceFiles.include: ``/x`` is rooted at the namespace, anything else gets ``**/``."""
    glob = pattern if pattern.startswith("/") else "**/" + pattern
    return bool(java_glob_regex(glob).match("/" + namespace_path.lstrip("/")))


def output_matches(pattern: str, relative_path: str) -> bool:
    """outputFiles: globs rooted at the working directory (``*.x`` top level, ``**.x`` any depth)."""
    return bool(java_glob_regex(pattern).match(relative_path))


# ------------------------------------------------------------------------------------------------
# A minimal Pebble: exactly the syntax our flows use. Operators and precedences are Pebble's
# (CoreExtension) plus Kestra's `??`/`???` at 120 (io.kestra.core.runners.pebble.Extension), so
# `a ?? b | date(...)` means `(a ?? b) | date(...)`. Anything else raises PebbleError.

class PebbleError(Exception):
    pass


class Undefined(PebbleError):
    """A variable or attribute that does not exist (Kestra renders in strict mode)."""


BINARY = {"or": 10, "and": 15, "contains": 20, "==": 30, "!=": 30, "<": 30, ">": 30, "<=": 30,
          ">=": 30, "+": 40, "-": 40, "*": 60, "/": 60, "%": 60, "|": 100, "~": 110, "??": 120,
          "???": 120}
_TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?) |
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*") |
    (?P<name>[A-Za-z_][A-Za-z0-9_]*) |
    (?P<op>\?\?\?|\?\?|==|!=|<=|>=|[-+*/%|~<>()\[\].,=])
)""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise PebbleError(f"cannot parse expression near {text[pos:pos + 20]!r} in {text!r}")
        pos = m.end()
        if m.group("num"):
            num = m.group("num")
            tokens.append(("lit", float(num) if "." in num else int(num)))
        elif m.group("str"):
            tokens.append(("lit", re.sub(r"\\(.)", r"\1", m.group("str")[1:-1])))
        elif m.group("name"):
            name = m.group("name")
            if name in ("true", "false"):
                tokens.append(("lit", name == "true"))
            elif name in ("null", "none"):
                tokens.append(("lit", None))
            else:
                tokens.append(("name", name))
        else:
            tokens.append(("op", m.group("op")))
    return tokens


# AST nodes are tuples: ("lit", v) ("var", name) ("attr", obj, name) ("item", obj, key)
# ("call", name, args, kwargs) ("filter", obj, name, args, kwargs) ("bin", op, a, b) ("not", a)
# ("neg", a)

class _Parser:
    def __init__(self, text: str):
        self.text, self.toks, self.i = text, _tokens(text), 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise PebbleError(f"expected {value or kind} at token {self.i} of {self.text!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.expr(0)
        if self.i != len(self.toks):
            raise PebbleError(f"unexpected {self.peek()[1]!r} in {self.text!r}")
        return node

    def _binary_op(self):
        kind, value = self.peek()
        if kind == "op" and value in BINARY:
            return value
        if kind == "name" and value in ("and", "or", "contains"):
            return value
        return None

    def expr(self, min_prec: int):
        left = self.unary()
        while (op := self._binary_op()) is not None and BINARY[op] >= min_prec:
            self.i += 1
            if op == "|":
                name = self.take("name")[1]
                args, kwargs = self.arguments() if self.peek() == ("op", "(") else ([], {})
                left = ("filter", left, name, args, kwargs)
            else:
                left = ("bin", op, left, self.expr(BINARY[op] + 1))
        return left

    def unary(self):
        if self.peek() == ("name", "not"):
            self.i += 1
            return ("not", self.expr(6))
        if self.peek() == ("op", "-"):
            self.i += 1
            return ("neg", self.postfix())
        return self.postfix()

    def arguments(self):
        self.take("op", "(")
        args, kwargs = [], {}
        while self.peek() != ("op", ")"):
            if self.peek()[0] == "name" and self.toks[self.i + 1:self.i + 2] == [("op", "=")]:
                key = self.take("name")[1]
                self.take("op", "=")
                kwargs[key] = self.expr(0)
            else:
                args.append(self.expr(0))
            if self.peek() == ("op", ","):
                self.i += 1
        self.take("op", ")")
        return args, kwargs

    def postfix(self):
        kind, value = self.take()
        if kind == "lit":
            node = ("lit", value)
        elif kind == "name":
            if self.peek() == ("op", "("):
                args, kwargs = self.arguments()
                node = ("call", value, args, kwargs)
            else:
                node = ("var", value)
        elif (kind, value) == ("op", "("):
            node = self.expr(0)
            self.take("op", ")")
        else:
            raise PebbleError(f"unexpected {value!r} in {self.text!r}")
        while True:
            if self.peek() == ("op", "."):
                self.i += 1
                node = ("attr", node, self.take("name")[1])
            elif self.peek() == ("op", "["):
                self.i += 1
                key = self.expr(0)
                self.take("op", "]")
                node = ("item", node, key)
            else:
                return node


def parse_expression(text: str):
    return _Parser(text).parse()


_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.DOTALL)


def parse_template(text: str) -> list:
    """Nodes: ("text", s) ("out", expr) ("for", var, iter_expr, body) ("if", expr, body, else)."""
    root: list = []
    stack: list[tuple[list, tuple | None]] = [(root, None)]
    pos = 0
    for m in _TAG.finditer(text):
        if m.start() > pos:
            stack[-1][0].append(("text", text[pos:m.start()]))
        pos = m.end()
        if m.group(1) is not None:
            stack[-1][0].append(("out", parse_expression(m.group(1))))
        elif m.group(2) is not None:
            words = m.group(2).strip()
            if m_for := re.fullmatch(r"for\s+(\w+)\s+in\s+(.+)", words, re.DOTALL):
                node = ["for", m_for.group(1), parse_expression(m_for.group(2)), []]
                stack[-1][0].append(node)
                stack.append((node[3], ("for",)))
            elif m_if := re.fullmatch(r"if\s+(.+)", words, re.DOTALL):
                node = ["if", parse_expression(m_if.group(1)), [], []]
                stack[-1][0].append(node)
                stack.append((node[2], ("if", node)))
            elif words == "else" and stack[-1][1] and stack[-1][1][0] == "if":
                node = stack.pop()[1][1]
                stack.append((node[3], ("else",)))
            elif words in ("endfor", "endif") and len(stack) > 1:
                stack.pop()
            else:
                raise PebbleError(f"unsupported tag {{% {words} %}} in {text!r}")
    if len(stack) != 1:
        raise PebbleError(f"unclosed tag in {text!r}")
    if pos < len(text):
        root.append(("text", text[pos:]))
    return root


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def to_text(value: Any) -> str:
    """How Kestra prints a value into a rendered string (Java toString; maps/lists as JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def truthy(rendered: str | None) -> bool:
    """io.kestra.core.utils.TruthUtils: false, 0, -0 and '' are false; null is not true."""
    return rendered is not None and rendered.strip() not in ("false", "0", "-0", "")


_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


def java_date_format(value: Any, pattern: str, time_zone: str | None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise PebbleError(f"date filter on a non-date: {value!r}")
    if time_zone:
        value = value.astimezone(ZoneInfo(time_zone))
    out = ""
    for run in re.finditer(r"([A-Za-z])\1*|'[^']*'|[^A-Za-z']+", pattern):
        token = run.group(0)
        if token[0].isalpha():
            if token not in _JAVA_DATE:
                raise PebbleError(f"date pattern letter {token!r} not implemented")
            out += value.strftime(_JAVA_DATE[token])
        else:
            out += token.strip("'")
    return out


class Renderer:
    """Evaluates templates against a context with Kestra's functions and filters (subset)."""

    def __init__(self, context: dict, functions: dict[str, Callable] | None = None):
        self.context = context
        self.functions = {"render": self._render_fn, **(functions or {})}
        self.filters = {"date": self._date_filter}

    # -- rendering ---------------------------------------------------------------------------
    def render(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return self._render_nodes(parse_template(text), dict(self.context))

    def render_deep(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.render_deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_deep(v) for v in value]
        return self.render(value)

    def _render_nodes(self, nodes: list, scope: dict) -> str:
        out = []
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "out":
                out.append(to_text(self.evaluate(node[1], scope)))
            elif node[0] == "for":
                for item in self.evaluate(node[2], scope) or []:
                    out.append(self._render_nodes(node[3], {**scope, node[1]: item}))
            elif node[0] == "if":
                branch = node[2] if self.evaluate(node[1], scope) else node[3]
                out.append(self._render_nodes(branch, scope))
        return "".join(out)

    # -- expressions ---------------------------------------------------------------------------
    def evaluate(self, node, scope: dict) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "var":
            if node[1] not in scope:
                raise Undefined(f"Unable to find `{node[1]}`")
            return scope[node[1]]
        if kind in ("attr", "item"):
            obj = self.evaluate(node[1], scope)
            key = node[2] if kind == "attr" else self.evaluate(node[2], scope)
            if isinstance(obj, dict) and key in obj:
                return obj[key]
            if isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
                return obj[key]
            raise Undefined(f"Unable to find `{key}`")
        if kind == "call":
            if node[1] not in self.functions:
                raise PebbleError(f"function {node[1]}() is not implemented offline")
            args = [self.evaluate(a, scope) for a in node[2]]
            kwargs = {k: self.evaluate(v, scope) for k, v in node[3].items()}
            return self.functions[node[1]](*args, **kwargs)
        if kind == "filter":
            if node[2] not in self.filters:
                raise PebbleError(f"filter |{node[2]} is not implemented offline")
            args = [self.evaluate(a, scope) for a in node[3]]
            kwargs = {k: self.evaluate(v, scope) for k, v in node[4].items()}
            return self.filters[node[2]](self.evaluate(node[1], scope), *args, **kwargs)
        if kind == "not":
            return not self.evaluate(node[1], scope)
        if kind == "neg":
            return -self.evaluate(node[1], scope)
        if kind == "bin":
            return self._binary(node[1], node[2], node[3], scope)
        raise PebbleError(f"unknown node {kind}")

    def _binary(self, op: str, a, b, scope: dict) -> Any:
        if op in ("??", "???"):
            try:
                left = self.evaluate(a, scope)
            except Undefined:
                return self.evaluate(b, scope)
            return self.evaluate(b, scope) if (left is None and op == "??") else left
        if op == "and":
            return bool(self.evaluate(a, scope)) and bool(self.evaluate(b, scope))
        if op == "or":
            return bool(self.evaluate(a, scope)) or bool(self.evaluate(b, scope))
        x, y = self.evaluate(a, scope), self.evaluate(b, scope)
        ops = {"==": lambda: x == y, "!=": lambda: x != y, "<": lambda: x < y, ">": lambda: x > y,
               "<=": lambda: x <= y, ">=": lambda: x >= y, "+": lambda: x + y, "-": lambda: x - y,
               "*": lambda: x * y, "/": lambda: x / y, "%": lambda: x % y,
               "~": lambda: to_text(x) + to_text(y), "contains": lambda: y in x}
        return ops[op]()

    def _render_fn(self, text: Any, recursive: bool = True) -> Any:
        rendered = self.render(text)
        while recursive and is_templated(rendered):
            rendered = self.render(rendered)
        return rendered

    @staticmethod
    def _date_filter(value, format=None, timeZone=None, **unsupported):  # noqa: A002 - Pebble name
        if unsupported or format is None:
            raise PebbleError(f"date filter arguments not implemented: {unsupported or 'no format'}")
        return java_date_format(value, format, timeZone)


# ------------------------------------------------------------------------------------------------
# Static analysis helpers: walk every templated string of a flow, and the references it makes.

KNOWN_FUNCTIONS = {"render", "secret", "kv", "errorLogs", "tasksWithState", "read"}
KNOWN_FILTERS = {"date"}
ROOT_VARIABLES = {"inputs", "outputs", "vars", "execution", "flow", "trigger", "kestra"}
EXECUTION_FIELDS = {"id", "startDate"}
FLOW_FIELDS = {"id", "namespace"}
TRIGGER_FIELDS = {"date", "previous", "next"}
KESTRA_FIELDS = {"url"}


def template_strings(node: Any, path: str = ""):
    """(path, string) for every templated string below node."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from template_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from template_strings(value, f"{path}[{i}]")
    elif is_templated(node):
        yield path, node


@dataclass
class Reference:
    chain: list  # ["outputs", "run", "outputFiles", "out/x"]; "*" for a computed key
    guarded: bool  # left operand of `??` (a missing value is expected and handled)


def _chain(node) -> list | None:
    if node[0] == "var":
        return [node[1]]
    if node[0] == "attr":
        base = _chain(node[1])
        return base + [node[2]] if base is not None else None
    if node[0] == "item":
        base = _chain(node[1])
        key = node[2][1] if node[2][0] == "lit" else "*"
        return base + [key] if base is not None else None
    return None


def expression_facts(text: str):
    """References, function names, filter names and loop variables used by one template."""
    refs: list[Reference] = []
    functions: set[str] = set()
    filters: set[str] = set()
    loop_vars: set[str] = set()
    calls: list[tuple[str, list]] = []

    def walk(node, guarded=False):
        kind = node[0]
        if kind in ("var", "attr", "item"):
            chain = _chain(node)
            if chain is not None:
                refs.append(Reference(chain, guarded))
            if kind == "item":
                walk(node[2])
            if kind in ("attr", "item") and _chain(node[1]) is None:
                walk(node[1], guarded)
        elif kind == "call":
            functions.add(node[1])
            calls.append((node[1], node[2]))
            for arg in node[2] + list(node[3].values()):
                walk(arg)
        elif kind == "filter":
            filters.add(node[2])
            walk(node[1], guarded)
            for arg in node[3] + list(node[4].values()):
                walk(arg)
        elif kind == "bin":
            walk(node[2], guarded or node[1] in ("??", "???"))
            walk(node[3], guarded)
        elif kind in ("not", "neg"):
            walk(node[1], guarded)

    def walk_nodes(nodes):
        for node in nodes:
            if node[0] == "out":
                walk(node[1])
            elif node[0] == "for":
                loop_vars.add(node[1])
                walk(node[2])
                walk_nodes(node[3])
            elif node[0] == "if":
                walk(node[1])
                walk_nodes(node[2])
                walk_nodes(node[3])

    walk_nodes(parse_template(text))
    return refs, functions, filters, loop_vars, calls


# ------------------------------------------------------------------------------------------------
# Loading flows and namespace files.

@dataclass
class FlowFile:
    path: str  # relative to the repository, e.g. "subflows/ingest.yml"
    flow: dict

    @property
    def key(self) -> tuple[str, str]:
        return self.flow.get("namespace"), self.flow.get("id")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _mapping_without_duplicates(loader, node, deep=False):
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_flows(repo: Path) -> dict[str, FlowFile]:
    flows = {}
    for folder in ("subflows", "flows"):
        for path in sorted((repo / folder).glob("*.yml")):
            rel = f"{folder}/{path.name}"
            flows[rel] = FlowFile(rel, yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader))
    return flows


def namespace_file_paths(namespace_files: Path) -> list[str]:
    """What scripts/deploy.py uploads: every file of namespace_files/ at its relative path,
    minus __pycache__, *.pyc and *.egg-info (docs/DEPLOY.md)."""
    paths = []
    for path in sorted(namespace_files.rglob("*")):
        rel = path.relative_to(namespace_files)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix == ".pyc" \
                or any(part.endswith(".egg-info") for part in rel.parts):
            continue
        paths.append(rel.as_posix())
    return paths


def iter_tasks(tasks: list | None, where: str):
    """(where, task) for every task, nested ones included (then/else/tasks/cases/defaults)."""
    for task in tasks or []:
        yield where, task
        for key in ("tasks", "then", "else", "defaults"):
            if isinstance(task.get(key), list):
                yield from iter_tasks(task[key], f"{where}/{task.get('id')}.{key}")
        if isinstance(task.get("cases"), dict):
            for case, sub in task["cases"].items():
                yield from iter_tasks(sub, f"{where}/{task.get('id')}.cases.{case}")


def all_tasks(flow: dict):
    for section in ("tasks", "errors", "finally", "afterExecution"):
        yield from iter_tasks(flow.get(section), section)


def declared_inputs(flow: dict) -> dict[str, dict]:
    return {i["id"]: i for i in flow.get("inputs") or [] if isinstance(i, dict) and "id" in i}


def declared_outputs(flow: dict) -> dict[str, dict]:
    return {o["id"]: o for o in flow.get("outputs") or [] if isinstance(o, dict) and "id" in o}


def input_is_required(spec: dict) -> bool:
    return spec.get("required", True) is not False and spec.get("defaults") is None


def task_commands(task: dict) -> list[str]:
    return [c for c in task.get("commands") or [] if isinstance(c, str)]


def task_cli_command(task: dict) -> str | None:
    for line in task_commands(task):
        if (cmd := cli_command(line)) is not None:
            return cmd
    return None


# ------------------------------------------------------------------------------------------------
# The static checker.

def check_flows(flows: dict[str, FlowFile], ns_paths: list[str]) -> list[str]:
    """Every problem found, as ``file: message`` lines (empty: all good)."""
    problems: list[str] = []
    by_key = {f.key: f for f in flows.values()}
    for rel, flow_file in flows.items():
        problems += [f"{rel}: {p}" for p in _check_flow(flow_file.flow, rel, by_key, ns_paths)]
    return problems


def _check_flow(flow: dict, rel: str, by_key: dict, ns_paths: list[str]) -> list[str]:
    p: list[str] = []
    if not isinstance(flow, dict):
        return ["not a YAML mapping"]
    for key in ("id", "namespace", "tasks"):
        if not flow.get(key):
            p.append(f"missing required `{key}`")
    if flow.get("namespace") != NAMESPACE:
        p.append(f"namespace {flow.get('namespace')!r} is not {NAMESPACE}")
    flow_id = str(flow.get("id", ""))
    if not re.fullmatch(r"[a-z][a-z0-9_]*", flow_id):
        p.append(f"flow id {flow_id!r} is not snake_case")
    if Path(rel).stem != flow_id:
        p.append(f"file name does not match flow id {flow_id!r}")
    p += [f"undocumented flow property `{k}`" for k in sorted(set(flow) - FLOW_PROPERTIES)]
    if not flow.get("description"):
        p.append("flow has no description")
    p += _check_forbidden(flow)
    p += _check_labels(flow)
    p += _check_inputs_outputs(flow)
    p += _check_flow_level(flow)
    p += _check_triggers(flow)

    ids: dict[str, str] = {}
    for where, task in all_tasks(flow):
        if not isinstance(task, dict):
            p.append(f"{where}: a task is not a mapping")
            continue
        tid = task.get("id")
        if tid in ids:
            p.append(f"task id `{tid}` is used twice ({ids[tid]} and {where})")
        ids[tid] = where
        p += [f"task `{tid}`: {m}" for m in _check_task(task, flow, by_key, ns_paths)]
    p += _check_expressions(flow, by_key, ns_paths)
    return p


def _check_forbidden(node: Any, where: str = "") -> list[str]:
    p = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FORBIDDEN_KEYS:
                p.append(f"{where}{key}: not portable (Kestra 2.0 rejects it)")
            p += _check_forbidden(value, f"{where}{key}.")
    elif isinstance(node, list):
        for value in node:
            p += _check_forbidden(value, where)
    return p


def _check_labels(flow: dict) -> list[str]:
    labels = flow.get("labels")
    if labels is None:
        return ["flow has no labels"]
    if isinstance(labels, dict):
        return [f"label {k}: value must be a scalar" for k, v in labels.items()
                if isinstance(v, (dict, list))]
    if isinstance(labels, list):
        return [f"label {item!r}: needs key and value" for item in labels
                if not (isinstance(item, dict) and set(item) == {"key", "value"})]
    return ["labels must be a map or a list of {key, value}"]


def _check_inputs_outputs(flow: dict) -> list[str]:
    p = []
    for spec in flow.get("inputs") or []:
        iid = spec.get("id")
        p += [f"input `{iid}`: undocumented property `{k}`" for k in sorted(set(spec) - INPUT_PROPERTIES)]
        if spec.get("type") in FORBIDDEN_INPUT_TYPES:
            p.append(f"input `{iid}`: type {spec.get('type')} is not portable (use BOOL/SELECT)")
        elif spec.get("type") not in INPUT_TYPES:
            p.append(f"input `{iid}`: unknown type {spec.get('type')!r}")
        if not spec.get("description"):
            p.append(f"input `{iid}` has no description")
        if "allowedFileExtensions" in spec and spec.get("type") != "FILE":
            p.append(f"input `{iid}`: allowedFileExtensions only applies to FILE inputs")
    for spec in flow.get("outputs") or []:
        oid = spec.get("id")
        p += [f"output `{oid}`: undocumented property `{k}`" for k in sorted(set(spec) - OUTPUT_PROPERTIES)]
        if spec.get("type") not in OUTPUT_TYPES:
            p.append(f"output `{oid}`: type {spec.get('type')!r} is required and must be one of the 2.0 types")
        if not spec.get("description"):
            p.append(f"output `{oid}` has no description")
        if "value" not in spec:
            p.append(f"output `{oid}` has no value")
    return p


def _check_flow_level(flow: dict) -> list[str]:
    p = []
    if "concurrency" in flow:
        c = flow["concurrency"] or {}
        p += [f"concurrency: undocumented property `{k}`" for k in sorted(set(c) - CONCURRENCY_PROPERTIES)]
        if c.get("behavior") not in CONCURRENCY_BEHAVIORS:
            p.append(f"concurrency: behavior {c.get('behavior')!r} not in {sorted(CONCURRENCY_BEHAVIORS)}")
        if not isinstance(c.get("limit"), int) or c["limit"] < 1:
            p.append("concurrency: limit must be a positive integer")
    for sla in flow.get("sla") or []:
        p += [f"sla `{sla.get('id')}`: undocumented property `{k}`" for k in sorted(set(sla) - SLA_PROPERTIES)]
        if sla.get("type") not in ("MAX_DURATION", "EXECUTION_ASSERTION"):
            p.append(f"sla `{sla.get('id')}`: unknown type {sla.get('type')!r}")
        if sla.get("behavior") not in ("FAIL", "CANCEL", "NONE"):
            p.append(f"sla `{sla.get('id')}`: unknown behavior {sla.get('behavior')!r}")
        if sla.get("type") == "MAX_DURATION" and not ISO_DURATION.match(str(sla.get("duration", ""))):
            p.append(f"sla `{sla.get('id')}`: duration {sla.get('duration')!r} is not ISO-8601")
    if not flow.get("sla"):
        p.append("flow has no sla (a flow has no timeout: an SLA bounds it)")
    return p


def _check_triggers(flow: dict) -> list[str]:
    p = []
    for trigger in flow.get("triggers") or []:
        tid, ttype = trigger.get("id"), trigger.get("type")
        if "conditions" in trigger:
            p.append(f"trigger `{tid}`: `conditions` is not portable (2.0 uses `when`)")
        if ttype not in TRIGGER_PROPERTIES:
            p.append(f"trigger `{tid}`: type {ttype!r} is not documented in NOTES.md")
            continue
        extra = set(trigger) - TRIGGER_PROPERTIES[ttype] - {"conditions"}
        p += [f"trigger `{tid}`: undocumented property `{k}`" for k in sorted(extra)]
        if len(str(trigger.get("cron", "")).split()) != 5:
            p.append(f"trigger `{tid}`: cron must have 5 fields")
        if not trigger.get("timezone"):
            p.append(f"trigger `{tid}`: set `timezone` (the default is the server's zone)")
        else:
            ZoneInfo(trigger["timezone"])
        if trigger.get("recoverMissedSchedules", "ALL") not in RECOVER_MISSED:
            p.append(f"trigger `{tid}`: recoverMissedSchedules must be one of {sorted(RECOVER_MISSED)}")
    return p


def _check_task(task: dict, flow: dict, by_key: dict, ns_paths: list[str]) -> list[str]:
    p = []
    ttype = task.get("type", "")
    if any(pattern.search(ttype) for pattern in FORBIDDEN_TYPE_PATTERNS):
        p.append(f"type {ttype} is removed in 2.0 or an old name")
    if ttype not in TASK_PROPERTIES:
        return p + [f"type {ttype!r} is not documented in NOTES.md"]
    extra = set(task) - COMMON_TASK_PROPERTIES - TASK_PROPERTIES[ttype]
    p += [f"undocumented property `{k}` for {ttype.rsplit('.', 1)[-1]}" for k in sorted(extra)]
    if "timeout" not in task:
        p.append("no timeout (every task gets one, ISO-8601)")
    elif not ISO_DURATION.match(str(task["timeout"])):
        p.append(f"timeout {task['timeout']!r} is not an ISO-8601 duration")
    if "retry" in task:
        p += _check_retry(task["retry"])
    if "logLevel" in task and task["logLevel"] not in LOG_LEVELS:
        p.append(f"logLevel {task['logLevel']!r} unknown")
    if ttype == COMMANDS:
        p += _check_commands(task, flow, ns_paths)
    elif ttype == SUBFLOW:
        p += _check_subflow_call(task, flow, by_key)
    elif ttype == LOG and task.get("level", "INFO") not in LOG_LEVELS:
        p.append(f"level {task.get('level')!r} unknown")
    elif ttype == ASSERT and not task.get("conditions"):
        p.append("Assert needs `conditions`")
    return p


def _check_retry(retry: dict) -> list[str]:
    p = []
    rtype = retry.get("type")
    if "maxAttempt" in retry:
        p.append("retry `maxAttempt` is the old name of `maxAttempts`")
    if rtype not in RETRY_PROPERTIES:
        return p + [f"retry type {rtype!r} unknown"]
    extra = set(retry) - RETRY_COMMON - RETRY_PROPERTIES[rtype] - {"maxAttempt"}
    p += [f"retry: undocumented property `{k}`" for k in sorted(extra)]
    if not isinstance(retry.get("maxAttempts"), int) or not 1 <= retry["maxAttempts"] <= 10:
        p.append("retry: maxAttempts must be a bounded integer (1..10)")
    for key in ("interval", "maxInterval", "minInterval", "maxDuration"):
        if key in retry and not ISO_DURATION.match(str(retry[key])):
            p.append(f"retry: {key} {retry[key]!r} is not ISO-8601")
    return p


def _check_commands(task: dict, flow: dict, ns_paths: list[str]) -> list[str]:
    p = []
    runner = task.get("taskRunner") or {}
    if runner != {"type": PROCESS_RUNNER}:
        p.append(f"taskRunner must be {{type: {PROCESS_RUNNER}}} (dependencies are baked in the image)")
    nsf = task.get("namespaceFiles")
    if nsf is not None:
        p += [f"namespaceFiles: undocumented property `{k}`"
              for k in sorted(set(nsf) - NAMESPACE_FILES_PROPERTIES)]
        for pattern in nsf.get("include") or []:
            if not any(include_matches(pattern, path) for path in ns_paths):
                p.append(f"namespaceFiles include {pattern!r} matches no file of namespace_files/")
    for name, value in (task.get("inputFiles") or {}).items():
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            p.append(f"inputFiles key {name!r} must be a relative path")
        if isinstance(value, str) and value.startswith("nsfile://"):
            p += _check_nsfile(value, ns_paths)
    outputs = task.get("outputFiles") or []
    if not outputs:
        p.append("no outputFiles: a stage must hand its files on")
    if not task_commands(task):
        p.append("no commands")
    for line in task_commands(task):
        if PACKAGE not in line:
            p.append(f"command {line!r} does not run the package (flows only wire)")
            continue
        for flag in ("--log-format json", "--run-id {{ execution.id }}"):
            if flag not in line:
                p.append(f"command must pass `{flag}`")
        cmd = cli_command(line)
        if cmd not in EMITTED_ON_SUCCESS and cmd not in STAGE_COMMANDS:
            p.append(f"unknown CLI command {cmd!r}")
        if "--rejection-as-output" not in line:
            p.append("command must pass --rejection-as-output (a data rejection is never retried)")
        elif not _followed_by_rejection_fail(flow, task["id"]):
            p.append("a --rejection-as-output command must be followed by a Fail task on "
                     f"`outputs.{task['id']}.vars.rejected`")
        if needs_package(line) and not any(include_matches(pat, f"{PACKAGE}/__main__.py")
                                           for pat in (nsf or {}).get("include") or []):
            p.append(f"namespaceFiles must include the {PACKAGE} package")
    return p


def needs_package(line: str) -> bool:
    return f"-m {PACKAGE}" in line


def _followed_by_rejection_fail(flow: dict, task_id: str) -> bool:
    tasks = flow.get("tasks") or []
    for i, task in enumerate(tasks):
        if task.get("id") == task_id:
            nxt = tasks[i + 1] if i + 1 < len(tasks) else {}
            return nxt.get("type") == FAIL and f"outputs.{task_id}.vars.rejected" in str(nxt.get("condition", ""))
    return False


def _check_nsfile(uri: str, ns_paths: list[str]) -> list[str]:
    m = re.fullmatch(r"nsfile://(?P<ns>[^/]*)/(?P<path>.+)", uri)
    if not m:
        return [f"{uri!r} is not an nsfile:/// URI"]
    if m.group("ns") not in ("", NAMESPACE):
        return [f"{uri!r} points at another namespace"]
    path = m.group("path").lstrip("/")
    if path.startswith(INBOX) or path in ns_paths:
        return []
    return [f"{uri!r}: no such namespace file in namespace_files/ (and not under {INBOX})"]


def _check_subflow_call(task: dict, flow: dict, by_key: dict) -> list[str]:
    p = []
    target = by_key.get((task.get("namespace"), task.get("flowId")))
    if target is None:
        return [f"calls {task.get('namespace')}.{task.get('flowId')}, which is not a flow of this repository"]
    if task.get("wait") is not True or task.get("transmitFailed") is not True:
        p.append("Subflow calls use wait: true and transmitFailed: true (outputs and failures come back)")
    child_inputs = declared_inputs(target.flow)
    passed = task.get("inputs") or {}
    p += [f"passes `{k}`, which {target.path} does not declare" for k in sorted(set(passed) - set(child_inputs))]
    p += [f"does not pass required input `{k}` of {target.path}" for k, spec in child_inputs.items()
          if input_is_required(spec) and k not in passed]
    for name, value in passed.items():
        if child_inputs.get(name, {}).get("type") == "FILE" and not _is_file_value(value, flow, by_key):
            p.append(f"FILE input `{name}` of {target.path} is fed {value!r}, which is not a FILE value")
    return p


def _is_file_value(value: Any, flow: dict, by_key: dict) -> bool:
    """A FILE input must get a FILE: one of our FILE inputs, a FILE output of a subflow task, a
    Commands outputFiles entry, or an nsfile:// URI."""
    if not isinstance(value, str):
        return False
    if value.startswith("nsfile://"):
        return True
    m = re.fullmatch(r"\{\{\s*(.+?)\s*\}\}", value)
    if not m:
        return False
    chain = _chain(parse_expression(m.group(1)))
    if not chain:
        return False
    if chain[0] == "inputs" and len(chain) == 2:
        return declared_inputs(flow).get(chain[1], {}).get("type") == "FILE"
    if chain[0] == "outputs" and len(chain) == 4:
        task = _task_by_id(flow, chain[1])
        if task and task.get("type") == SUBFLOW and chain[2] == "outputs":
            child = by_key.get((task.get("namespace"), task.get("flowId")))
            return bool(child) and declared_outputs(child.flow).get(chain[3], {}).get("type") == "FILE"
        if task and task.get("type") == COMMANDS and chain[2] == "outputFiles":
            return True
    return False


def _task_by_id(flow: dict, task_id: str) -> dict | None:
    for _, task in all_tasks(flow):
        if task.get("id") == task_id:
            return task
    return None


def _main_order(flow: dict) -> dict[str, int]:
    return {task.get("id"): i for i, (_, task) in enumerate(iter_tasks(flow.get("tasks"), "tasks"))}


def _check_expressions(flow: dict, by_key: dict, ns_paths: list[str]) -> list[str]:
    p = []
    order = _main_order(flow)
    inputs, variables = declared_inputs(flow), set((flow.get("variables") or {}).keys())
    # Where each templated string sits: which task (for ordering) and which property.
    owners: list[tuple[str, str, dict | None, str]] = []
    for where, task in all_tasks(flow):
        for path, text in template_strings({k: v for k, v in task.items() if k not in ("tasks", "then", "else", "cases", "defaults")}):
            owners.append((f"task `{task.get('id')}`.{path}", text, task, where.split("/")[0]))
    for i, spec in enumerate(flow.get("outputs") or []):
        for path, text in template_strings(spec):
            owners.append((f"output `{spec.get('id')}`.{path}", text, None, "outputs"))
    for path, text in template_strings(flow.get("variables") or {}):
        owners.append((f"variables.{path}", text, None, "variables"))
    for path, text in template_strings(flow.get("inputs") or []):
        owners.append((f"inputs{path}", text, None, "inputs"))
    for path, text in template_strings(flow.get("triggers") or []):
        owners.append((f"triggers{path}", text, None, "triggers"))

    for where, text, task, section in owners:
        try:
            refs, functions, filters, loop_vars, calls = expression_facts(text)
        except PebbleError as err:
            p.append(f"{where}: {err}")
            continue
        if "json" in functions:
            p.append(f"{where}: json() is not portable: use fromJson()")
        p += [f"{where}: function {f}() is not in the offline Pebble subset" for f in sorted(functions - KNOWN_FUNCTIONS)]
        p += [f"{where}: filter |{f} is not in the offline Pebble subset" for f in sorted(filters - KNOWN_FILTERS)]
        for name, args in calls:
            if name == "read" and args and args[0][0] == "lit":
                p += [f"{where}: {m}" for m in _check_nsfile("nsfile:///" + str(args[0][1]).lstrip("/"), ns_paths)]
        in_fail_message = task is not None and task.get("type") == FAIL and where.endswith(".errorMessage")
        for ref in refs:
            p += [f"{where}: {m}" for m in _check_reference(ref, flow, by_key, order, task, section,
                                                            inputs, variables, loop_vars, in_fail_message)]
    return p


def _check_reference(ref: Reference, flow, by_key, order, task, section, inputs, variables,
                     loop_vars, in_fail_message) -> list[str]:
    chain = ref.chain
    root = chain[0]
    text = ".".join(str(c) for c in chain)
    if root in loop_vars:
        return []
    if root not in ROOT_VARIABLES:
        return [f"unknown variable `{root}`"]
    if len(chain) < 2:
        return [] if root == "outputs" and section == "errors" else [f"`{root}` used whole"]
    fields = {"execution": EXECUTION_FIELDS, "flow": FLOW_FIELDS, "trigger": TRIGGER_FIELDS,
              "kestra": KESTRA_FIELDS}
    if root in fields:
        return [] if chain[1] in fields[root] else [f"`{text}`: unknown field"]
    if root == "inputs":
        return [] if chain[1] in inputs else [f"`{text}`: no such input"]
    if root == "vars":
        return [] if chain[1] in variables else [f"`{text}`: no such variable"]
    # outputs.<task>...
    target_id = chain[1]
    if target_id == "*":  # outputs[someVariable]: only where a missing task is expected and handled
        return [] if section in ("errors", "variables") \
            else [f"`{text}`: computed task id outside the errors branch and variables"]
    target = _task_by_id(flow, target_id)
    if target is None or target_id not in order:
        return [f"`{text}`: no task `{target_id}` in the flow's tasks"]
    if section == "tasks" and task is not None and order.get(target_id, 10 ** 6) >= order.get(task.get("id"), -1):
        return [f"`{text}`: task `{target_id}` does not run before `{task.get('id')}`"]
    if len(chain) < 3:
        return [f"`{text}`: name an output of `{target_id}`"]
    ttype = target.get("type")
    if ttype == SUBFLOW:
        if chain[2] in ("executionId", "state"):
            return []
        if chain[2] != "outputs" or len(chain) < 4:
            return [f"`{text}`: a Subflow task exposes executionId, state and outputs.<id>"]
        child = by_key.get((target.get("namespace"), target.get("flowId")))
        if child is None:
            return [f"`{text}`: subflow {target.get('flowId')} not found"]
        if chain[3] not in declared_outputs(child.flow):
            return [f"`{text}`: {child.path} declares no output `{chain[3]}`"]
        return []
    if ttype == COMMANDS:
        if chain[2] == "exitCode":
            return []
        if chain[2] == "outputFiles":
            if len(chain) < 4 or chain[3] == "*":
                return [f"`{text}`: name the output file"]
            if not any(output_matches(glob, chain[3]) for glob in target.get("outputFiles") or []):
                return [f"`{text}`: {chain[3]!r} matches no outputFiles glob of `{target_id}`"]
            return []
        if chain[2] == "vars":
            if len(chain) < 4:
                return [f"`{text}`: name the key"]
            cmd = task_cli_command(target)
            success = EMITTED_ON_SUCCESS.get(cmd, set())
            if chain[3] in success:
                return []
            if chain[3] in EMITTED_ON_REJECTION and (in_fail_message or ref.guarded):
                return []
            if chain[3] in EMITTED_ON_REJECTION:
                return [f"`{text}`: `{cmd}` emits {chain[3]} only on rejection: guard it with ??"]
            return [f"`{text}`: `{cmd}` emits no output `{chain[3]}`"]
        return [f"`{text}`: Commands tasks expose vars, outputFiles and exitCode"]
    return [f"`{text}`: {ttype.rsplit('.', 1)[-1]} has no outputs we use"]


# ------------------------------------------------------------------------------------------------
# The dry-run simulator.

@dataclass
class Execution:
    id: str
    namespace: str
    flow_id: str
    inputs: dict = field(default_factory=dict)
    state: str = "RUNNING"
    task_states: dict = field(default_factory=dict)  # task id -> SUCCESS | FAILED | SKIPPED
    attempts: dict = field(default_factory=dict)  # task id -> attempts made
    outputs: dict = field(default_factory=dict)  # task outputs, as {{ outputs.<id>... }} sees them
    flow_outputs: dict = field(default_factory=dict)
    logs: list = field(default_factory=list)  # {taskId, level, message}
    children: list = field(default_factory=list)
    notifications: list = field(default_factory=list)  # Slack/mail a real run would have sent
    start_date: datetime | None = None

    def log(self, task_id: str, level: str, message: str) -> None:
        self.logs.append({"taskId": task_id, "level": level, "message": message,
                          "timestamp": datetime.now(timezone.utc).isoformat()})

    def error_logs(self) -> list[dict]:
        return [entry for entry in self.logs if entry["level"] == "ERROR"]

    def failed_tasks(self) -> list[str]:
        return [tid for tid, state in self.task_states.items() if state == "FAILED"]

    def find(self, flow_id: str) -> "Execution | None":
        """The first execution of flow_id in this execution's tree (itself included)."""
        if self.flow_id == flow_id:
            return self
        for child in self.children:
            if found := child.find(flow_id):
                return found
        return None


class TaskFailed(Exception):
    pass


def iso_seconds(duration: str) -> float:
    m = ISO_DURATION.match(duration)
    if not m:
        raise ValueError(duration)
    days = int(m.group(1)[:-1]) if m.group(1) else 0
    hours = int(m.group(3)[:-1]) if m.group(3) else 0
    minutes = int(m.group(4)[:-1]) if m.group(4) else 0
    seconds = float(m.group(5)[:-1]) if m.group(5) else 0.0
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


OUTPUT_LINE = re.compile(r"^::(\{.*\})::\s*$")


class OfflineKestra:
    """Runs the repository's flows locally, the way Kestra would (see module docstring)."""

    def __init__(self, repo: Path, workspace: Path, *, kv: dict | None = None,
                 secrets: dict | None = None, kestra_url: str = "http://localhost:8080/",
                 python_bin: str | None = None):
        self.repo = repo
        self.flows = {f.key: f for f in load_flows(repo).values()}
        self.workspace = workspace
        self.storage = workspace / "storage"  # the internal storage behind kestra:// URIs
        self.namespace_root = workspace / "namespace" / NAMESPACE
        self.kv = dict(kv or {})
        self.secrets = dict(secrets or {})
        self.kestra_url = kestra_url
        self.python_bin = python_bin or os.path.dirname(sys.executable)
        self._deploy_namespace_files()

    # -- namespace files and storage -------------------------------------------------------------
    def _deploy_namespace_files(self) -> None:
        """What scripts/deploy.py does: the tree of namespace_files/ into the namespace."""
        source = self.repo / "namespace_files"
        for rel in namespace_file_paths(source):
            target = self.namespace_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)

    def put_namespace_file(self, path: str, source: Path) -> None:
        """Upload a namespace file (the business dropping a workbook into inbox/)."""
        target = self.namespace_root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def namespace_paths(self) -> list[str]:
        return sorted(p.relative_to(self.namespace_root).as_posix()
                      for p in self.namespace_root.rglob("*") if p.is_file())

    def local_path(self, uri: str) -> Path:
        """The file behind a kestra:// or nsfile:// URI."""
        if uri.startswith("kestra:///"):
            return self.storage / uri[len("kestra:///"):]
        if m := re.fullmatch(r"nsfile://(?P<ns>[^/]*)/(?P<path>.+)", uri):
            if m.group("ns") not in ("", NAMESPACE):
                raise TaskFailed(f"nsfile for another namespace not simulated: {uri}")
            path = self.namespace_root / m.group("path").lstrip("/")
            if not path.is_file():
                raise TaskFailed(f"namespace file not found: {uri}")
            return path
        raise TaskFailed(f"not a file URI: {uri!r}")

    def _store(self, execution: Execution, parts: list[str], source: Path) -> str:
        rel = "/".join([*execution.namespace.split("."), execution.flow_id, "executions",
                        execution.id, *parts])
        target = self.storage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"kestra:///{rel}"

    # -- executions -------------------------------------------------------------------------------
    def run(self, flow_id: str, inputs: dict | None = None, *, trigger_date: datetime | None = None,
            start_date: datetime | None = None, namespace: str = NAMESPACE) -> Execution:
        flow_file = self.flows.get((namespace, flow_id))
        if flow_file is None:
            raise KeyError(f"no flow {namespace}.{flow_id}")
        flow = flow_file.flow
        execution = Execution(uuid.uuid4().hex[:22], namespace, flow_id,
                              start_date=start_date or datetime.now(timezone.utc))
        try:
            execution.inputs = self._typed_inputs(flow, inputs or {}, execution)
        except TaskFailed as err:
            execution.state = "FAILED"
            execution.log("inputs", "ERROR", str(err))
            return execution
        context = {"inputs": execution.inputs, "outputs": execution.outputs,
                   "vars": flow.get("variables") or {},
                   "execution": {"id": execution.id, "startDate": execution.start_date},
                   "flow": {"id": flow_id, "namespace": namespace},
                   "kestra": {"url": self.kestra_url}}
        if trigger_date is not None:
            context["trigger"] = {"date": trigger_date}
        renderer = self._renderer(context, execution)

        failed = False
        for task in flow.get("tasks") or []:
            if not self._run_task(task, renderer, execution, flow):
                failed = True
                break
        if failed:
            execution.state = "FAILED"
            for task in flow.get("errors") or []:
                self._run_task(task, renderer, execution, flow)
            return execution
        try:
            execution.flow_outputs = self._flow_outputs(flow, renderer)
        except (PebbleError, TaskFailed) as err:
            execution.state = "FAILED"
            execution.log("outputs", "ERROR", f"Failed to render output values: {err}")
            return execution
        execution.state = "SUCCESS"
        return execution

    def _renderer(self, context: dict, execution: Execution) -> Renderer:
        def secret(name):
            if name not in self.secrets:  # Kestra throws on a missing secret (kestra#6495)
                raise PebbleError(f"Cannot find secret for key '{name}'")
            return self.secrets[name]

        def kv(key, errorOnMissing=True):  # noqa: N803 - Pebble argument name
            if key not in self.kv and errorOnMissing:
                raise PebbleError(f"The key '{key}' does not exist in the namespace '{execution.namespace}'")
            return self.kv.get(key)

        def read(path):
            return self.local_path("nsfile:///" + str(path).lstrip("/")).read_text(encoding="utf-8")

        functions = {"secret": secret, "kv": kv, "read": read,
                     "errorLogs": lambda: execution.error_logs(),
                     "tasksWithState": lambda state: [{"taskId": t, "state": s}
                                                      for t, s in execution.task_states.items() if s == state]}
        return Renderer(context, functions)

    def _typed_inputs(self, flow: dict, given: dict, execution: Execution) -> dict:
        typed = {}
        specs = declared_inputs(flow)
        unknown = set(given) - set(specs)
        if unknown:
            raise TaskFailed(f"inputs not declared by {flow['id']}: {sorted(unknown)}")
        for iid, spec in specs.items():
            value = given.get(iid)
            if value is None:
                value = spec.get("defaults")
            if value is None:
                if spec.get("required", True) is not False:
                    raise TaskFailed(f"missing required input `{iid}`")
                continue  # optional and empty: absent, like Kestra's null
            kind = spec["type"]
            if kind == "FILE":
                value = self._file_input(str(value) if not isinstance(value, Path) else value, iid, execution)
                allowed = spec.get("allowedFileExtensions")
                if allowed and not any(str(value).endswith(ext) for ext in allowed):
                    raise TaskFailed(f"input `{iid}`: extension not in {allowed}")
            elif kind == "FLOAT":
                value = float(value)
            elif kind == "INT":
                value = int(value)
            elif kind == "BOOL":
                value = value if isinstance(value, bool) else str(value).lower() == "true"
            elif kind == "STRING":
                value = str(value)
            else:
                raise TaskFailed(f"input type {kind} not simulated")
            typed[iid] = value
        return typed

    def _file_input(self, value, iid: str, execution: Execution) -> str:
        if isinstance(value, Path):  # an upload from the UI or API
            if not value.is_file():
                raise TaskFailed(f"input `{iid}`: no file {value}")
            return self._store(execution, ["inputs", iid, value.name], value)
        if value.startswith(("kestra://", "nsfile://")):
            self.local_path(value)  # must exist (Kestra resolves the URI)
            return value
        raise TaskFailed(f"input `{iid}`: {value!r} is not a file URI")

    def _flow_outputs(self, flow: dict, renderer: Renderer) -> dict:
        values = {}
        for spec in flow.get("outputs") or []:
            value = renderer.render(spec["value"])
            if spec["type"] == "FILE":
                self.local_path(value)
            elif spec["type"] == "INT":
                value = int(value)
            elif spec["type"] == "FLOAT":
                value = float(value)
            elif spec["type"] == "BOOL":
                value = value == "true"
            values[spec["id"]] = value
        return values

    # -- tasks ------------------------------------------------------------------------------------
    def _run_task(self, task: dict, renderer: Renderer, execution: Execution, flow: dict) -> bool:
        tid = task["id"]
        try:
            if "runIf" in task and not truthy(renderer.render(task["runIf"])):
                execution.task_states[tid] = "SKIPPED"
                return True
            handler = {COMMANDS: self._commands, SUBFLOW: self._subflow, FAIL: self._fail,
                       ASSERT: self._assert, LOG: self._log, SLACK: self._notify,
                       MAIL: self._notify}.get(task["type"])
            if handler is None:
                raise TaskFailed(f"task type {task['type']} not simulated")
            handler(task, renderer, execution)
        except (TaskFailed, PebbleError) as err:
            execution.task_states[tid] = "FAILED"
            if str(err):
                execution.log(tid, "ERROR", str(err))
            return bool(task.get("allowFailure"))
        execution.task_states[tid] = "SUCCESS"
        return True

    def _log(self, task, renderer, execution):
        execution.log(task["id"], task.get("level", "INFO"), renderer.render(task["message"]))

    def _notify(self, task, renderer, execution):
        rendered = renderer.render_deep({k: v for k, v in task.items() if k not in ("id", "type", "runIf")})
        execution.notifications.append({"task": task["id"], "type": task["type"], **rendered})

    def _fail(self, task, renderer, execution):
        if "condition" in task:
            if not truthy(renderer.render(task["condition"])):
                return
            # Fail.java: with a condition, the message is logged at ERROR, the exception is generic.
            execution.log(task["id"], "ERROR", renderer.render(task.get("errorMessage", "Task failure")))
            raise TaskFailed("Fail on a condition")
        raise TaskFailed(renderer.render(task.get("errorMessage", "Task failure")))

    def _assert(self, task, renderer, execution):
        failed = [c for c in task["conditions"] if not truthy(renderer.render(c))]
        if failed:
            raise TaskFailed(f"{renderer.render(task.get('errorMessage', 'Assertion failed'))} "
                             f"({len(failed)} condition(s) false)")

    def _subflow(self, task, renderer, execution):
        inputs = {k: renderer.render(v) for k, v in (task.get("inputs") or {}).items()}
        child = self.run(task["flowId"], inputs, namespace=task["namespace"])
        execution.children.append(child)
        execution.outputs[task["id"]] = {"executionId": child.id, "state": child.state,
                                         "outputs": child.flow_outputs}
        if child.state != "SUCCESS" and task.get("transmitFailed", True):
            # Subflow.createSubflowExecutionResult: the only trace the parent gets of the failure.
            raise TaskFailed(f'Subflow execution [[link execution="{child.id}" flowId="{child.flow_id}" '
                             f'namespace="{child.namespace}"]] ends in FAILED state')

    def _commands(self, task, renderer, execution):
        attempts = (task.get("retry") or {}).get("maxAttempts", 1)
        for attempt in range(1, attempts + 1):
            execution.attempts[task["id"]] = attempt
            try:
                return self._commands_attempt(task, renderer, execution, attempt)
            except TaskFailed as err:
                execution.log(task["id"], "WARN" if attempt < attempts else "ERROR", str(err))
                if attempt == attempts:
                    raise TaskFailed("") from err

    def _commands_attempt(self, task, renderer, execution, attempt: int):
        tid = task["id"]
        workdir = self.workspace / "workers" / f"{execution.flow_id}-{execution.id}-{tid}-{attempt}"
        workdir.mkdir(parents=True)
        # 1. namespace files at their namespace paths, filtered by `include`
        nsf = task.get("namespaceFiles") or {}
        if nsf.get("enabled"):
            for rel in self.namespace_paths():
                if any(include_matches(p, rel) for p in nsf.get("include") or ["**"]):
                    target = workdir / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.namespace_root / rel, target)
        # 2. inputFiles: key = relative path, value = a file URI or inline text
        for name, value in (task.get("inputFiles") or {}).items():
            rendered = renderer.render(value)
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if rendered.startswith(("kestra://", "nsfile://")):
                shutil.copyfile(self.local_path(rendered), target)
            else:
                target.write_text(rendered, encoding="utf-8")
        # 3. commands rendered, then run by /bin/sh -c (Process runner) with the task env
        lines = [renderer.render(c) for c in task["commands"]]
        for line in lines:
            if needs_package(line) and not (workdir / PACKAGE / "__main__.py").is_file():
                raise TaskFailed(f"{PACKAGE} is not in the working directory (namespaceFiles.include)")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
        env["PATH"] = self.python_bin + os.pathsep + env.get("PATH", "")
        env.update({k: renderer.render(v) for k, v in (task.get("env") or {}).items()})
        timeout = iso_seconds(task.get("timeout", "PT1H"))
        proc = subprocess.run(["/bin/sh", "-c", "set -e\n" + "\n".join(lines)], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=timeout)
        variables: dict = {}
        for line in proc.stdout.splitlines():
            if m := OUTPUT_LINE.match(line):
                payload = json.loads(m.group(1))
                variables.update(payload.get("outputs", {}))
            else:
                execution.log(tid, "INFO", line)
        for line in proc.stderr.splitlines():
            execution.log(tid, "WARN", line)
        if proc.returncode != 0:
            raise TaskFailed(f"Command failed with exit code {proc.returncode}")
        # 4. outputFiles: every file of the working directory matching a glob
        files = {}
        for path in sorted(workdir.rglob("*")):
            rel = path.relative_to(workdir).as_posix()
            if path.is_file() and any(output_matches(g, rel) for g in task.get("outputFiles") or []):
                files[rel] = self._store(execution, ["tasks", tid, rel], path)
        execution.outputs[tid] = {"vars": variables, "outputFiles": files, "exitCode": 0}


def copy_flows(flows: dict[str, FlowFile]) -> dict[str, FlowFile]:
    """A deep copy to mutate in tests."""
    return {rel: FlowFile(f.path, copy.deepcopy(f.flow)) for rel, f in flows.items()}
