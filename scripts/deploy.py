#!/usr/bin/env python3
"""Deploy the BottleNeck pipeline to a Kestra server through its REST API.

Steps, in this order:
  1. validate every subflow and flow (POST /flows/validate); stop on any violation;
  2. upload the namespace files (skipping those the server already has, byte for byte);
  3. create or update the subflows, in dependency order;
  4. create or update the parent flow(s);
  5. with --prune, delete the namespace's flows and files the repository no longer has.

Every step compares with what the server holds first, so a second run with nothing changed
sends no write request at all.  See docs/DEPLOY.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml

# The modules beside this script, also when it is imported by path (tests) rather than run.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import flow_model  # noqa: E402
from kestra_api import (  # noqa: E402
    _SECRETS,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    FORBIDDEN_TOP_DIR,
    Credentials,
    DeployError,
    KestraClient,
    redact,
    say,
    warn,
)

DEFAULT_TENANT = "main"
SECRET_VARIABLES = ("KESTRA_API_TOKEN", "KESTRA_PASSWORD")
# Kestra's own constraint on namespaces (FlowWithSource.namespace in the OpenAPI).
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_DIR_SUFFIXES = (".egg-info",)
SKIPPED_FILE_SUFFIXES = (".pyc",)
# Kestra treats these specially: a .zip upload is unpacked, /_flows/ (FORBIDDEN_TOP_DIR) holds flows.
FORBIDDEN_FILE_SUFFIXES = (".zip",)
# Namespace-file folders that belong to the business, not to the repository: --prune never
# touches them (the month's workbooks are dropped in inbox/; each published month is kept in
# history/ for the next month's comparison).
PROTECTED_TOP_DIRS = ("inbox", "history")
SUBFLOW_NOT_FOUND = re.compile(r"The subflow '(?P<id>[^']+)' not found in namespace '(?P<ns>[^']+)'")


# --------------------------------------------------------------------------------------------
# Reading the repository.


@dataclass
class FlowFile:
    rel_path: str  # e.g. "subflows/ingest.yml", used in messages
    flow_id: str
    namespace: str  # namespace the flow is deployed to (after any override)
    source: str  # exact text sent to Kestra
    calls: set[tuple[str, str]] = field(default_factory=set)  # (namespace, flowId) of subflow calls

    @property
    def uid(self) -> str:
        return f"{self.namespace}.{self.flow_id}"


@dataclass
class NamespaceFile:
    rel_path: str  # posix path below namespace_files/, e.g. "bottleneck_pipeline/cli.py"
    content: bytes


def read_flow_file(path: Path, root: Path) -> tuple[str, dict]:
    """(source, document) of one flow file (flow_model's rule), or fail with the file name."""
    try:
        flow = flow_model.read_flow(path, root)
    except flow_model.FlowFileError as exc:
        raise DeployError(str(exc), EXIT_INVALID) from None
    return flow.source, flow.doc


def subflow_calls(doc: dict) -> set[tuple[str, str]]:
    """(namespace, flowId) of every flow the document's tasks call."""
    return {call.target for call in flow_model.subflow_calls(doc)}


# A `namespace: <value>` key: at the start of a line (after indentation and list dashes) or
# inside an inline mapping ({..., namespace: x}); the value may be quoted.
_NAMESPACE_KEY = re.compile(
    r"""(?P<lead>(?:^|[{,])[ \t]*(?:-[ \t]+)*namespace:[ \t]*)"""
    r"""(?P<quote>["']?)(?P<value>[A-Za-z0-9._-]+)(?P=quote)"""
    r"""(?=[ \t]*(?:[,}]|\#|\r?$))""",
    re.MULTILINE,
)


def replace_namespace_values(node, old: str, new: str):
    """The parsed document with every `namespace: old` value replaced: what the text rewrite must give."""
    if isinstance(node, dict):
        return {
            k: (new if k == "namespace" and v == old else replace_namespace_values(v, old, new))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [replace_namespace_values(v, old, new) for v in node]
    return node


def rewrite_namespace(source: str, old: str, new: str, rel_path: str) -> str:
    """Rewrite `namespace: old` lines to `new`, leaving every other byte as it was.

    Kestra stores the text we send, so a textual rewrite keeps comments and layout. The result is
    parsed again and must equal the original document with exactly those values replaced: this
    catches a `namespace:` line inside a block scalar, or one the regex missed.
    """

    def swap(match: re.Match) -> str:
        if match.group("value") != old:
            return match.group(0)
        return f"{match.group('lead')}{match.group('quote')}{new}{match.group('quote')}"

    rewritten = _NAMESPACE_KEY.sub(swap, source)
    expected = replace_namespace_values(yaml.safe_load(source), old, new)
    try:
        same = yaml.safe_load(rewritten) == expected
    except yaml.YAMLError:
        same = False
    if not same:
        raise DeployError(
            f"{rel_path}: cannot safely rewrite namespace '{old}' to '{new}' (a 'namespace:' line in a "
            "block of text, or an unusual YAML layout); deploy without --namespace or simplify the file",
            EXIT_USAGE,
        )
    return rewritten


def dependency_order(flows: list[FlowFile]) -> list[FlowFile]:
    """Called flows before their callers (Kestra refuses a Subflow task whose target is missing).

    Stable: among flows that do not depend on each other, file order is kept.
    """
    remaining = list(flows)
    ordered: list[FlowFile] = []
    while remaining:
        pending = {(f.namespace, f.flow_id) for f in remaining}
        ready = [f for f in remaining if not (f.calls - {(f.namespace, f.flow_id)}) & pending]
        if not ready:
            # A cycle cannot be created on a fresh server anyway; keep file order and let Kestra say why.
            warn("warning: subflow calls form a cycle among " + ", ".join(f.rel_path for f in remaining))
            ready = remaining
        ordered += ready
        remaining = [f for f in remaining if f not in ready]
    return ordered


def load_flows(root: Path, override: str | None) -> tuple[str, list[FlowFile], list[FlowFile]]:
    """Read subflows/ and flows/; return (target namespace, subflows, parent flows), each in deploy order."""
    found = flow_model.flow_paths(root)
    parsed = {
        kind: [(p, *read_flow_file(p, root)) for p in found if p.parent.name == kind] for kind in ("subflows", "flows")
    }
    everything = parsed["subflows"] + parsed["flows"]
    if not everything:
        raise DeployError(f"no flow found: {root}/subflows/*.yml and {root}/flows/*.yml are empty", EXIT_USAGE)

    declared = sorted({doc["namespace"] for _, _, doc in everything})
    if len(declared) != 1:
        details = "; ".join(f"{p.relative_to(root).as_posix()}: {doc['namespace']}" for p, _, doc in everything)
        raise DeployError(f"the flows declare different namespaces ({details}); all must agree", EXIT_USAGE)
    original = declared[0]
    target = override or original

    groups = {}
    for kind, items in parsed.items():
        flows = []
        for path, source, doc in items:
            rel = path.relative_to(root).as_posix()
            if target != original:
                source = rewrite_namespace(source, original, target, rel)
                doc = yaml.safe_load(source)
            flows.append(FlowFile(rel, doc["id"], doc["namespace"], source, subflow_calls(doc)))
        groups[kind] = dependency_order(flows)

    seen: dict[str, str] = {}
    for flow in groups["subflows"] + groups["flows"]:
        if flow.uid in seen:
            raise DeployError(f"{flow.rel_path} and {seen[flow.uid]} both define flow {flow.uid}", EXIT_INVALID)
        seen[flow.uid] = flow.rel_path
    return target, groups["subflows"], groups["flows"]


def is_skipped(rel: PurePosixPath) -> bool:
    dirs = rel.parts[:-1]
    return any(d in SKIPPED_DIRS or d.endswith(SKIPPED_DIR_SUFFIXES) for d in dirs) or rel.name.endswith(
        SKIPPED_FILE_SUFFIXES
    )


def load_namespace_files(root: Path) -> list[NamespaceFile]:
    base = root / "namespace_files"
    files = []
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = PurePosixPath(path.relative_to(base).as_posix())
        if not path.is_file() or is_skipped(rel):
            continue
        if rel.parts[0] == FORBIDDEN_TOP_DIR or rel.name.lower().endswith(FORBIDDEN_FILE_SUFFIXES):
            raise DeployError(
                f"namespace_files/{rel}: Kestra reserves /_flows/ and unpacks .zip uploads; rename or remove this file",
                EXIT_USAGE,
            )
        files.append(NamespaceFile(str(rel), path.read_bytes()))
    return files


# --------------------------------------------------------------------------------------------
# The deploy steps.


class Report:
    """Prints one line per action and counts them for the summary."""

    def __init__(self, dry_run: bool):
        self.dry_run = dry_run
        self.counts: dict[str, int] = {}

    def action(self, kind: str, name: str, outcome: str) -> None:
        self.counts[f"{kind}:{outcome}"] = self.counts.get(f"{kind}:{outcome}", 0) + 1
        shown = outcome if not self.dry_run or outcome == "unchanged" else f"would be {outcome}"
        say(f"{kind} {name}: {shown}")

    def summary(self) -> str:
        def count(kind, outcomes):
            return ", ".join(f"{self.counts.get(f'{kind}:{o}', 0)} {o}" for o in outcomes)

        text = (
            f"flows: {count('flow', ('created', 'updated', 'unchanged', 'deleted'))}; "
            f"namespace files: {count('namespace file', ('uploaded', 'unchanged', 'deleted'))}"
        )
        return f"dry run, nothing written: {text}" if self.dry_run else f"done: {text}"


def same_source(server: str, local: str) -> bool:
    # Line endings and trailing blank space are not meaningful differences.
    def normal(text):
        return text.replace("\r\n", "\n").rstrip()

    return normal(server) == normal(local)


def validate_all(client: KestraClient, flows: list[FlowFile]) -> None:
    """Validate every flow before writing anything; print each violation under its file."""
    deployed = {(f.namespace, f.flow_id) for f in flows}
    invalid = 0
    for flow in flows:
        problems = []
        for result in client.validate(flow):
            if result.get("constraints"):
                problems += [line for line in str(result["constraints"]).splitlines() if line.strip()]
            for note in result.get("warnings") or []:
                missing = SUBFLOW_NOT_FOUND.search(str(note))
                # On a first deploy the subflows are not there yet: they will be before the caller.
                if not (missing and (missing["ns"], missing["id"]) in deployed):
                    say(f"{flow.rel_path}: warning: {note}")
        for problem in problems:
            say(f"{flow.rel_path}: violation: {problem}")
        invalid += bool(problems)
    if invalid:
        raise DeployError(f"{invalid} of {len(flows)} flow file(s) have violations; nothing was written", EXIT_INVALID)
    say(f"validated {len(flows)} flow file(s): no violations")


def sync_namespace_files(
    client: KestraClient, namespace: str, files: list[NamespaceFile], report: Report
) -> tuple[set[str], set[str]]:
    """Upload new or changed files; return what the server had (files, directories) for pruning."""
    remote_files, remote_dirs = client.list_files(namespace)
    for file in files:
        if file.rel_path in remote_files and client.get_file(namespace, file.rel_path) == file.content:
            report.action("namespace file", file.rel_path, "unchanged")
            continue
        if not client.dry_run:
            client.upload_file(namespace, file)
        report.action("namespace file", file.rel_path, "uploaded")
    return remote_files, remote_dirs


def sync_flows(client: KestraClient, flows: list[FlowFile], report: Report) -> None:
    for flow in flows:
        current = client.get_flow_source(flow.namespace, flow.flow_id)
        if current is None:
            if not client.dry_run:
                client.create_flow(flow)
            report.action("flow", flow.uid, "created")
        elif same_source(current, flow.source):
            report.action("flow", flow.uid, "unchanged")
        else:
            if not client.dry_run:
                client.update_flow(flow)
            report.action("flow", flow.uid, "updated")


def is_protected(rel: str) -> bool:
    return rel.split("/", 1)[0] in PROTECTED_TOP_DIRS


def prune(
    client: KestraClient,
    namespace: str,
    flows: list[FlowFile],
    files: list[NamespaceFile],
    remote: tuple[set[str], set[str]],
    report: Report,
) -> None:
    """Delete what this namespace holds and the repository no longer has (only this namespace)."""
    wanted_flows = {f.flow_id for f in flows}
    for flow_id in client.list_flow_ids(namespace):
        if flow_id not in wanted_flows:
            if not client.dry_run:
                client.delete_flow(namespace, flow_id)
            report.action("flow", f"{namespace}.{flow_id}", "deleted")

    wanted = {f.rel_path for f in files}
    remote_files, remote_dirs = remote
    remote_files = {r for r in remote_files if not is_protected(r)}
    remote_dirs = {d for d in remote_dirs if not is_protected(d)}
    # A directory holding none of the repository's files goes in one request, with its content.
    stale_dirs = {d for d in remote_dirs if not any(w.startswith(d + "/") for w in wanted)}
    top_stale_dirs = sorted(d for d in stale_dirs if not any(d.startswith(s + "/") for s in stale_dirs))
    for directory in top_stale_dirs:
        if not client.dry_run:
            client.delete_file(namespace, directory)
        report.action("namespace file", directory + "/", "deleted")
    for rel in sorted(remote_files - wanted):
        if any(rel.startswith(d + "/") for d in top_stale_dirs):
            continue
        if not client.dry_run:
            client.delete_file(namespace, rel)
        report.action("namespace file", rel, "deleted")


# --------------------------------------------------------------------------------------------
# Command line.

EPILOG = """\
credentials (environment only, never printed):
  KESTRA_API_TOKEN                  bearer token (used when set)
  KESTRA_USER + KESTRA_PASSWORD     HTTP basic auth (Kestra OSS)
  none of them                      requests are sent without authentication

--dry-run still sends read requests and POST /flows/validate: validation writes nothing.

exit codes:
  0  success (also when everything was already up to date)
  1  unexpected internal error
  2  usage: bad arguments, or repository content that cannot be deployed
  3  validation: Kestra reported violations (or a flow file is unreadable); nothing was written
  4  authentication or permission refused (HTTP 401/403)
  5  server or network: connection refused, timeout or HTTP 5xx after all retries
  6  request rejected: tenant/namespace not found (404), invalid flow (422) or another 4xx
"""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        super().error(redact(message))  # an argument could echo a secret pasted in the wrong place


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="deploy.py",
        description="Validate, then push namespace files, subflows and flows to Kestra.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", required=True, help="Kestra base URL, e.g. http://localhost:8080")
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id (default: %(default)s, the OSS tenant)")
    parser.add_argument("--namespace", help="deploy to this namespace instead of the one the flows declare")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and send no write request (reads and the validate "
        "POST, which writes nothing, are still sent)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete the namespace's flows and namespace files the repository no longer has",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: %(default)s)")
    parser.add_argument(
        "--retries", type=int, default=3, help="retries after a network error, timeout or 5xx (default: %(default)s)"
    )
    parser.add_argument(
        "--retry-base-delay",
        type=float,
        default=0.5,
        help="first retry delay in seconds, doubled each time (default: %(default)s)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: the folder above scripts/)",
    )
    args = parser.parse_args(argv)

    problems = []
    url = urlsplit(args.server)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"--server must be an http(s) URL, got {args.server!r}")
    elif url.username or url.password:
        problems.append("--server must not contain credentials: use KESTRA_USER/KESTRA_PASSWORD or KESTRA_API_TOKEN")
    if args.namespace is not None and not NAMESPACE_PATTERN.match(args.namespace):
        problems.append(f"--namespace {args.namespace!r} is not a valid Kestra namespace ([a-z0-9][a-z0-9._-]*)")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.tenant):
        problems.append(f"--tenant {args.tenant!r} is not a valid tenant id")
    if args.timeout <= 0 or args.retries < 0 or args.retry_base_delay < 0:
        problems.append("--timeout must be > 0, --retries and --retry-base-delay >= 0")
    if not args.root.is_dir():
        problems.append(f"--root {args.root} is not a folder")
    if problems:
        parser.error("; ".join(problems))
    args.server = re.sub(r"(/api/v1)?/*$", "", args.server)
    return args


def deploy(args: argparse.Namespace, credentials: Credentials) -> Report:
    root = args.root.resolve()
    namespace, subflows, parents = load_flows(root, args.namespace)
    files = load_namespace_files(root)
    client = KestraClient(
        args.server,
        args.tenant,
        credentials,
        timeout=args.timeout,
        retries=args.retries,
        base_delay=args.retry_base_delay,
        dry_run=args.dry_run,
    )
    report = Report(args.dry_run)
    say(
        f"deploying {len(subflows)} subflow(s), {len(parents)} flow(s) and {len(files)} namespace file(s) "
        f"to {args.server}, tenant {args.tenant}, namespace {namespace}" + (" (dry run)" if args.dry_run else "")
    )
    if credentials.kind == "none":
        warn("note: no KESTRA_API_TOKEN or KESTRA_USER/KESTRA_PASSWORD set: sending unauthenticated requests")

    validate_all(client, subflows + parents)
    remote_files = sync_namespace_files(client, namespace, files, report)
    sync_flows(client, subflows, report)
    sync_flows(client, parents, report)
    if args.prune:
        prune(client, namespace, subflows + parents, files, remote_files, report)
    return report


def main(argv: list[str] | None = None) -> int:
    _SECRETS.extend(v for v in (os.environ.get(k) for k in SECRET_VARIABLES) if v)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        credentials = Credentials.from_environment()
        report = deploy(args, credentials)
    except DeployError as exc:
        warn(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        warn("error: interrupted")
        return 130
    except Exception as exc:  # no traceback for users; the message is enough to report the bug
        warn(f"error: unexpected {type(exc).__name__}: {exc}")
        return EXIT_UNEXPECTED
    say(report.summary())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
