"""Mutation testing of the stages, the checks and the SQL (issue 13): do the tests notice a bug?

Each mutant is the code with ONE small change a programmer could make by mistake (``<`` for
``<=``, ``and`` for ``or``, ``sum(`` for ``max(`` in SQL, a constant off by one...). The tests
selected for its file run against it in a private copy of the checkout: a failing (or timed-out)
run kills the mutant; a passing run lets it survive, which means no test asserts that behaviour.

    python scripts/mutation.py                       # everything in [tool.mutation] (pyproject.toml)
    python scripts/mutation.py --files stages/classify.py --max-mutants 20   # a quick look

Python is mutated through its ``ast`` (comparisons, boolean and arithmetic operators, ``not``,
numbers, booleans, returned values, and SQL held in string literals); SQL files token by token,
outside comments and quoted text. Docstrings, French messages (f-strings, the ``skip_calls`` and
``skip_functions`` of the configuration) and decorators are never mutated: a changed message is
noise, not a bug. Results: per-file scores, the survivors, and a JSON report (``report`` in the
configuration); the exit status is 1 when the score is below ``--min-score``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import fnmatch
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, cast

ROOT = Path(__file__).resolve().parents[1]
KILLED, SURVIVED, TIMEOUT, EQUIVALENT = "killed", "survived", "timeout", "equivalent"


@dataclass
class Mutant:
    path: str  # relative to the checkout
    line: int
    description: str
    source: str  # the whole mutated file
    status: str = ""
    seconds: float = 0.0

    @property
    def key(self) -> str:  # stable across runs: how an equivalent mutant is named in the configuration
        return f"{self.path}: {self.description}"


# --- SQL mutations ----------------------------------------------------------------------------------
# (pattern, replacement) applied one match at a time, outside comments and quoted text; the
# replacements keep the SQL valid, so that a mutant tests the tests rather than the parser.
SQL_REWRITES = [
    (r"\bis\s+not\s+null\b", "is null"),
    (r"\bis\s+null\b", "is not null"),
    (r"\bis\s+distinct\s+from\b", "is not distinct from"),
    (r"\bis\s+not\s+distinct\s+from\b", "is distinct from"),
    (r"\bnot\s+(?=in\b|exists\b)", ""),
    (r"\bcount\(\s*distinct\s+", "count("),
    (r"\bselect\s+distinct\b", "select"),
    (r"\bsum\(", "max("),
    (r"\bleft\s+join\b", "inner join"),
    (r"\binner\s+join\b", "left join"),
    (r"(?<!\bbetween\b)(?<=\s)and\b(?!\s*$)", "or"),
    (r"\bor\b", "and"),
    (r"\bdesc\b", "asc"),
    (r"\basc\b", "desc"),
    (r">=", ">"),
    (r"<=", "<"),
    (r"(?<![-=<])>(?!=)", ">="),
    (r"<(?![=>])", "<="),
    (r"<>|!=", "="),
    (r"(?<![<>!=:])=(?![=>])", "<>"),
    (r"(?<![\w.$'])\d+(?:\.\d+)?(?![\w.'])", None),  # a number: n -> n + 1 (0 -> 1)
]
SQL_SKIP = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)  # comments and quoted text
BETWEEN_AND = re.compile(r"\bbetween\b[^;]*?\band\b$", re.I | re.S)


def _bumped(number: str) -> str:
    return str(int(number) + 1) if "." not in number else repr(float(number) + 1)


def sql_changes(text: str) -> list[tuple[int, int, str, str]]:
    """Every single-token rewrite of ``text``: (start, end, replacement, description)."""
    masked = SQL_SKIP.sub(lambda m: " " * len(m.group()), text)
    changes = []
    for pattern, replacement in SQL_REWRITES:
        for match in re.finditer(pattern, masked, re.I):
            old = match.group()
            if old.lower() == "and" and BETWEEN_AND.search(masked[: match.end()][-200:]):
                continue  # `between x and y`: `or` would not parse
            new = _bumped(old) if replacement is None else replacement
            context = " ".join(masked[max(0, match.start() - 25) : match.end() + 15].split())
            changes.append(
                (match.start(), match.end(), new, f"`{' '.join(old.split())}` -> `{new.strip()}` in `{context}`")
            )
    return sorted(changes)


def sql_mutants(path: str, text: str) -> list[Mutant]:
    return [
        Mutant(path, text.count("\n", 0, start) + 1, description, text[:start] + new + text[end:])
        for start, end, new, description in sql_changes(text)
    ]


LOOKS_LIKE_SQL = re.compile(r"\bselect\b[\s\S]*\bfrom\b|\bwhere\b|\bhaving\b|\bcase\s+when\b", re.I)


# --- Python mutations ---------------------------------------------------------------------------------
COMPARE_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


class _Finder(ast.NodeVisitor):
    """Collects (node, mutated copy, description), skipping what the configuration excludes."""

    def __init__(self, lines: list[str], skip_calls: set[str], skip_functions: set[str]):
        self.lines, self.skip_calls, self.skip_functions = lines, skip_calls, skip_functions
        self.found: list[tuple[ast.expr, ast.expr, str]] = []

    def add(self, node: ast.expr, mutated: ast.expr, description: str) -> None:  # every point is an expression
        if "no mutate" not in self.lines[node.lineno - 1]:
            self.found.append((node, mutated, description))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # decorators register gates: their text is no behaviour
        if node.name not in self.skip_functions:
            for statement in node.body:
                self.visit(statement)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for statement in node.body:
            self.visit(statement)

    def visit_Expr(self, node: ast.Expr) -> None:  # docstrings and bare calls' messages
        if not _is_text(node.value):
            self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Raise(self, node: ast.Raise) -> None:  # the exception's message is text, its class is not mutated
        pass

    def visit_Call(self, node: ast.Call) -> None:
        if _call_name(node) in self.skip_calls:
            return
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:  # an f-string: SQL gets SQL mutations, a message nothing
        # The whole text with "{}" for each placeholder, so that a description quotes its context.
        # An f-string's constant parts always hold str (the grammar makes them so).
        pieces = [cast(str, p.value) if isinstance(p, ast.Constant) else "{}" for p in node.values]
        text, starts = "".join(pieces), [sum(map(len, pieces[:i])) for i in range(len(pieces))]
        if not LOOKS_LIKE_SQL.search(text):
            return
        for start, end, new, description in sql_changes(text):
            index = max(i for i, at in enumerate(starts) if at <= start)
            part, offset = node.values[index], starts[index]
            if isinstance(part, ast.Constant) and end - offset <= len(pieces[index]):
                mutated = copy.deepcopy(node)
                value = pieces[index]  # part.value, as a str
                mutated_part = mutated.values[index]
                assert isinstance(mutated_part, ast.Constant)  # a deep copy of `part`
                mutated_part.value = value[: start - offset] + new + value[end - offset :]
                self.add(node, mutated, f"SQL {description}")

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self.add(node, ast.Constant(not value), f"`{value}` -> `{not value}`")
        elif isinstance(value, (int, float)):
            bumped = 1 if value == 0 else value + 1
            self.add(node, ast.Constant(bumped), f"`{value!r}` -> `{bumped!r}`")
        elif isinstance(value, str) and LOOKS_LIKE_SQL.search(value):
            for start, end, new, description in sql_changes(value):
                self.add(node, ast.Constant(value[:start] + new + value[end:]), f"SQL {description}")

    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAP:
                mutated = copy.deepcopy(node)
                mutated.ops[index] = COMPARE_SWAP[type(op)]()
                self.add(node, mutated, f"`{_op_text(node, op)}` -> `{_op_text(mutated, mutated.ops[index])}`")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        mutated = copy.deepcopy(node)
        mutated.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self.add(node, mutated, "`and` -> `or`" if isinstance(node.op, ast.And) else "`or` -> `and`")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if type(node.op) in BINOP_SWAP and not (_is_text(node.left) or _is_text(node.right)):
            mutated = copy.deepcopy(node)
            mutated.op = BINOP_SWAP[type(node.op)]()
            self.add(node, mutated, f"`{_op_text(node, node.op)}` -> `{_op_text(mutated, mutated.op)}`")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, (ast.Not, ast.USub)):
            self.add(node, node.operand, f"`{'not ' if isinstance(node.op, ast.Not) else '-'}` dropped")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.add(node.value, ast.Constant(None), "return value -> `None`")
        self.generic_visit(node)


def _op_text(node: ast.AST, op: ast.AST) -> str:
    symbols: dict[type[ast.AST], str] = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=="}
    symbols |= {ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
    return (symbols | {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"})[type(op)]


def python_mutants(path: str, text: str, skip_calls=(), skip_functions=()) -> list[Mutant]:
    """One mutant per mutation point; the rest of the file is kept as written (comments, layout)."""
    lines = text.splitlines(keepends=True)
    finder = _Finder(lines, set(skip_calls), set(skip_functions))
    finder.visit(ast.parse(text))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # ast columns count UTF-8 bytes
        return starts[line - 1] + len(lines[line - 1].encode()[:column].decode())

    mutants = []
    for node, mutated, description in finder.found:
        assert node.end_lineno is not None and node.end_col_offset is not None  # set by ast.parse
        start, end = offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)
        source = f"{text[:start]}({ast.unparse(mutated)}){text[end:]}"
        try:
            compile(source, path, "exec")
        except SyntaxError:
            continue
        if not description.startswith("SQL"):  # quoted with its line: a stable, readable key
            description += f" in `{' '.join(lines[node.lineno - 1].split())[:70]}`"
        mutants.append(Mutant(path, node.lineno, description, source))
    seen: dict[str, int] = {}
    for mutant in mutants:  # the same change twice on a line: the second is "(#2)"
        seen[mutant.description] = seen.get(mutant.description, 0) + 1
        if seen[mutant.description] > 1:
            mutant.description += f" (#{seen[mutant.description]})"
    return mutants


def mutants_of(path: Path, config: dict) -> list[Mutant]:
    relative, text = path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        return sql_mutants(relative, text)
    return python_mutants(relative, text, config.get("skip_calls", ()), config.get("skip_functions", ()))


# --- running the tests against a mutant ------------------------------------------------------------
def serve(preimport: list[str]) -> None:
    """A worker: imports the heavy libraries once, then forks one pytest per request (stdin/stdout,
    one JSON line each) in the current directory, a private copy of the checkout."""
    sys.dont_write_bytecode = True  # a mutant must never leave a .pyc behind for the next one
    for module in preimport:
        __import__(module)
    import pytest

    for request in sys.stdin:
        job = json.loads(request)
        started, pid = time.monotonic(), os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            with open(job["log"], "w") as log:
                os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
                os._exit(int(pytest.main([*job["args"], "-x", "-q", "-p", "no:cacheprovider"])))
        code, timed_out = None, False
        while code is None:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
            elif time.monotonic() - started > job["timeout"]:
                os.killpg(pid, signal.SIGKILL)
                timed_out = True
            else:
                time.sleep(0.05)
        print(json.dumps({"code": code, "timeout": timed_out, "seconds": time.monotonic() - started}), flush=True)


class Worker:
    """A private copy of the checkout and its pytest server."""

    def __init__(self, config: dict, number: int):
        self.dir = Path(tempfile.mkdtemp(prefix=f"mutation-{number}-"))
        self.repo = self.dir / "repo"
        shutil.copytree(ROOT, self.repo, ignore=_ignore(config["copy_exclude"]))
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", *config["preimport"]]
        self.server = subprocess.Popen(command, cwd=self.repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.server.stdin is not None and self.server.stdout is not None  # both are PIPEs
        self.requests: IO[bytes] = self.server.stdin
        self.replies: IO[bytes] = self.server.stdout
        self.log = self.dir / "pytest.log"

    def pytest(self, args: list[str], timeout: float) -> dict:
        request = json.dumps({"args": args, "timeout": timeout, "log": str(self.log)}) + "\n"
        self.requests.write(request.encode())
        self.requests.flush()
        return json.loads(self.replies.readline())

    def close(self) -> None:
        self.requests.close()
        self.server.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _ignore(excluded: list[str]):
    """copytree's filter: a pattern with a slash is a path from the root, else a name anywhere."""

    def ignored(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(ROOT)
        paths = {n for n in names if (relative / n).as_posix() in excluded}
        return paths | {n for n in names for pattern in excluded if fnmatch.fnmatch(n, pattern)}

    return ignored


def test_groups(path: str, config: dict) -> list[list[str]]:
    for target in config["targets"]:
        if any(fnmatch.fnmatch(path, pattern) for pattern in target["files"]):
            return [shlex.split(group) for group in target["tests"]]
    raise SystemExit(f"no tests configured for {path} ([tool.mutation] targets)")


def judge(worker: Worker, mutant: Mutant, groups: list[list[str]], timeouts: list[float]) -> None:
    """Runs the groups (fast first) until one fails: killed; all pass: survived."""
    target = worker.repo / mutant.path
    original = target.read_text(encoding="utf-8")
    target.write_text(mutant.source, encoding="utf-8")
    started = time.monotonic()
    try:
        mutant.status = SURVIVED
        for args, timeout in zip(groups, timeouts):
            result = worker.pytest(args, timeout)
            if result["timeout"]:
                mutant.status = TIMEOUT
                break
            if result["code"] != 0:
                mutant.status = KILLED
                break
    finally:
        target.write_text(original, encoding="utf-8")
        mutant.seconds = round(time.monotonic() - started, 1)


# --- command line -----------------------------------------------------------------------------------
def load_config() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutation"]
    config.setdefault("copy_exclude", [".venv", ".git", "__pycache__", ".pytest_cache", "*.egg-info"])
    return config


def select_files(config: dict, only: list[str]) -> list[Path]:
    files = sorted({path for pattern in config["files"] for path in ROOT.glob(pattern)})
    if only:
        files = [p for p in files if any(p.relative_to(ROOT).as_posix().endswith(o) for o in only)]
    return files


def scores(mutants: list[Mutant]) -> dict:
    table: dict[str, dict] = {}
    for mutant in mutants:
        for name in (mutant.path, "TOTAL"):
            row = table.setdefault(name, {KILLED: 0, TIMEOUT: 0, SURVIVED: 0, EQUIVALENT: 0})
            row[mutant.status] += 1
    for row in table.values():
        judged = row[KILLED] + row[TIMEOUT] + row[SURVIVED]
        row["score"] = round((row[KILLED] + row[TIMEOUT]) / judged, 4) if judged else 1.0
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="*", default=[], help="only these files (path endings)")
    parser.add_argument("--max-mutants", type=int, help="a random sample of at most N mutants")
    parser.add_argument("--sample", type=float, help="a random share of the mutants (0-1)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--min-score", type=float)
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--rerun", type=Path, help="judge again only the survivors of this earlier report")
    parser.add_argument("--match", nargs="*", default=[], help="only the mutants whose description holds one of these")
    parser.add_argument("--listed-in", type=Path, help="only the mutants named (path:line description) in this file")
    parser.add_argument("--tests", help="these pytest arguments instead of the configured groups (a quick check)")
    parser.add_argument("--serve", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    config = load_config()
    equivalent = set(config.get("equivalent", []))
    mutants = [m for path in select_files(config, args.files) for m in mutants_of(path, config)]
    for mutant in mutants:
        mutant.status = EQUIVALENT if any(mutant.key.endswith(e) for e in equivalent) else ""
    if args.match:
        mutants = [m for m in mutants if any(text in m.key for text in args.match)]
    if args.listed_in:
        listed = args.listed_in.read_text(encoding="utf-8")
        mutants = [m for m in mutants if f"{m.path}:{m.line} {m.description}" in listed]
    if args.rerun:  # new tests cannot save a killed mutant: only the survivors (and new mutants) run
        earlier = {m["key"]: m for m in json.loads(args.rerun.read_text(encoding="utf-8"))["mutants"]}
        for mutant in mutants:
            if mutant.key in earlier and earlier[mutant.key]["status"] in (KILLED, TIMEOUT) and not mutant.status:
                mutant.status, mutant.seconds = earlier[mutant.key]["status"], earlier[mutant.key]["seconds"]
        mutants = [m for m in mutants if m.key in earlier]
    todo = [m for m in mutants if not m.status]
    wanted = args.max_mutants or (round(len(todo) * args.sample) if args.sample else len(todo))
    if wanted < len(todo):
        chosen = set(map(id, random.Random(args.seed).sample(todo, wanted)))
        mutants = [m for m in mutants if id(m) in chosen or m.status == EQUIVALENT]
        todo = [m for m in todo if id(m) in chosen]
    if args.list:
        for mutant in mutants:
            print(f"{mutant.path}:{mutant.line}: {mutant.description} {mutant.status}")
        print(f"{len(mutants)} mutants")
        return 0
    return run(config, args, mutants, todo)


def run(config: dict, args, mutants: list[Mutant], todo: list[Mutant]) -> int:
    started, lock, done = time.monotonic(), threading.Lock(), [0]
    workers = [Worker(config, n) for n in range(args.workers or config.get("workers", 2))]
    try:
        paths = {m.path for m in todo}
        groups = {path: [shlex.split(args.tests)] if args.tests else test_groups(path, config) for path in paths}
        free = list(workers)

        def baseline(group: tuple[str, ...]) -> float:  # the unmutated code must pass; sets the timeout
            with lock:
                worker = free.pop()
            try:
                result = worker.pytest(list(group), config.get("baseline_timeout", 900))
            finally:
                with lock:
                    free.append(worker)
            if result["code"] != 0:
                raise SystemExit(f"`pytest {shlex.join(group)}` fails without any mutant (code {result['code']})")
            return max(config.get("min_timeout", 30), 3 * result["seconds"])

        unique = sorted({tuple(g) for path_groups in groups.values() for g in path_groups})
        with ThreadPoolExecutor(len(workers)) as pool:
            limits = dict(zip(unique, pool.map(baseline, unique)))
        timeouts = {path: [limits[tuple(g)] for g in path_groups] for path, path_groups in groups.items()}
        print(f"{len(todo)} mutants, {len(workers)} workers; baseline took {time.monotonic() - started:.0f} s")

        def one(mutant: Mutant) -> None:
            with lock:
                worker = free.pop()
            try:
                judge(worker, mutant, groups[mutant.path], timeouts[mutant.path])
            finally:
                with lock:
                    free.append(worker)
                    done[0] += 1
                    mark = "" if mutant.status == KILLED else f"  <-- {mutant.status.upper()}"
                    print(
                        f"[{done[0]}/{len(todo)}] {mutant.path}:{mutant.line} {mutant.description} "
                        f"({mutant.seconds} s){mark}",
                        flush=True,
                    )

        with ThreadPoolExecutor(len(workers)) as pool:
            list(pool.map(one, todo))
    finally:
        for worker in workers:
            worker.close()
    return summarise(config, args, mutants, time.monotonic() - started)


def summarise(config: dict, args, mutants: list[Mutant], seconds: float) -> int:
    table = scores(mutants)
    print(f"\n{'file':70} killed timeout survived equiv  score")
    for name, row in sorted(table.items(), key=lambda item: item[0] == "TOTAL"):
        print(f"{name:70} {row[KILLED]:6} {row[TIMEOUT]:7} {row[SURVIVED]:8} {row[EQUIVALENT]:5} {row['score']:6.1%}")
    survivors = [m for m in mutants if m.status == SURVIVED]
    print(f"\n{len(survivors)} survivor(s):")
    for mutant in survivors:
        print(f"  {mutant.path}:{mutant.line}: {mutant.description}")
    report = args.report or ROOT / config.get("report", "build/mutation/report.json")
    report.parent.mkdir(parents=True, exist_ok=True)
    listed = [{k: v for k, v in asdict(m).items() if k != "source"} | {"key": m.key} for m in mutants]
    payload = {"seconds": round(seconds), "scores": table, "mutants": listed}
    report.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    minimum = args.min_score if args.min_score is not None else config.get("min_score", 0.0)
    print(
        f"\nscore {table.get('TOTAL', {}).get('score', 1.0):.1%} (minimum {minimum:.0%}) in {seconds / 60:.1f} min; report: {report}"
    )
    return 0 if table.get("TOTAL", {}).get("score", 1.0) >= minimum else 1


if __name__ == "__main__":
    sys.exit(main())
