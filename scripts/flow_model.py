"""The Kestra flow files of the repository, read with one rule by everything that reads them.

Used by ``scripts/deploy.py``, the docs generator (``scripts/docs_generator``) and the tests; the
engine tests' Java side (``tests/kestra/.../Project.java``) lists the same files with the same rule.

The rule: a flow is a regular file directly in ``flows/`` or ``subflows/`` whose name ends in
``.yml`` or ``.yaml`` (case-sensitive, as Kestra's flow path watcher and the Java side read it).
Anything else in those folders (a sub-folder, ``x.YML``, ``x.json``) is not a flow:
``ignored_files`` lists it so that a test can refuse it rather than have it silently skipped.
A flow file holds exactly one YAML mapping with a string ``id`` and ``namespace``; anything else
raises ``FlowFileError`` naming the file.

Tasks are walked in document order through every branch Kestra nests tasks in (``tasks``,
``then``/``else``, Switch ``cases``/``defaults``, ``errors``, ``finally``, ``afterExecution``, a
Dag's ``task``). A task with a ``flowId`` calls another flow (Subflow, ForEachItem, the older
Flow task). Namespace files are referenced by ``nsfile://`` URIs (input defaults, task
properties) and by a task's ``namespaceFiles.include`` patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

FLOW_FOLDERS = ("flows", "subflows")
FLOW_SUFFIXES = (".yml", ".yaml")
# Where a flow keeps tasks at its top level, and where a flowable task keeps other tasks.
FLOW_TASK_LISTS = ("tasks", "errors", "finally", "afterExecution")
CHILD_TASK_LISTS = ("tasks", "then", "else", "defaults", "errors", "finally", "afterExecution")
NSFILE_URI = re.compile(r"nsfile://(?P<namespace>[A-Za-z0-9._-]*)/(?P<path>[^\s'\"`{}()|]+)")


class FlowFileError(Exception):
    """A flow file that cannot be read as one Kestra flow; the message names the file."""


@dataclass(frozen=True)
class SubflowCall:
    task_id: str
    namespace: str  # the task's namespace, else the calling flow's
    flow_id: str

    @property
    def target(self) -> tuple[str, str]:
        return (self.namespace, self.flow_id)


@dataclass(frozen=True)
class NamespaceFileRef:
    where: str  # "input erp", "task finalize"
    kind: str  # "nsfile": an nsfile:// URI; "include": a namespaceFiles.include pattern
    namespace: str  # the namespace the file is read from (the flow's own unless the URI names one)
    path: str  # relative to the namespace's root: "inbox/erp.xlsx", "bottleneck_pipeline/**"


@dataclass(frozen=True)
class Flow:
    rel_path: str  # "subflows/ingest.yml", for messages
    source: str  # the exact text of the file (line endings kept: Kestra stores what it is sent)
    doc: dict

    @property
    def id(self) -> str:
        return self.doc["id"]

    @property
    def namespace(self) -> str:
        return self.doc["namespace"]

    @property
    def uid(self) -> str:
        return f"{self.namespace}.{self.id}"

    @property
    def folder(self) -> str:
        return self.rel_path.split("/", 1)[0]

    def tasks(self) -> list[dict]:
        return flow_tasks(self.doc)

    def subflow_calls(self) -> list[SubflowCall]:
        return subflow_calls(self.doc)

    def namespace_file_refs(self) -> list[NamespaceFileRef]:
        return namespace_file_refs(self.doc)


# ------------------------------------------------------------------------------ the files ----


def is_flow_file(path: Path) -> bool:
    return path.is_file() and path.name.endswith(FLOW_SUFFIXES)


def flow_paths(root: Path) -> list[Path]:
    """Every flow file of the repository at ``root``: flows/ then subflows/, by name."""
    return [p for folder in FLOW_FOLDERS for p in _entries(root / folder) if is_flow_file(p)]


def ignored_files(root: Path) -> list[str]:
    """Entries of flows/ and subflows/ that the rule does not load (a test refuses them)."""
    return [
        p.relative_to(root).as_posix()
        for folder in FLOW_FOLDERS
        for p in _entries(root / folder)
        if not is_flow_file(p)
    ]


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def parse_flow(source: str, rel_path: str) -> dict:
    """The one flow a file's text holds, or FlowFileError naming the file."""
    try:
        docs = [d for d in yaml.safe_load_all(source) if d is not None]
    except yaml.YAMLError as exc:
        raise FlowFileError(f"{rel_path}: not valid YAML: {exc}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise FlowFileError(f"{rel_path}: expected exactly one flow (a YAML mapping) per file")
    doc = docs[0]
    for key in ("id", "namespace"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise FlowFileError(f"{rel_path}: missing top-level '{key}'")
    return doc


def read_flow(path: Path, root: Path) -> Flow:
    rel = path.relative_to(root).as_posix()
    try:
        source = path.read_bytes().decode("utf-8")  # not read_text: keep \r\n as it is
    except UnicodeDecodeError:
        raise FlowFileError(f"{rel}: not UTF-8 text") from None
    return Flow(rel, source, parse_flow(source, rel))


def load_flows(root: Path) -> list[Flow]:
    """Every flow of the repository at ``root``, in ``flow_paths`` order."""
    return [read_flow(path, root) for path in flow_paths(root)]


# ------------------------------------------------------------------------------ the tasks ----


def walk(tasks) -> list[dict]:
    """A task list and every task nested in it, in document order."""
    found = []
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if "type" not in task and isinstance(task.get("task"), dict):  # a Dag entry: {task, dependsOn}
            task = task["task"]
        found.append(task)
        for key in CHILD_TASK_LISTS:
            if key == "defaults" and isinstance(task.get("cases"), dict):  # Switch: its cases, then defaults
                for branch in task["cases"].values():
                    found.extend(walk(branch))
            if isinstance(task.get(key), list):
                found.extend(walk(task[key]))
    return found


def flow_tasks(doc: dict) -> list[dict]:
    """Every task of a flow: its tasks, then its errors, finally and afterExecution branches."""
    return [task for key in FLOW_TASK_LISTS for task in walk(doc.get(key))]


def is_flowable(task: dict) -> bool:
    """A task that holds other tasks (If, Switch, Parallel, Sequential...)."""
    return any(isinstance(task.get(k), list) for k in CHILD_TASK_LISTS) or isinstance(task.get("cases"), dict)


def is_subflow_call(task: dict) -> bool:
    return isinstance(task.get("flowId"), str) and isinstance(task.get("type"), str)


def subflow_call(task: dict, caller_namespace: str) -> SubflowCall:
    namespace = task.get("namespace")
    return SubflowCall(
        str(task.get("id", "")), namespace if isinstance(namespace, str) else caller_namespace, task["flowId"]
    )


def subflow_calls(doc: dict) -> list[SubflowCall]:
    """Every call to another flow, anywhere in the flow's tasks, in document order."""
    return [subflow_call(t, doc["namespace"]) for t in flow_tasks(doc) if is_subflow_call(t)]


# -------------------------------------------------------------------- namespace files ----


def _strings(node, skip: tuple[str, ...] = ()) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() if k not in skip for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def namespace_file_refs(doc: dict) -> list[NamespaceFileRef]:
    """The namespace files a flow reads: nsfile:// URIs of its inputs and tasks, and the
    ``namespaceFiles.include`` patterns of its tasks (in document order, without repeats)."""
    own = doc["namespace"]
    # A flowable's child tasks are places of their own: their strings are not counted twice.
    task_skip = CHILD_TASK_LISTS + ("cases", "namespaceFiles")
    places: list[tuple[str, dict, tuple[str, ...]]] = [
        (f"input {i.get('id')}", i, ()) for i in doc.get("inputs") or [] if isinstance(i, dict)
    ]
    places += [(f"task {t.get('id')}", t, task_skip) for t in flow_tasks(doc)]
    refs: list[NamespaceFileRef] = []
    for where, node, skip in places:
        for text in _strings(node, skip=skip):
            for match in NSFILE_URI.finditer(text):
                refs.append(NamespaceFileRef(where, "nsfile", match["namespace"] or own, match["path"].lstrip("/")))
        settings = node.get("namespaceFiles")
        if isinstance(settings, dict) and settings.get("enabled", True) is not False:
            for pattern in settings.get("include") or []:
                refs.append(NamespaceFileRef(where, "include", own, str(pattern).lstrip("/")))
    return list(dict.fromkeys(refs))
