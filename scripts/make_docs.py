#!/usr/bin/env python3
"""Documents generated from the code: the lineage diagram and the steering-committee deck.

    python scripts/make_docs.py lineage                     # docs/lineage.drawio (+ docs/lineage.svg)
    python scripts/make_docs.py lineage --check             # exit 1 if the committed files are stale
    python scripts/make_docs.py presentation --run OUTPUT/PERIOD   # docs/presentation_copil.pptx

How it works, in three layers:

1. the **lineage model** (``build_lineage``): nodes and edges read from the Kestra flows. The
   parent flow is the flow under ``flows/`` that calls subflows; its ``Subflow`` tasks are the
   stages (in order), the ``Subflow`` tasks inside each stage are its test subflows, its other
   runnable tasks are steps (``finalize``) and gates (``Fail``/``Assert``); its FILE inputs are
   the workbooks, its FILE outputs the deliverables, its ``triggers`` the schedule and its
   ``errors`` branch the alert path. Every edge carries the names of the files it moves, found
   by following the ``{{ outputs.<task>.outputs.<id> }}`` / ``outputFiles['...']`` /
   ``{{ inputs.<id> }}`` expressions down to the ``inputFiles``/``outputFiles`` of the Commands
   tasks. Nothing about the stages or the file names is written here.
2. the **layout** (``layout``): a left-to-right grid in pixels (stages in a row, test subflows
   below, inputs left, deliverables right, trigger above, alert path below) and the route of
   every edge, shared by every writer.
3. the **writers**: draw.io XML (``to_drawio``, deterministic: stable ids, no timestamps), an SVG
   preview (``to_svg``) and the python-pptx workflow slide (``add_workflow_slide``).

The presentation reads a run folder (run_summary.json, quality_report.json, the two CSV
extracts), the check catalogue (``bottleneck checks``) and the fault-injection suite's DEFECTS.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import importlib.util
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "namespace_files") not in sys.path:  # the package, also without an install
    sys.path.insert(0, str(REPO / "namespace_files"))

DRAWIO = Path("docs/lineage.drawio")
SVG = Path("docs/lineage.svg")
PPTX = Path("docs/presentation_copil.pptx")

# ====================================================================== reading the flows ====

SUBFLOW_TYPE = "io.kestra.plugin.core.flow.Subflow"
# Keys under which a flowable task (If, Switch, Parallel, Sequential, WorkingDirectory...) or a
# flow keeps other tasks.
CHILD_LISTS = ("tasks", "then", "else", "errors", "finally", "afterExecution", "defaults")
TASK_OUTPUT = re.compile(r"outputs\.(\w+)\.outputs\.(\w+)")
TASK_FILE = re.compile(r"outputs\.(\w+)\.outputFiles\[\s*['\"]([^'\"]+)['\"]\s*\]")
FLOW_INPUT = re.compile(r"\binputs\.(\w+)")
KV_NAME = re.compile(r"kv\(\s*['\"]([^'\"]+)['\"]")
CHECK_STAGE = re.compile(r"\bcheck\s+(\w+)")

Flows = dict[tuple[str, str], dict]


def load_flows(root: Path) -> Flows:
    """Every flow under flows/ and subflows/, by (namespace, id); ``_path`` is its file."""
    flows: Flows = {}
    for folder in ("flows", "subflows"):
        for path in sorted((root / folder).rglob("*.y*ml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "id" in doc and "namespace" in doc:
                doc["_path"] = path.relative_to(root).as_posix()
                flows[(doc["namespace"], doc["id"])] = doc
    return flows


def walk(tasks) -> list[dict]:
    """Tasks in document order, descending into every branch (then/else, cases, tasks...)."""
    found = []
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        found.append(task)
        for key in CHILD_LISTS:
            if isinstance(task.get(key), list):
                found.extend(walk(task[key]))
        for branch in (task.get("cases") or {}).values():
            found.extend(walk(branch))
    return found


def is_flowable(task: dict) -> bool:
    return any(isinstance(task.get(k), list) for k in CHILD_LISTS) or isinstance(task.get("cases"), dict)


def is_subflow(task: dict) -> bool:
    return task.get("type") == SUBFLOW_TYPE or (task.get("type", "").endswith(".Subflow") and "flowId" in task)


def is_step(task: dict) -> bool:
    """A runnable task that moves files (python.Commands, Script, DuckDB queries...)."""
    return any(k in task for k in ("commands", "script", "inputFiles", "outputFiles", "sql"))


def child_flow(flows: Flows, caller: dict, task: dict) -> dict:
    key = (task.get("namespace") or caller["namespace"], task["flowId"])
    if key not in flows:
        raise SystemExit(
            f"{caller['_path']}: task {task['id']} calls {key[0]}.{key[1]}, not found in flows/ or subflows/"
        )
    return flows[key]


def find_parent(flows: Flows) -> dict:
    """The flow under flows/ that calls subflows (the one with triggers if several do)."""
    callers = [
        f for f in flows.values() if f["_path"].startswith("flows/") and any(map(is_subflow, walk(f.get("tasks"))))
    ]
    if len(callers) > 1:
        callers = [f for f in callers if f.get("triggers")] or callers
    if len(callers) != 1:
        raise SystemExit(f"expected one parent flow under flows/, found {[f['_path'] for f in callers]}")
    return callers[0]


def input_def(flow: dict, input_id: str) -> dict:
    return next((i for i in flow.get("inputs") or [] if i.get("id") == input_id), {})


def is_file_input(flow: dict, input_id: str) -> bool:
    return str(input_def(flow, input_id).get("type", "")).upper() == "FILE"


def task_by_id(flow: dict, task_id: str) -> dict | None:
    return next(
        (t for t in walk((flow.get("tasks") or []) + (flow.get("errors") or [])) if t.get("id") == task_id), None
    )


def basename(path: str) -> str:
    return PurePosixPath(str(path).replace("nsfile://", "")).name


def input_file_name(flow: dict, input_id: str) -> str:
    """The file name a flow gives one of its FILE inputs: the ``inputFiles`` key a task uses for
    it, else the basename of its default (``nsfile:///inbox/erp.xlsx``), else the input id."""
    pattern = re.compile(rf"\binputs\.{re.escape(input_id)}\b")
    for task in walk(flow.get("tasks")):
        for key, value in (task.get("inputFiles") or {}).items() if isinstance(task.get("inputFiles"), dict) else ():
            if pattern.search(str(value)):
                return basename(key)
    default = input_def(flow, input_id).get("defaults")
    if isinstance(default, str) and "/" in default:
        return basename(default)
    return input_id


def value_file_name(flows: Flows, flow: dict, value) -> str | None:
    """The file an expression points at, followed down through subflow outputs."""
    text = str(value)
    if match := TASK_FILE.search(text):
        return basename(match[2])
    if match := TASK_OUTPUT.search(text):
        task = task_by_id(flow, match[1])
        if task and is_subflow(task):
            return output_file_name(flows, child_flow(flows, flow, task), match[2])
        return None
    if match := FLOW_INPUT.search(text):
        return input_file_name(flow, match[1]) if is_file_input(flow, match[1]) else None
    return None


def output_file_name(flows: Flows, flow: dict, output_id: str) -> str | None:
    output = next((o for o in flow.get("outputs") or [] if o.get("id") == output_id), None)
    if not output or str(output.get("type", "")).upper() != "FILE":
        return None
    return value_file_name(flows, flow, output.get("value"))


# ====================================================================== the lineage model ====


@dataclass
class Node:
    id: str
    kind: str  # trigger, input, stage, test, step, gate, deliverable, errors, channel, frame
    title: str
    lines: tuple[str, ...] = ()
    anchor: str = ""  # the stage a test hangs under, the step a gate hangs under
    members: tuple[str, ...] = ()  # frame: the nodes it encloses
    short: str = ""  # channel: the name used in a sentence ("Slack", "e-mail")


@dataclass
class Edge:
    source: str
    target: str
    kind: str = "data"  # data, control, alert
    files: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.source}--{self.target}"

    @property
    def label(self) -> str:
        return "\n".join(self.files + ([self.note] if self.note else []))


@dataclass
class Lineage:
    flow_id: str
    namespace: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    task_nodes: dict[str, str] = field(default_factory=dict)  # parent task id -> node id
    retries: list[dict] = field(default_factory=list)  # retry blocks of every Commands task

    def add(self, node: Node) -> Node:
        self.nodes.setdefault(node.id, node)
        return self.nodes[node.id]

    def link(self, source: str, target: str, file: str | None = None, kind: str = "data", note: str = "") -> Edge:
        edge = next((e for e in self.edges if (e.source, e.target, e.kind) == (source, target, kind)), None)
        if edge is None:
            edge = Edge(source, target, kind)
            self.edges.append(edge)
        if file and file not in edge.files:
            edge.files.append(file)
        if note:
            edge.note = note
        return edge

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def is_file_node(self, node_id: str) -> bool:
        return self.nodes[node_id].kind in ("input", "deliverable")


def stage_label(flow_id: str) -> str:
    from bottleneck_pipeline.labels_fr import STAGE_LABELS

    label = STAGE_LABELS.get(flow_id, flow_id)
    return label[:1].upper() + label[1:]


FAMILY_SHORT_FR = {
    "schema": "format",
    "duplicates": "doublons",
    "missing_values": "valeurs manquantes",
    "volumes": "volumétrie",
    "revenue": "CA",
    "zscore": "z-score",
    "business": "règles métier",
}


def catalogue() -> list[dict]:
    """The check catalogue, as ``bottleneck checks`` prints it: id, severity, family, text."""
    from bottleneck_pipeline.checks import catalogue_markdown

    rows = []
    for line in catalogue_markdown().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(
            {
                "id": cells[0].strip("`"),
                "stage": cells[0].strip("`").split(".")[0],
                "severity": cells[1],
                "family": cells[2],
                "description": cells[3],
            }
        )
    return rows


def stage_families(stage: str) -> list[str]:
    from bottleneck_pipeline.checks.model import FAMILIES

    found = {row["family"] for row in catalogue() if row["stage"] == stage}
    return [f for f in FAMILIES if f in found]


def cron_fr(cron: str) -> str:
    """'0 9 15 * *' -> 'le 15 de chaque mois à 9h' (the simple cases; the cron text otherwise)."""
    fields = str(cron).split()
    days = ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return f"selon le cron « {cron} »"
    minute, hour, dom, month, dow = fields
    at = f"{int(hour)}h" + (f"{int(minute):02d}" if int(minute) else "")
    if dom.isdigit() and month == "*" and dow == "*":
        return f"le {'1er' if dom == '1' else int(dom)} de chaque mois à {at}"
    if dom == "*" and month == "*" and dow == "*":
        return f"chaque jour à {at}"
    if dom == "*" and month == "*" and dow.isdigit() and int(dow) < 8:
        return f"chaque {days[int(dow)]} à {at}"
    return f"selon le cron « {cron} »"


def trigger_text(trigger: dict) -> str:
    if "cron" in trigger:
        text = cron_fr(trigger["cron"])
        return f"{text}, {trigger['timezone']}" if trigger.get("timezone") else text
    return trigger.get("type", "").rsplit(".", 1)[-1]


def step_title(task: dict) -> str:
    commands = " ".join(map(str, task.get("commands") or [task.get("script", "")]))
    if re.search(r"\bfinalize\b", commands):
        return "Contrôle final et synthèse du mois"
    return f"Tâche {task['id']}"


def gate_title(task: dict) -> str:
    kind = task.get("type", "").rsplit(".", 1)[-1]
    return {
        "Fail": "Arrêt contrôlé si incomplet",
        "Assert": "Vérification finale des chiffres",
        "Log": "Message au journal",
    }.get(kind, f"Tâche {task['id']}")


def channel_label(task: dict) -> tuple[str, str, str]:
    """(title, condition, short name) of one task of the errors branch."""
    kind = task.get("type", "").lower()
    if "slack" in kind:
        title, short = "Message Slack", "Slack"
    elif "teams" in kind:
        title, short = "Message Teams", "Teams"
    elif "mail" in kind:
        title, short = "E-mail", "e-mail"
    elif kind.endswith(".log"):
        title, short = "Journal de l'exécution", "journal"
    elif kind.endswith("log.fetch"):
        title, short = "Lecture des messages d'erreur", "messages"
    elif "python" in kind:
        title, short = "Rédaction de l'alerte en français", "alerte"
    else:
        title, short = f"Tâche {task['id']}", task["id"]
    run_if = str(task.get("runIf") or task.get("when") or "")
    if match := KV_NAME.search(run_if):
        condition = f"si la clé {match[1]} est activée"
    elif "executionId" in run_if:
        condition = "si une étape a échoué"
    elif run_if:
        condition = "si la condition est vraie"
    else:
        condition = "toujours"
    return title, condition, short


def deliverable_caption(name: str) -> str:
    from bottleneck_pipeline import labels_fr
    from bottleneck_pipeline.html_report import HTML_FILE
    from bottleneck_pipeline.publish import QUALITY_FILE, SUMMARY_FILE

    captions = {
        labels_fr.REPORT_FILE: "rapport de CA (Excel)",
        labels_fr.PREMIUM_FILE: "vins premium (CSV)",
        labels_fr.ORDINARY_FILE: "vins ordinaires (CSV)",
        SUMMARY_FILE: "résumé chiffré du mois",
        QUALITY_FILE: "résultat de chaque contrôle",
        HTML_FILE: "rapport qualité lisible (HTML)",
    }
    return captions.get(name, "fichier produit")


def parent_sources(m: Lineage, flows: Flows, parent: dict, value) -> list[tuple[str, str]]:
    """(source node, file name) for every file an expression of the parent flow reads."""
    text, found = str(value), []
    for task_id, output_id in TASK_OUTPUT.findall(text):
        task = task_by_id(parent, task_id)
        if task and is_subflow(task) and task_id in m.task_nodes:
            name = output_file_name(flows, child_flow(flows, parent, task), output_id)
            if name:
                found.append((m.task_nodes[task_id], name))
    for task_id, path in TASK_FILE.findall(text):
        if task_id in m.task_nodes:
            found.append((m.task_nodes[task_id], basename(path)))
    for input_id in FLOW_INPUT.findall(text):
        if f"input-{input_id}" in m.nodes:
            found.append((f"input-{input_id}", m.nodes[f"input-{input_id}"].title))
    return found


def add_stage(m: Lineage, flows: Flows, parent: dict, task: dict, number: int) -> None:
    child = child_flow(flows, parent, task)
    stage_id = f"stage-{task['id']}"
    m.add(Node(stage_id, "stage", f"{number}. {stage_label(child['id'])}", (f"subflow {child['id']}",)))
    m.task_nodes[task["id"]] = stage_id
    collect_retries(m, child)
    for key, value in (task.get("inputs") or {}).items():
        if is_file_input(child, key):
            for source, name in parent_sources(m, flows, parent, value):
                m.link(source, stage_id, name)
    for inner in walk(child.get("tasks")):
        if is_subflow(inner):
            add_test(m, flows, child, inner, stage_id)


def add_test(m: Lineage, flows: Flows, stage_flow: dict, task: dict, stage_id: str) -> None:
    test = child_flow(flows, stage_flow, task)
    test_id = f"test-{test['id']}"
    collect_retries(m, test)
    checked = [s for t in walk(test.get("tasks")) for c in t.get("commands") or [] for s in CHECK_STAGE.findall(str(c))]
    families = [FAMILY_SHORT_FR[f] for f in stage_families(checked[0])] if checked else []
    m.add(
        Node(
            test_id,
            "test",
            "Contrôle qualité",
            tuple(filter(None, [", ".join(families), f"subflow {test['id']}"])),
            anchor=stage_id,
        )
    )
    forwarded = False
    for key, value in (task.get("inputs") or {}).items():
        if not is_file_input(test, key):
            continue
        text = str(value)
        if TASK_FILE.search(text) or TASK_OUTPUT.search(text):
            m.link(stage_id, test_id, value_file_name(flows, stage_flow, value))
        elif FLOW_INPUT.search(text):
            forwarded = True
    if forwarded:
        m.link(stage_id, test_id, note="+ entrées de l'étape")
    for output in stage_flow.get("outputs") or []:
        match = TASK_OUTPUT.search(str(output.get("value")))
        if match and match[1] == task["id"]:
            name = output_file_name(flows, test, match[2])
            if name:
                m.link(test_id, stage_id, name)


def collect_retries(m: Lineage, flow: dict) -> None:
    for task in walk(flow.get("tasks")):
        if isinstance(task.get("retry"), dict):
            m.retries.append(task["retry"])


def build_lineage(root: Path = REPO) -> Lineage:
    """Nodes and edges of the whole pipeline, read from the flows under ``root``."""
    flows = load_flows(root)
    parent = find_parent(flows)
    m = Lineage(parent["id"], parent["namespace"])

    for trigger in parent.get("triggers") or []:
        m.add(Node(f"trigger-{trigger['id']}", "trigger", "Déclenchement automatique", (trigger_text(trigger),)))
    for spec in parent.get("inputs") or []:
        if str(spec.get("type", "")).upper() == "FILE":
            m.add(Node(f"input-{spec['id']}", "input", input_file_name(parent, spec["id"]), ("classeur du mois",)))

    previous = ""
    for task in walk(parent.get("tasks")):
        if is_subflow(task):
            add_stage(m, flows, parent, task, len(m.of_kind("stage")) + 1)
            previous = f"stage-{task['id']}"
        elif is_flowable(task):
            continue
        elif is_step(task):
            step_id = f"step-{task['id']}"
            m.add(Node(step_id, "step", step_title(task), (f"tâche {task['id']}",)))
            m.task_nodes[task["id"]] = step_id
            if isinstance(task.get("retry"), dict):
                m.retries.append(task["retry"])
            for value in (task.get("inputFiles") or {}).values():
                for source, name in parent_sources(m, flows, parent, value):
                    m.link(source, step_id, name)
            previous = step_id
        elif previous:
            gate_id = f"gate-{task['id']}"
            anchor = previous if m.nodes[previous].kind != "gate" else m.nodes[previous].anchor
            m.add(Node(gate_id, "gate", gate_title(task), (f"tâche {task['id']}",), anchor=anchor))
            m.task_nodes[task["id"]] = gate_id
            m.link(previous, gate_id, kind="control")
            previous = gate_id

    for output in parent.get("outputs") or []:
        if str(output.get("type", "")).upper() != "FILE":
            continue
        for source, name in parent_sources(m, flows, parent, output.get("value")):
            out_id = f"output-{output['id']}"
            m.add(Node(out_id, "deliverable", name, (deliverable_caption(name),)))
            m.link(source, out_id, name)

    stages = m.of_kind("stage")
    for trigger in m.of_kind("trigger"):
        if stages:
            m.link(trigger.id, stages[0].id, kind="control", note="lance le flow")

    errors = [t for t in walk(parent.get("errors")) if not is_flowable(t)]
    if errors:
        m.add(Node("errors", "errors", "En cas d'échec", ("branche errors du flow",)))
        for task in errors:
            title, condition, short = channel_label(task)
            m.add(Node(f"alert-{task['id']}", "channel", title, (condition,), short=short))
            m.link("errors", f"alert-{task['id']}", kind="alert")

    inbox = sorted(
        {
            str(PurePosixPath(str(s.get("defaults", "")).replace("nsfile://", "")).parent).strip("/")
            for s in parent.get("inputs") or []
            if str(s.get("type", "")).upper() == "FILE" and s.get("defaults")
        }
    )
    frames = [
        (
            "frame-inputs",
            "Classeurs du mois",
            (f"Namespace Files : {', '.join(p + '/' for p in inbox)}",) if inbox else (),
            "input",
        ),
        (
            "frame-flow",
            f"Flow Kestra {parent['id']}",
            (f"namespace {parent['namespace']}",),
            ("stage", "test", "step", "gate"),
        ),
        ("frame-outputs", "Livrables", ("sorties de l'exécution",), "deliverable"),
    ]
    for frame_id, title, lines, kinds in frames:
        members = tuple(n.id for n in m.nodes.values() if n.kind in kinds)
        if members:
            m.nodes[frame_id] = Node(frame_id, "frame", title, lines, members=members)
    if "errors" in m.nodes and "frame-flow" in m.nodes:
        m.link("frame-flow", "errors", kind="alert", note="une tâche échoue")
    return m


# ================================================================================ layout ====


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Route:
    points: list[tuple[float, float]]
    label_at: tuple[float, float] | None = None  # centre of the label, on the path


@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels (draw.io units). The slide uses a tighter set without edge labels."""

    margin: float = 30
    input_w: float = 150
    input_h: float = 46
    stage_w: float = 200
    stage_h: float = 76
    gap: float = 130  # between columns, where the edge labels sit
    test_w: float = 160
    test_h: float = 88
    test_gap: float = 150  # between a stage and its test
    step_gap: float = 110  # between the tests and the final step
    step_h: float = 64
    gate_w: float = 190
    gate_h: float = 56
    deliverable_w: float = 190
    deliverable_h: float = 52
    trigger_w: float = 320
    trigger_h: float = 64
    channel_w: float = 300
    channel_h: float = 52
    lane_step: float = 16
    frame_pad: float = 44  # room for a frame's caption above its first member
    label_line: float = 13  # height of one line of an edge label


DRAWIO_METRICS = Metrics()
SLIDE_METRICS = Metrics(
    gap=70,
    test_gap=46,
    step_gap=46,
    lane_step=10,
    input_w=200,
    deliverable_w=235,
    frame_pad=34,
    stage_w=210,
    stage_h=92,
    test_w=180,
    test_h=64,
    trigger_w=420,
    trigger_h=56,
    step_h=56,
    gate_w=280,
    gate_h=60,
    channel_w=290,
    channel_h=48,
)


def channel_names(model: Lineage, optional_only: bool = False) -> list[str]:
    return [n.short or n.title for n in model.of_kind("channel") if not optional_only or n.lines[:1] != ("toujours",)]


def french_list(items: list[str]) -> str:
    return " et ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def stack(n: int, centre: float, height: float, spacing: float) -> list[float]:
    """Top y of n boxes stacked around a centre line."""
    total = n * height + (n - 1) * spacing
    return [centre - total / 2 + i * (height + spacing) for i in range(n)]


def label_height(m: Metrics, edge: Edge) -> float:
    return (len(edge.label.splitlines()) or 1) * m.label_line + 4


def layout(
    model: Lineage, mt: Metrics = DRAWIO_METRICS
) -> tuple[dict[str, Box], dict[str, Route], tuple[float, float]]:
    """Boxes of every node and the route of every edge, left to right; returns (boxes, routes, size)."""
    stages = model.of_kind("stage")
    column = {s.id: i for i, s in enumerate(stages)}
    stage_x = lambda i: mt.margin + mt.input_w + mt.gap + 40 + i * (mt.stage_w + mt.gap)  # noqa: E731
    last_right = stage_x(max(len(stages) - 1, 0)) + mt.stage_w
    deliver_x = last_right + mt.gap

    def is_lane(edge: Edge) -> bool:  # a main-row edge that jumps over columns
        if edge.source not in column:
            return False
        target = model.nodes[edge.target]
        if target.kind == "stage":
            return column[edge.target] - column[edge.source] > 1
        return target.kind == "deliverable" and column[edge.source] < len(stages) - 1

    lanes = [e for e in model.edges if is_lane(e)]
    trigger_y = mt.margin
    frame_top = trigger_y + mt.trigger_h + 50
    row_y = frame_top + mt.frame_pad + 12 + len(lanes) * mt.lane_step + 30
    boxes: dict[str, Box] = {}
    for i, stage in enumerate(stages):
        boxes[stage.id] = Box(stage_x(i), row_y, mt.stage_w, mt.stage_h)
    row_cy = row_y + mt.stage_h / 2

    tests = model.of_kind("test")
    test_y = row_y + mt.stage_h + mt.test_gap
    for stage in stages:
        mine = [t for t in tests if t.anchor == stage.id]
        for j, test in enumerate(mine):
            sb = boxes[stage.id]
            boxes[test.id] = Box(sb.right - mt.test_w, test_y + j * (mt.test_h + 30), mt.test_w, mt.test_h)
    below_row = max([b.bottom for b in boxes.values()], default=row_y + mt.stage_h)

    y = below_row + (mt.step_gap if tests else 60)
    for step in model.of_kind("step"):
        sources = [column[e.source] for e in model.edges if e.target == step.id and e.source in column]
        first, last = (min(sources), max(sources)) if sources else (0, max(len(stages) - 1, 0))
        boxes[step.id] = Box(stage_x(first), y, stage_x(last) + mt.stage_w - stage_x(first), mt.step_h)
        gates = [g for g in model.of_kind("gate") if g.anchor == step.id]
        for k, gate in enumerate(gates):
            right = boxes[step.id].right - (len(gates) - 1 - k) * (mt.gate_w + 50)
            boxes[gate.id] = Box(right - mt.gate_w, boxes[step.id].bottom + 40, mt.gate_w, mt.gate_h)
        y = max(b.bottom for b in boxes.values()) + 90
    for gate in model.of_kind("gate"):  # gates that follow a stage directly: under its test
        if gate.id not in boxes:
            anchor = boxes[gate.anchor]
            bottom = max(
                [b.bottom for b in boxes.values() if b.x < anchor.right and b.right > anchor.x], default=anchor.bottom
            )
            boxes[gate.id] = Box(anchor.x, bottom + 40, mt.gate_w, mt.gate_h)

    flow_members = [boxes[n.id] for n in model.nodes.values() if n.kind in ("stage", "test", "step", "gate")]
    flow_frame = (
        Box(
            stage_x(0) - 40,
            frame_top,
            last_right + 40 - (stage_x(0) - 40),
            max(b.bottom for b in flow_members) + 30 - frame_top,
        )
        if flow_members
        else None
    )

    inputs = model.of_kind("input")
    for node, top in zip(inputs, stack(len(inputs), row_cy, mt.input_h, 18)):
        boxes[node.id] = Box(mt.margin + 15, top, mt.input_w, mt.input_h)

    groups: dict[str, list[Node]] = {}
    for node in model.of_kind("deliverable"):
        source = next(e.source for e in model.edges if e.target == node.id)
        groups.setdefault(source, []).append(node)
    by_row: dict[float, list[Node]] = {}
    for source, nodes in groups.items():
        by_row.setdefault(boxes[source].cy if model.nodes[source].kind != "stage" else row_cy, []).extend(nodes)
    for centre, nodes in by_row.items():
        for node, top in zip(nodes, stack(len(nodes), centre, mt.deliverable_h, 14)):
            boxes[node.id] = Box(deliver_x + 15, top, mt.deliverable_w, mt.deliverable_h)

    for trigger in model.of_kind("trigger"):
        target = next((boxes[e.target] for e in model.edges if e.source == trigger.id), None)
        cx = target.cx if target else stage_x(0) + mt.stage_w / 2
        boxes[trigger.id] = Box(cx - mt.trigger_w / 2, trigger_y, mt.trigger_w, mt.trigger_h)

    frames = {"frame-flow": flow_frame}
    for frame_id in ("frame-inputs", "frame-outputs"):
        if frame_id in model.nodes:
            inner = [boxes[i] for i in model.nodes[frame_id].members]
            top = min(b.y for b in inner) - mt.frame_pad
            frames[frame_id] = Box(
                min(b.x for b in inner) - 15,
                top,
                max(b.right for b in inner) + 15 - (min(b.x for b in inner) - 15),
                max(b.bottom for b in inner) + 15 - top,
            )
    for frame_id, box in frames.items():
        if frame_id in model.nodes and box:
            boxes[frame_id] = box

    bottom = max(b.bottom for b in boxes.values())
    if "errors" in model.nodes:
        hub = Box(stage_x(0), bottom + 60, mt.stage_w, mt.stage_h)
        boxes["errors"] = hub
        channels = [n for n in model.of_kind("channel")]
        for node, top in zip(channels, stack(len(channels), hub.cy, mt.channel_h, 14)):
            boxes[node.id] = Box(hub.right + mt.gap, top, mt.channel_w, mt.channel_h)
        bottom = max(b.bottom for b in boxes.values())
        # channels may stack higher than the hub: keep them below the flow frame
        overlap = (flow_frame.bottom + 20) - min(boxes[n.id].y for n in channels) if channels and flow_frame else 0
        if overlap > 0:
            for node_id in ["errors"] + [n.id for n in channels]:
                b = boxes[node_id]
                boxes[node_id] = Box(b.x, b.y + overlap, b.w, b.h)

    routes = {e.id: route(model, mt, e, boxes, column, lanes) for e in model.edges}
    width = max(b.right for b in boxes.values()) + mt.margin
    height = max(b.bottom for b in boxes.values()) + mt.margin
    return boxes, routes, (width, height)


def route(
    model: Lineage, mt: Metrics, edge: Edge, boxes: dict[str, Box], column: dict[str, int], lanes: list[Edge]
) -> Route:
    s, t = boxes[edge.source], boxes[edge.target]
    sk, tk = model.nodes[edge.source].kind, model.nodes[edge.target].kind
    lh = label_height(mt, edge)

    def fan(y_from: float, y_to: float, x_mid: float | None = None) -> Route:
        mid = x_mid if x_mid is not None else (s.right + t.x) / 2
        points = [(s.right, y_from), (mid, y_from), (mid, y_to), (t.x, y_to)]
        if abs(y_from - y_to) < 0.5:
            points = [(s.right, y_from), (t.x, y_to)]
        return Route(points, ((s.right + t.x) / 2, y_from))

    if edge in lanes:
        lane_y = (
            boxes["frame-flow"].y + mt.frame_pad + 12 + lanes.index(edge) * mt.lane_step
            if "frame-flow" in boxes
            else s.y - 30
        )
        x0 = s.x + s.w * (0.5 + 0.1 * lanes.index(edge))
        entry_x = t.x - 25 if tk == "deliverable" else t.x + t.w * 0.7
        if tk == "deliverable":
            points = [(x0, s.y), (x0, lane_y), (entry_x, lane_y), (entry_x, t.cy), (t.x, t.cy)]
        else:
            points = [(x0, s.y), (x0, lane_y), (entry_x, lane_y), (entry_x, t.y)]
        return Route(points, ((x0 + entry_x) / 2, lane_y))
    if sk == "stage" and tk == "stage":
        return Route([(s.right, s.cy), (t.x, t.cy)], ((s.right + t.x) / 2, s.cy))
    if sk == "input":
        return fan(s.cy, t.cy)
    if sk == "stage" and tk == "test":
        x = t.x + t.w * 0.3
        return Route([(x, s.bottom), (x, t.y)], (x, s.bottom + 10 + lh / 2))
    if sk == "test" and tk == "stage":
        x = s.x + s.w * 0.82
        return Route([(x, s.y), (x, t.bottom)], (x, s.y - 12 - lh / 2))
    if sk == "stage" and tk == "step":
        x = s.x + 16
        tests_bottom = max([b.bottom for i, b in boxes.items() if model.nodes[i].kind == "test"], default=s.bottom)
        return Route([(x, s.bottom), (x, t.y)], (x, (tests_bottom + t.y) / 2))
    if tk == "gate" and sk in ("step", "stage"):
        return Route([(t.cx, s.bottom), (t.cx, t.y)])
    if sk == "gate" and tk == "gate":
        return Route([(s.right, s.cy), (t.x, t.cy)])
    if sk in ("stage", "step") and tk == "deliverable":
        return fan(s.cy if sk == "step" else s.cy, t.cy)
    if sk == "trigger":
        return Route([(t.cx, s.bottom), (t.cx, t.y)], (t.cx, (s.bottom + boxes.get("frame-flow", t).y) / 2))
    if sk == "frame" and tk == "errors":
        return Route([(t.cx, s.bottom), (t.cx, t.y)], (t.cx, (s.bottom + t.y) / 2))
    if sk == "errors":
        return fan(s.cy, t.cy)
    return Route([(s.right, s.cy), (t.x, t.cy)], ((s.right + t.x) / 2, (s.cy + t.cy) / 2))


def shown_label(model: Lineage, edge: Edge) -> str:
    """An edge into or out of a file node carries that file: no need to repeat its name."""
    if (
        edge.files
        and all(
            model.is_file_node(n) and model.nodes[n].title in edge.files
            for n in (edge.source, edge.target)
            if model.is_file_node(n)
        )
        and (model.is_file_node(edge.source) or model.is_file_node(edge.target))
    ):
        return edge.note
    return edge.label


# ============================================================================ draw.io ====

WINE, GOLD, INK, GREY, ALERT = "#5B2333", "#C9A227", "#222222", "#6b6b6b", "#B00020"
STYLE = {  # kind -> (fill, stroke, font colour, shape)
    "stage": (WINE, "#3D1722", "#FFFFFF", "rounded"),
    "test": ("#FFF4D6", GOLD, INK, "rounded"),
    "step": ("#ECECEC", "#555555", INK, "rounded"),
    "gate": ("#FFFFFF", "#555555", INK, "hexagon"),
    "input": ("#E6F0E6", "#4F7A4F", INK, "note"),
    "deliverable": ("#F3E6EA", WINE, INK, "note"),
    "trigger": ("#DDE8F5", "#2F5C8A", INK, "rounded"),
    "errors": ("#FDE2E2", ALERT, INK, "rounded"),
    "channel": ("#FFFFFF", ALERT, INK, "rounded"),
    "frame": ("none", "#9A9A9A", "#444444", "frame"),
}


def vertex_style(kind: str) -> str:
    fill, stroke, font, shape = STYLE[kind]
    common = f"whiteSpace=wrap;html=1;fillColor={fill};strokeColor={stroke};fontColor={font};fontSize=12;"
    return {
        "rounded": "rounded=1;arcSize=12;" + common,
        "hexagon": "shape=hexagon;perimeter=hexagonPerimeter2;size=0.08;fixedSize=0;" + common,
        "note": "shape=note;size=12;" + common,
        "frame": (
            "rounded=1;arcSize=4;dashed=1;verticalAlign=top;align=left;spacingLeft=10;spacingRight=10;spacingTop=2;"
            "container=0;" + common
        ),
    }[shape]


def frame_align(node: Node) -> str:
    """The flow frame's caption goes right: the trigger arrow enters its top left."""
    return "right" if node.members and any(m.startswith("stage-") for m in node.members) else "left"


def node_html(node: Node) -> str:
    small = "".join(f'<br><font style="font-size: 10px">{html.escape(line, quote=False)}</font>' for line in node.lines)
    return f"<b>{html.escape(node.title, quote=False)}</b>{small}"


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def label_position(points: list[tuple[float, float]], at: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """draw.io places an edge label at x in [-1, 1] along the whole path: find that x for a
    point, and the offset from the path to the point."""
    lengths = [math.dist(a, b) for a, b in zip(points, points[1:])]
    total = sum(lengths) or 1
    best = (float("inf"), 0.0, (0.0, 0.0))
    walked = 0.0
    for (a, b), length in zip(zip(points, points[1:]), lengths):
        if length:
            t = max(0.0, min(1.0, ((at[0] - a[0]) * (b[0] - a[0]) + (at[1] - a[1]) * (b[1] - a[1])) / length**2))
            p = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            d = math.dist(p, at)
            if d < best[0] - 1e-9:
                best = (d, walked + t * length, (at[0] - p[0], at[1] - p[1]))
        walked += length
    return 2 * best[1] / total - 1, best[2]


def to_drawio(model: Lineage, mt: Metrics = DRAWIO_METRICS) -> str:
    """Plain (uncompressed) draw.io XML; the same model always gives the same bytes."""
    boxes, routes, (width, height) = layout(model, mt)
    mxfile = ET.Element("mxfile", host="drawio", agent="scripts/make_docs.py", version="24.7.17", type="device")
    diagram = ET.SubElement(mxfile, "diagram", id=f"lineage-{model.flow_id}", name="Lignage")
    graph = ET.SubElement(
        diagram,
        "mxGraphModel",
        dx="1400",
        dy="900",
        grid="1",
        gridSize="10",
        guides="1",
        tooltips="1",
        connect="1",
        arrows="1",
        fold="1",
        page="1",
        pageScale="1",
        pageWidth=_num(math.ceil(width / 10) * 10),
        pageHeight=_num(math.ceil(height / 10) * 10),
        math="0",
        shadow="0",
    )
    root = ET.SubElement(graph, "root")
    ET.SubElement(root, "mxCell", id="0")
    ET.SubElement(root, "mxCell", id="1", parent="0")
    ordered = sorted(model.nodes.values(), key=lambda n: n.kind != "frame")  # frames behind
    for node in ordered:
        box = boxes[node.id]
        style = vertex_style(node.kind)
        if node.kind == "frame":
            style = style.replace("align=left;", f"align={frame_align(node)};")
        cell = ET.SubElement(root, "mxCell", id=node.id, value=node_html(node), style=style, vertex="1", parent="1")
        ET.SubElement(
            cell,
            "mxGeometry",
            x=_num(box.x),
            y=_num(box.y),
            width=_num(box.w),
            height=_num(box.h),
            **{"as": "geometry"},
        )
    for edge in model.edges:
        r = routes[edge.id]
        s, t = boxes[edge.source], boxes[edge.target]
        (x0, y0), (x1, y1) = r.points[0], r.points[-1]
        dashed = "dashed=1;" if edge.kind != "data" else ""
        colour = {"data": "#555555", "control": "#2F5C8A", "alert": ALERT}[edge.kind]
        style = (
            f"edgeStyle=none;rounded=0;html=1;endArrow=block;endFill=1;strokeColor={colour};{dashed}"
            f"fontSize=10;fontColor={INK};labelBackgroundColor=#FFFFFF;"
            f"exitX={_num((x0 - s.x) / s.w)};exitY={_num((y0 - s.y) / s.h)};exitDx=0;exitDy=0;"
            f"entryX={_num((x1 - t.x) / t.w)};entryY={_num((y1 - t.y) / t.h)};entryDx=0;entryDy=0;"
        )
        text = shown_label(model, edge)
        cell = ET.SubElement(
            root,
            "mxCell",
            id=f"e-{edge.id}",
            value=html.escape(text, quote=False).replace("\n", "<br>"),
            style=style,
            edge="1",
            parent="1",
            source=edge.source,
            target=edge.target,
        )
        attrs = {"relative": "1", "as": "geometry"}
        offset = None
        if text and r.label_at:
            position, offset = label_position(r.points, r.label_at)
            attrs = {"x": _num(position), "relative": "1", "as": "geometry"}
        geometry = ET.SubElement(cell, "mxGeometry", **attrs)
        ET.SubElement(geometry, "mxPoint", x=_num(x0), y=_num(y0), **{"as": "sourcePoint"})
        ET.SubElement(geometry, "mxPoint", x=_num(x1), y=_num(y1), **{"as": "targetPoint"})
        if len(r.points) > 2:
            array = ET.SubElement(geometry, "Array", **{"as": "points"})
            for x, y in r.points[1:-1]:
                ET.SubElement(array, "mxPoint", x=_num(x), y=_num(y))
        if offset and (abs(offset[0]) > 0.5 or abs(offset[1]) > 0.5):
            ET.SubElement(geometry, "mxPoint", x=_num(offset[0]), y=_num(offset[1]), **{"as": "offset"})
    ET.indent(mxfile, space="  ")
    return ET.tostring(mxfile, encoding="unicode") + "\n"


# ========================================================================= SVG preview ====


def wrap(text: str, width_px: float, size: float, bold: bool = False) -> list[str]:
    """Greedy word wrap with an average glyph width (good enough for a preview)."""
    per_char = size * (0.60 if bold else 0.55)
    limit = max(4, int(width_px / per_char))
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    return lines + [current] if current else lines


BOLD = ' font-weight="bold"'
END = ' text-anchor="end"'


def to_svg(model: Lineage, mt: Metrics = DRAWIO_METRICS) -> str:
    """A static preview of the same layout (viewable anywhere, embedded in docs/DOCS.md)."""
    boxes, routes, (width, height) = layout(model, mt)
    esc = lambda s: html.escape(s, quote=True)  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" font-family="Liberation Sans, Arial, Helvetica, sans-serif">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for k, c in (("data", "#555555"), ("control", "#2F5C8A"), ("alert", ALERT))
        )
        + "</defs>",
        f'<rect width="{_num(width)}" height="{_num(height)}" fill="#FFFFFF"/>',
    ]
    for node in sorted(model.nodes.values(), key=lambda n: n.kind != "frame"):
        b = boxes[node.id]
        fill, stroke, font, shape = STYLE[node.kind]
        if shape == "hexagon":
            d = b.w * 0.08
            pts = [
                (b.x + d, b.y),
                (b.right - d, b.y),
                (b.right, b.cy),
                (b.right - d, b.bottom),
                (b.x + d, b.bottom),
                (b.x, b.cy),
            ]
            out.append(
                f'<polygon points="{" ".join(f"{_num(x)},{_num(y)}" for x, y in pts)}" fill="{fill}" stroke="{stroke}"/>'
            )
        elif shape == "note":
            pts = [(b.x, b.y), (b.right - 12, b.y), (b.right, b.y + 12), (b.right, b.bottom), (b.x, b.bottom)]
            out.append(
                f'<polygon points="{" ".join(f"{_num(x)},{_num(y)}" for x, y in pts)}" fill="{fill}" stroke="{stroke}"/>'
            )
        else:
            dash = ' stroke-dasharray="6 4"' if shape == "frame" else ""
            out.append(
                f'<rect x="{_num(b.x)}" y="{_num(b.y)}" width="{_num(b.w)}" height="{_num(b.h)}" rx="{8 if shape != "frame" else 6}" '
                f'fill="{"none" if fill == "none" else fill}" stroke="{stroke}"{dash}/>'
            )
        lines = [(line, 12, True) for line in wrap(node.title, b.w - 12, 12, True)]
        lines += [(line, 10, False) for text in node.lines for line in wrap(text, b.w - 12, 10)]
        if shape == "frame":
            y, right = b.y + 16, frame_align(node) == "right"
            for text, size, bold in lines:
                out.append(
                    f'<text x="{_num(b.right - 10 if right else b.x + 10)}" y="{_num(y)}" font-size="{size}" fill="{font}"'
                    f"{END if right else ''}{BOLD if bold else ''}>{esc(text)}</text>"
                )
                y += size + 3
            continue
        total = sum(size + 3 for _, size, _ in lines) - 3
        y = b.cy - total / 2
        for text, size, bold in lines:
            y += size
            out.append(
                f'<text x="{_num(b.cx)}" y="{_num(y - 1)}" font-size="{size}" text-anchor="middle" fill="{font}"'
                f"{BOLD if bold else ''}>{esc(text)}</text>"
            )
            y += 3
    for edge in model.edges:
        r = routes[edge.id]
        colour = {"data": "#555555", "control": "#2F5C8A", "alert": ALERT}[edge.kind]
        dash = ' stroke-dasharray="5 4"' if edge.kind != "data" else ""
        out.append(
            f'<polyline points="{" ".join(f"{_num(x)},{_num(y)}" for x, y in r.points)}" fill="none" '
            f'stroke="{colour}" stroke-width="1.3"{dash} marker-end="url(#arrow-{edge.kind})"/>'
        )
    for edge in model.edges:  # labels above every line
        r, text = routes[edge.id], shown_label(model, edge)
        if not (text and r.label_at):
            continue
        lines = text.splitlines()
        w = max(len(line) for line in lines) * 5.6 + 8
        h = len(lines) * mt.label_line + 4
        x, y = r.label_at
        out.append(
            f'<rect x="{_num(x - w / 2)}" y="{_num(y - h / 2)}" width="{_num(w)}" height="{_num(h)}" fill="#FFFFFF" opacity="0.92"/>'
        )
        for i, line in enumerate(lines):
            out.append(
                f'<text x="{_num(x)}" y="{_num(y - h / 2 + 2 + (i + 1) * mt.label_line - 3)}" font-size="10" '
                f'text-anchor="middle" fill="{INK}">{esc(line)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ========================================================================== run figures ====

NBSP = "\u00a0"


def fr_number(value, decimals: int = 0) -> str:
    """French number: non-breaking space between thousands, comma before decimals."""
    text = f"{Decimal(str(value)):,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def fr_euros(value, decimals: int = 2) -> str:
    return f"{fr_number(value, decimals)}{NBSP}€"


def fr_percent(part, whole) -> str:
    return f"{fr_number(Decimal(str(part)) * 100 / Decimal(str(whole)) if whole else 0, 1)}{NBSP}%"


@dataclass
class Wine:
    product_id: str
    name: str
    price: Decimal
    revenue: Decimal
    premium: bool


@dataclass
class RunFacts:
    folder: Path
    summary: dict
    quality: dict
    wines: list[Wine]

    @property
    def premium(self) -> list[Wine]:
        return [w for w in self.wines if w.premium]

    @property
    def ordinary(self) -> list[Wine]:
        return [w for w in self.wines if not w.premium]

    def top(self, n: int = 10) -> list[Wine]:
        return sorted(self.wines, key=lambda w: (-w.revenue, w.product_id))[:n]

    @property
    def from_sample(self) -> bool:
        """True when the run read the bundled synthetic sample (same SHA-256)."""
        sample = REPO / "data" / "sample"
        sources = self.summary.get("sources", {}).values()
        return bool(sources) and all(
            (sample / s["file"]).is_file()
            and hashlib.sha256((sample / s["file"]).read_bytes()).hexdigest() == s["sha256"]
            for s in sources
        )


def read_run(folder: Path) -> RunFacts:
    from bottleneck_pipeline import labels_fr
    from bottleneck_pipeline.publish import QUALITY_FILE, SUMMARY_FILE

    folder = Path(folder)
    for name in (SUMMARY_FILE, QUALITY_FILE, labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE):
        if not (folder / name).is_file():
            raise SystemExit(f"{folder}: {name} is missing; pass a published run folder (OUTPUT/PERIOD)")
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    quality = json.loads((folder / QUALITY_FILE).read_text(encoding="utf-8"))
    columns = labels_fr.EXTRACT_COLUMNS
    wines = []
    for name, premium in ((labels_fr.PREMIUM_FILE, True), (labels_fr.ORDINARY_FILE, False)):
        path = folder / labels_fr.MACHINE_DIR / name  # the machine form (technical headers, decimal point)
        with open(path if path.is_file() else folder / name, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=labels_fr.CSV_SEPARATOR):
                wines.append(
                    Wine(
                        row[columns["product_id"]],
                        row[columns["product_name"]] or row[columns["product_id"]],
                        Decimal(row[columns["price_eur"]]),
                        Decimal(row[columns["revenue_eur"]]),
                        premium,
                    )
                )
    return RunFacts(folder, summary, quality, wines)


def fault_injection_defects() -> list:
    """The DEFECTS list of tests/test_fault_injection.py (imported, not counted by hand)."""
    tests = REPO / "tests"
    sys.path.insert(0, str(tests))
    try:
        spec = importlib.util.spec_from_file_location("_fault_injection_for_docs", tests / "test_fault_injection.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return list(module.DEFECTS)
    finally:
        sys.path.remove(str(tests))


# ========================================================================= presentation ====

FAMILY_FR = {  # family -> (name, what it stops)
    "duplicates": ("Doublons", "un produit compté deux fois, deux prix pour un même vin"),
    "missing_values": ("Valeurs manquantes", "un prix ou un code absent qui fausserait le CA"),
    "volumes": (
        "Volumétrie (dont après jointures)",
        "des lignes perdues ou multipliées en lisant ou croisant les fichiers",
    ),
    "revenue": ("Cohérence du CA", "un total différent de la somme des lignes, un Excel mal écrit"),
    "zscore": ("Cohérence du z-score", "un vin classé du mauvais côté du seuil premium"),
    "schema": ("Format des fichiers", "une colonne renommée, du texte dans un prix"),
    "business": ("Règles métier", "un prix ou des ventes négatifs"),
}
FAMILY_ORDER = ("duplicates", "missing_values", "volumes", "revenue", "zscore", "schema", "business")


def deck_text(facts: RunFacts, model: Lineage) -> dict:
    """Every figure the deck shows, computed once (the tests read the same numbers)."""
    s, q = facts.summary, facts.quality
    premium_ca = sum((w.revenue for w in facts.premium), Decimal(0))
    ordinary_ca = sum((w.revenue for w in facts.ordinary), Decimal(0))
    by_family = Counter(r["family"] for r in q["results"])
    return {
        "period": s["period"],
        "ca_total": fr_euros(s["ca_total"]),
        "products": fr_number(s["products"]),
        "premium_count": fr_number(s["premium_count"]),
        "ordinary_count": fr_number(s["ordinary_count"]),
        "premium_ca": fr_euros(premium_ca),
        "ordinary_ca": fr_euros(ordinary_ca),
        "premium_share_ca": fr_percent(premium_ca, premium_ca + ordinary_ca),
        "premium_share_count": fr_percent(s["premium_count"], s["products"]),
        "mean": fr_euros(s["price"]["mean"]),
        "std": fr_euros(s["price"]["std"]),
        "cutoff": fr_euros(s["price"]["premium_cutoff_eur"]),
        "z": fr_number(s["z_threshold"], 0 if float(s["z_threshold"]).is_integer() else 1),
        "checks": q["checks"],
        "passed": q["passed"],
        "warnings": q["warnings"],
        "by_family": by_family,
    }


def retry_text(model: Lineage) -> str:
    """'3 tentatives, délai croissant de 10 s à 2 min' from the tasks' retry blocks."""
    if not model.retries:
        return "aucune relance configurée"
    common = Counter(json.dumps(r, sort_keys=True) for r in model.retries).most_common(1)[0][0]
    retry = json.loads(common)

    def duration(text: str) -> str:
        match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", str(text))
        if not match:
            return str(text)
        h, mi, se = (int(x or 0) for x in match.groups())
        return " ".join(
            p for p in (f"{h}{NBSP}h" if h else "", f"{mi}{NBSP}min" if mi else "", f"{se}{NBSP}s" if se else "") if p
        )

    attempts = retry.get("maxAttempts", "?")
    if retry.get("type") == "exponential":
        return f"{attempts} tentatives, délai croissant de {duration(retry.get('interval'))} à {duration(retry.get('maxInterval'))}"
    return f"{attempts} tentatives, toutes les {duration(retry.get('interval'))}"


def build_presentation(run: Path, output: Path, root: Path = REPO) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    facts = read_run(run)
    model = build_lineage(root)
    text = deck_text(facts, model)
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    deck = Deck(prs, text)
    title_slide(deck, facts, model)
    context_slide(deck, facts)
    kestra_slide(deck, model)
    add_workflow_slide(deck, model)
    demo_slide(deck, model)
    tests_slide(deck, facts, text)
    robustness_slide(deck, model)
    results_slide(deck, facts, text)
    top_products_slide(deck, facts)
    next_steps_slide(deck, facts, model, text)
    prs.core_properties.title = "BottleNeck — COPIL : automatisation du rapport mensuel de CA"
    prs.core_properties.author = "Équipe data BottleNeck"
    output.parent.mkdir(parents=True, exist_ok=True)
    prs.save(output)
    return output


class Deck:
    """Small helpers over python-pptx: blank slides, big fonts, notes, a footer."""

    def __init__(self, prs, text: dict):
        self.prs, self.text = prs, text
        self.number = 0

    def slide(self, title: str | None, notes: str):
        from pptx.util import Inches, Pt

        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])
        self.number += 1
        if title:
            self.box(slide, 0.6, 0.35, 12.1, 0.9, title, size=34, bold=True, colour=WINE)
            bar = slide.shapes.add_shape(1, Inches(0.6), Inches(1.22), Inches(1.4), Pt(4))
            self.fill(bar, GOLD)
            self.box(
                slide,
                0.6,
                7.0,
                9,
                0.35,
                f"BottleNeck · COPIL · données du mois {self.text['period']}",
                size=11,
                colour=GREY,
            )
            self.box(slide, 12.0, 7.0, 0.8, 0.35, str(self.number), size=11, colour=GREY, align="right")
        slide.notes_slide.notes_text_frame.text = notes
        return slide

    @staticmethod
    def rgb(colour: str):
        from pptx.dml.color import RGBColor

        return RGBColor.from_string(colour.lstrip("#"))

    def fill(self, shape, colour: str | None, line: str | None = None, dashed: bool = False):
        from pptx.enum.dml import MSO_LINE_DASH_STYLE

        if colour and colour != "none":
            shape.fill.solid()
            shape.fill.fore_color.rgb = self.rgb(colour)
        else:
            shape.fill.background()
        if line:
            shape.line.color.rgb = self.rgb(line)
            if dashed:
                shape.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        else:
            shape.line.fill.background()
        self.no_shadow(shape)

    @staticmethod
    def no_shadow(shape):
        """No shadow, in PowerPoint (empty effect list) and LibreOffice (no theme effect)."""
        from pptx.oxml.ns import qn

        shape.shadow.inherit = False
        style = shape._element.find(qn("p:style"))
        if style is not None:
            style.find(qn("a:effectRef")).set("idx", "0")

    def box(self, slide, x, y, w, h, text, size=20, bold=False, colour=INK, align="left", font="Arial", anchor="top"):
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = shape.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
        for i, line in enumerate(text.split("\n") if isinstance(text, str) else text):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}[align]
            run = paragraph.add_run()
            run.text = line
            run.font.size, run.font.bold, run.font.name = Pt(size), bold, font
            run.font.color.rgb = self.rgb(colour)
        return shape

    def bullets(self, slide, x, y, w, h, items, size=24, space=14):
        """items: strings, or (bold lead, rest) pairs."""
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = shape.text_frame
        frame.word_wrap = True
        for i, item in enumerate(items):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.space_after = Pt(space)
            lead, rest = item if isinstance(item, tuple) else ("", item)
            for text, bold, colour in (("▪ ", False, GOLD), (lead, True, WINE), (rest, False, INK)):
                if text:
                    run = paragraph.add_run()
                    run.text = text
                    run.font.size, run.font.bold, run.font.name = Pt(size), bold, "Arial"
                    run.font.color.rgb = self.rgb(colour)
        return shape

    def table(self, slide, x, y, w, rows, widths, size=18, header_size=16, row_h=0.55):
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_table(
            len(rows), len(rows[0]), Inches(x), Inches(y), Inches(w), Inches(row_h * len(rows))
        )
        table = shape.table
        for j, width in enumerate(widths):
            table.columns[j].width = Inches(width)
        for i, row in enumerate(rows):
            table.rows[i].height = Inches(row_h)
            for j, value in enumerate(row):
                cell = table.cell(i, j)
                cell.text = ""
                run = cell.text_frame.paragraphs[0].add_run()
                run.text = str(value)
                run.font.name = "Arial"
                run.font.size = Pt(header_size if i == 0 else size)
                run.font.bold = i == 0 or j == 0
                run.font.color.rgb = self.rgb("#FFFFFF" if i == 0 else (WINE if j == 0 else INK))
                cell.fill.solid()
                cell.fill.fore_color.rgb = self.rgb(WINE if i == 0 else ("#F7F2F3" if i % 2 else "#FFFFFF"))
                cell.margin_top = cell.margin_bottom = Inches(0.04)
        return shape


def title_slide(deck: Deck, facts: RunFacts, model: Lineage) -> None:
    from pptx.util import Inches

    source = "échantillon de démonstration (données synthétiques)" if facts.from_sample else "fichiers réels du mois"
    notes = (
        f"Objet : montrer au COPIL l'automatisation du rapport mensuel de chiffre d'affaires (CA) avec Kestra.\n"
        f"Les chiffres de cette présentation viennent d'une vraie exécution du pipeline : période {facts.summary['period']}, "
        f"exécution {facts.summary['run_id']}, {source}.\n"
        "Déroulé (15 min) : besoin, Kestra en mots simples, workflow, démonstration, contrôles, robustesse, résultats, suite."
    )
    slide = deck.slide(None, notes)
    background = slide.shapes.add_shape(1, 0, 0, deck.prs.slide_width, deck.prs.slide_height)
    deck.fill(background, WINE)
    band = slide.shapes.add_shape(1, Inches(0.9), Inches(3.6), Inches(2.2), Inches(0.08))
    deck.fill(band, GOLD)
    deck.box(
        slide,
        0.9,
        1.45,
        12.0,
        2.0,
        "Rapport mensuel de chiffre d'affaires :\nautomatisé et contrôlé",
        size=42,
        bold=True,
        colour="#FFFFFF",
    )
    deck.box(
        slide, 0.9, 3.9, 11.5, 0.7, "BottleNeck · Comité de pilotage · Démonstration Kestra", size=26, colour="#F3E6EA"
    )
    deck.box(
        slide,
        0.9,
        4.7,
        11.5,
        1.0,
        f"Chiffres issus d'une exécution réelle du pipeline : mois {facts.summary['period']}, {source}",
        size=18,
        colour="#E8D7A0",
    )


def context_slide(deck: Deck, facts: RunFacts) -> None:
    from bottleneck_pipeline.labels_fr import REMOVAL_REASONS

    removed = facts.summary.get("removed_rows", {})
    details = "; ".join(
        f"{table} : " + ", ".join(f"{n} × {REMOVAL_REASONS.get(reason, reason)}" for reason, n in reasons.items())
        for table, reasons in removed.items()
    )
    sources = ", ".join(
        f"{s['file']} ({fr_number(s['rows'])} lignes)" for s in facts.summary.get("sources", {}).values()
    )
    notes = (
        "Le besoin est récurrent : chaque mois, le CA par produit et le CA total, plus deux listes pour les responsables "
        "produit (vins premium et vins ordinaires).\n"
        f"Trois fichiers à croiser : {sources}. La méthode de nettoyage et de rapprochement a été définie par le data analyst.\n"
        "Aujourd'hui c'est manuel : copier-coller, formules, risque d'oubli et d'erreur, et personne ne vérifie "
        "systématiquement avant l'envoi.\n"
        f"Ce qu'il a fallu écarter ce mois-ci avant de calculer (lignes retirées par motif) : {details}."
    )
    slide = deck.slide("Le besoin : un rapport juste, chaque mois", notes)
    deck.bullets(
        slide,
        0.8,
        1.7,
        11.8,
        5.0,
        [
            ("Chaque mois : ", "le chiffre d'affaires par produit et le total (Excel)"),
            ("Pour les responsables produit : ", "la liste des vins premium et celle des vins ordinaires"),
            ("Aujourd'hui : ", "trois fichiers (ERP, site web, table de liaison) croisés à la main"),
            ("Les risques : ", "doublons, prix manquants, jointure ratée… et un rapport faux envoyé"),
        ],
        size=26,
        space=22,
    )


def kestra_slide(deck: Deck, model: Lineage) -> None:
    schedule = next((n.lines[0] for n in model.of_kind("trigger")), "à la date prévue")
    channels = ", ".join(channel_names(model)) or "journal"
    rows = [
        ("Concept", "En clair", "Comme…"),
        ("Flow", "la suite complète des étapes du mois", "une recette"),
        ("Tâche", "une étape : lire, nettoyer, calculer", "une ligne de la recette"),
        ("Subflow", "un flow réutilisable appelé par un autre", "une fiche technique"),
        ("Trigger", f"le lancement automatique : {schedule}", "un réveil"),
        ("Namespace files", "le code et les classeurs du mois, rangés dans Kestra", "un placard partagé"),
        (
            "Retry",
            "on réessaie si la panne est passagère, jamais si les données sont fausses",
            "rappeler si ça sonne occupé",
        ),
        ("Alerting", f"prévenir quand ça casse : {channels}", "l'alarme incendie"),
    ]
    notes = (
        "Kestra est l'outil d'orchestration choisi par la DSI : il lance les étapes dans l'ordre, garde les fichiers "
        "de chaque exécution, les journaux et l'historique.\n"
        f"Ici : un flow parent {model.flow_id} dans le namespace {model.namespace}, qui appelle un subflow par étape ; "
        "chaque étape appelle son propre subflow de contrôle qualité.\n"
        f"Trigger : {schedule}. Retry : {retry_text(model)}, uniquement pour les pannes techniques.\n"
        f"Alerting : branche errors du flow, canaux {channels}."
    )
    slide = deck.slide("Kestra en mots simples", notes)
    deck.table(slide, 0.6, 1.55, 12.1, rows, [2.4, 6.9, 2.8], size=17, header_size=16, row_h=0.62)


def add_workflow_slide(deck: Deck, model: Lineage) -> None:
    """The lineage drawn with native shapes and connectors (same model and layout as the .drawio)."""
    from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.oxml.ns import qn
    from pptx.util import Emu, Inches, Pt

    notes = [
        f"Le workflow complet, dessiné à partir des fichiers du flow {model.flow_id} (même modèle que docs/lineage.drawio).",
        "Fichiers échangés :",
    ]
    name = lambda n: f"{n.title} ({n.lines[-1]})" if n.kind == "test" else n.title  # noqa: E731
    for edge in model.edges:
        if edge.files:
            notes.append(
                f"- {name(model.nodes[edge.source])} → {name(model.nodes[edge.target])} : {', '.join(edge.files)}"
            )
    slide = deck.slide("Le workflow complet", "\n".join(notes))
    boxes, routes, (width, height) = layout(model, SLIDE_METRICS)
    area_x, area_y, area_w, area_h = 0.35, 1.4, 12.63, 5.55
    scale = min(area_w / width, area_h / height)
    ox = area_x + (area_w - width * scale) / 2
    oy = area_y
    to_emu = lambda v, o: Emu(int(Inches(o + v * scale)))  # noqa: E731
    size_emu = lambda v: Emu(int(Inches(v * scale)))  # noqa: E731
    shape_of = {
        "rounded": MSO_SHAPE.ROUNDED_RECTANGLE,
        "hexagon": MSO_SHAPE.HEXAGON,
        "note": MSO_SHAPE.FOLDED_CORNER,
        "frame": MSO_SHAPE.ROUNDED_RECTANGLE,
    }
    for node in sorted(model.nodes.values(), key=lambda n: n.kind != "frame"):
        b = boxes[node.id]
        fill, stroke, font, kind = STYLE[node.kind]
        shape = slide.shapes.add_shape(shape_of[kind], to_emu(b.x, ox), to_emu(b.y, oy), size_emu(b.w), size_emu(b.h))
        shape.name = node.id
        deck.fill(shape, fill if kind != "frame" else None, stroke, dashed=kind == "frame")
        if kind in ("rounded", "frame"):
            shape.adjustments[0] = 0.04 if kind == "frame" else 0.12
        frame = shape.text_frame
        frame.word_wrap = True
        frame.margin_left = frame.margin_right = Inches(0.04)
        frame.margin_top = frame.margin_bottom = Inches(0.02)
        frame.vertical_anchor = MSO_ANCHOR.TOP if kind == "frame" else MSO_ANCHOR.MIDDLE
        detail = {
            "trigger": node.lines[:1],
            "channel": tuple("toujours" if line == "toujours" else "si activé" for line in node.lines[:1]),
        }.get(node.kind, ())
        size = 11 if node.kind in ("stage", "step", "trigger", "errors") else 10
        for i, (text, font_size, bold) in enumerate([(node.title, size, True)] + [(line, 9, False) for line in detail]):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.alignment = (
                {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT}[frame_align(node)]
                if kind == "frame"
                else PP_ALIGN.CENTER
            )
            run = paragraph.add_run()
            run.text = text
            run.font.size, run.font.bold, run.font.name = Pt(font_size), bold, "Arial"
            run.font.color.rgb = deck.rgb(font)
    for edge in model.edges:
        points = routes[edge.id].points
        colour = {"data": "#555555", "control": "#2F5C8A", "alert": ALERT}[edge.kind]
        for k, (a, b) in enumerate(zip(points, points[1:])):
            line = slide.shapes.add_connector(
                MSO_CONNECTOR.STRAIGHT, to_emu(a[0], ox), to_emu(a[1], oy), to_emu(b[0], ox), to_emu(b[1], oy)
            )
            line.name = f"e-{edge.id}-{k}"
            line.line.color.rgb = deck.rgb(colour)
            line.line.width = Pt(1.25)
            deck.no_shadow(line)
            ln = line.line._get_or_add_ln()
            if edge.kind != "data":
                dash = ln.makeelement(qn("a:prstDash"), {"val": "dash"})
                ln.append(dash)
            if k == len(points) - 2:
                ln.append(ln.makeelement(qn("a:tailEnd"), {"type": "triangle", "w": "med", "len": "med"}))


def demo_slide(deck: Deck, model: Lineage) -> None:
    from pptx.util import Inches

    inbox = model.nodes.get("frame-inputs")
    folder = inbox.lines[0].split(":", 1)[-1].strip() if inbox and inbox.lines else "inbox/"
    files = ", ".join(n.title for n in model.of_kind("input"))
    outputs = ", ".join(n.title for n in model.of_kind("deliverable"))
    steps = [
        ("1. ", f"Ouvrir le namespace {model.namespace}"),
        ("2. ", f"Namespace Files : déposer {files} dans {folder}"),
        ("3. ", f"Flow {model.flow_id} : « Execute », choisir la période"),
        ("4. ", "Suivre l'exécution : vue Gantt, onglet Logs"),
        ("5. ", "Onglet Outputs : télécharger le rapport et les extractions"),
    ]
    notes = (
        "Démonstration dans l'interface Kestra (≈ 5 min) :\n"
        f"1. Namespaces > {model.namespace}.\n"
        f"2. Namespace Files > dossier {folder} : glisser {files} (ce sont les fichiers que le déclenchement du 15 lit).\n"
        f"3. Flows > {model.flow_id} > Execute : saisir la période (AAAA-MM) ; laisser vide = mois en cours.\n"
        "4. Gantt : les cinq étapes et leurs contrôles s'enchaînent ; Logs : une ligne par étape, en clair.\n"
        f"5. Outputs : {outputs}.\n"
        "Montrer ensuite une exécution en échec (un fichier avec un doublon de prix) : arrêt au contrôle, message en français, rien de publié.\n"
        "Sans serveur Kestra, la même chaîne se lance en local avec la commande affichée (même code, mêmes contrôles)."
    )
    slide = deck.slide("Démonstration", notes)
    deck.box(slide, 0.8, 1.55, 7.4, 0.5, "Dans Kestra", size=24, bold=True, colour=WINE)
    deck.bullets(slide, 0.8, 2.15, 7.4, 4.6, steps, size=21, space=12)
    panel = slide.shapes.add_shape(1, Inches(8.55), Inches(1.55), Inches(4.3), Inches(3.6))
    deck.fill(panel, "#F3E6EA")
    deck.box(slide, 8.75, 1.7, 3.9, 0.5, "En local, sans serveur", size=22, bold=True, colour=WINE)
    deck.box(
        slide,
        8.75,
        2.35,
        3.9,
        2.2,
        "bottleneck run\n  --input dossier/\n  --period 2026-11",
        size=18,
        font="Liberation Mono",
        colour=INK,
    )
    deck.box(
        slide, 8.75, 3.75, 3.9, 1.2, "Même code, mêmes contrôles ; résultat dans output/2026-11/", size=17, colour=GREY
    )


def tests_slide(deck: Deck, facts: RunFacts, text: dict) -> None:
    defects = fault_injection_defects()
    by_family = text["by_family"]
    rows = [("Famille de contrôles", "Nombre", "Ce qu'elle empêche")]
    for family in FAMILY_ORDER + tuple(sorted(set(by_family) - set(FAMILY_ORDER))):
        if by_family.get(family):
            name, stops = FAMILY_FR.get(family, (family, ""))
            rows.append((name, str(by_family[family]), stops))
    per_family = {}
    for result in facts.quality["results"]:
        per_family.setdefault(result["family"], []).append(result["id"])
    notes = [
        f"{text['checks']} contrôles ont tourné pendant cette exécution : {text['passed']} réussis, "
        f"{text['warnings']} avertissement(s) (non bloquants), {facts.quality['errors']} bloquant(s).",
        "Après chaque étape, son subflow de contrôle s'exécute : un contrôle bloquant en échec arrête tout, rien n'est publié.",
        f"Catalogue complet : commande « bottleneck checks » ({len(catalogue())} règles).",
        f"Tests automatiques : {len(defects)} défauts injectés volontairement dans des copies des fichiers "
        f"(colonne manquante, prix en texte, doublon de prix, lien en double, ventes négatives…) ; chacun doit arrêter "
        "l'exécution au bon contrôle avec un message en français.",
        "",
        "Détail par famille :",
    ]
    for family, ids in per_family.items():
        notes.append(f"- {FAMILY_FR.get(family, (family,))[0]} : {', '.join(ids)}")
    if facts.quality.get("summary_fr"):
        notes += ["", "Résumé du rapport qualité :", facts.quality["summary_fr"]]
    slide = deck.slide("Les contrôles qualité : ce qu'ils attrapent", "\n".join(notes))
    deck.table(slide, 0.6, 1.5, 12.1, rows, [3.7, 1.5, 6.9], size=16, header_size=15, row_h=0.5)
    y = 1.5 + 0.5 * len(rows) + 0.25
    deck.box(
        slide,
        0.6,
        y,
        12.1,
        0.5,
        f"{text['checks']} contrôles à chaque exécution · {text['passed']} réussis · "
        f"{text['warnings']} avertissement(s) ce mois-ci",
        size=20,
        bold=True,
        colour=WINE,
    )
    deck.box(
        slide,
        0.6,
        y + 0.55,
        12.1,
        0.5,
        f"+ {len(defects)} pannes simulées dans les tests automatiques : toutes arrêtées au bon contrôle",
        size=18,
        colour=INK,
    )


def robustness_slide(deck: Deck, model: Lineage) -> None:
    channels = ", ".join(channel_names(model)) or "journal"
    notes = (
        "Quatre classes d'échec, chacune avec son code de sortie :\n"
        "- données rejetées (3) : jamais relancé, les mêmes fichiers échoueraient de la même façon ; le message "
        "en français nomme le fichier, la colonne, les lignes et quoi corriger ; on corrige et on relance le mois ;\n"
        f"- panne technique (4) : DuckDB verrouillé, disque plein, dossier inaccessible ; relancé automatiquement ({retry_text(model)}) ;\n"
        "- bug (1) : arrêt, trace technique pour l'équipe data ;\n"
        "- succès (0) : le dossier du mois est publié d'un seul coup.\n"
        f"L'alerte (branche errors du flow) part par : {channels}, avec l'étape en échec et le lien vers l'exécution.\n"
        "Rien n'est publié en cas d'échec ; le rapport du mois précédent reste intact ; les preuves sont gardées (journal, rapport qualité)."
    )
    slide = deck.slide("Quand quelque chose casse", notes)
    deck.bullets(
        slide,
        0.8,
        1.7,
        11.8,
        5.0,
        [
            ("Données incorrectes : ", "arrêt immédiat, jamais relancé, message clair au propriétaire du fichier"),
            ("Panne technique : ", f"relance automatique ({retry_text(model)})"),
            ("Alerte : ", f"{channels}, avec l'étape en échec et le lien"),
            ("Arrêt contrôlé : ", "rien n'est publié, le mois précédent reste intact"),
            ("Journaux : ", "une ligne par étape et par contrôle, lisible et archivée"),
        ],
        size=24,
        space=18,
    )


def results_slide(deck: Deck, facts: RunFacts, text: dict) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Inches, Pt

    s = facts.summary
    stages = " ; ".join(
        f"{name} {fr_number(v['rows_in'])} → {fr_number(v['rows_out'])} lignes" for name, v in s["stages"].items()
    )
    notes = (
        f"Résultats de l'exécution {s['run_id']} (mois {s['period']}), lus dans run_summary.json et les extractions.\n"
        f"CA total {text['ca_total']} sur {text['products']} produits.\n"
        f"Premium : {text['premium_count']} vins, {text['premium_ca']} ({text['premium_share_ca']} du CA). "
        f"Ordinaires : {text['ordinary_count']} vins, {text['ordinary_ca']}.\n"
        f"Prix moyen {text['mean']}, écart-type {text['std']} (population) : un vin est premium quand son z-score dépasse "
        f"{text['z']}, soit un prix supérieur à {text['cutoff']}.\n"
        f"Volumes par étape : {stages}."
    )
    slide = deck.slide(f"Résultats du mois {s['period']}", notes)
    cards = [
        ("CA total", text["ca_total"]),
        ("Produits", text["products"]),
        ("Vins premium", f"{text['premium_count']} · {text['premium_ca']}"),
        ("Vins ordinaires", f"{text['ordinary_count']} · {text['ordinary_ca']}"),
    ]
    for i, (label, value) in enumerate(cards):
        y = 1.55 + i * 1.12
        card = slide.shapes.add_shape(1, Inches(0.6), Inches(y), Inches(6.2), Inches(0.98))
        deck.fill(card, "#F7F2F3", "#E3D3D7")
        deck.box(slide, 0.75, y + 0.05, 6.0, 0.35, label, size=15, colour=GREY)
        deck.box(slide, 0.75, y + 0.36, 6.0, 0.6, value, size=26, bold=True, colour=WINE)
    deck.box(
        slide,
        0.6,
        6.05,
        6.3,
        0.9,
        f"Prix moyen {text['mean']} · écart-type {text['std']}\nPremium au-delà de {text['cutoff']} (z-score > {text['z']})",
        size=15,
        colour=INK,
    )
    data = CategoryChartData()
    data.categories = ["Nombre de vins", "Chiffre d'affaires"]
    premium_ca = float(sum((w.revenue for w in facts.premium), Decimal(0)))
    ordinary_ca = float(sum((w.revenue for w in facts.ordinary), Decimal(0)))
    data.add_series("Premium", (s["premium_count"], premium_ca))
    data.add_series("Ordinaires", (s["ordinary_count"], ordinary_ca))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_STACKED_100, Inches(7.2), Inches(1.5), Inches(5.6), Inches(5.4), data
    )
    frame.name = "chart-premium-split"
    chart = frame.chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Premium / ordinaires : poids"
    chart.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(16)
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(14)
    chart.category_axis.tick_labels.font.size = Pt(14)
    chart.value_axis.tick_labels.font.size = Pt(12)
    chart.value_axis.has_major_gridlines = False
    plot = chart.plots[0]
    plot.gap_width = 60
    for series, colour in zip(plot.series, (GOLD, WINE)):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = deck.rgb(colour)
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.show_percentage = False
    labels.number_format = "0.0%"
    labels.number_format_is_linked = False
    labels.font.size = Pt(13)
    labels.font.color.rgb = deck.rgb("#FFFFFF")
    # 100 % stacked: label each bar with its share, written by us (PowerPoint shows values otherwise)
    totals = (s["premium_count"] + s["ordinary_count"], premium_ca + ordinary_ca)
    for series, values in zip(plot.series, ((s["premium_count"], premium_ca), (s["ordinary_count"], ordinary_ca))):
        for k, value in enumerate(values):
            label = series.points[k].data_label
            label.has_text_frame = True
            label.text_frame.text = fr_percent(value, totals[k])
            label.text_frame.paragraphs[0].runs[0].font.size = Pt(14)
            label.text_frame.paragraphs[0].runs[0].font.bold = True
            label.text_frame.paragraphs[0].runs[0].font.color.rgb = deck.rgb(
                "#FFFFFF" if series.name == "Ordinaires" else INK
            )


def top_products_slide(deck: Deck, facts: RunFacts) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION
    from pptx.util import Inches, Pt

    top = facts.top(10)
    short = lambda name: name if len(name) <= 48 else name[:47] + "…"  # noqa: E731
    notes = ["Les 10 produits au plus fort chiffre d'affaires (prix × quantité vendue) :"]
    notes += [
        f"{i}. {w.name} (produit {w.product_id}, {'premium' if w.premium else 'ordinaire'}) : "
        f"{fr_euros(w.revenue)}, prix {fr_euros(w.price)}"
        for i, w in enumerate(top, 1)
    ]
    slide = deck.slide("Top 10 des produits par chiffre d'affaires", "\n".join(notes))
    data = CategoryChartData(number_format='#,##0" €"')
    data.categories = [short(w.name) + (" ★" if w.premium else "") for w in top]
    data.add_series("CA (€)", [float(w.revenue) for w in top])
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.BAR_CLUSTERED, Inches(0.6), Inches(1.45), Inches(12.1), Inches(5.2), data
    )
    frame.name = "chart-top-products"
    chart = frame.chart
    chart.has_title = False
    chart.has_legend = False
    chart.category_axis.reverse_order = True
    chart.category_axis.tick_labels.font.size = Pt(13)
    chart.value_axis.visible = False
    chart.value_axis.has_major_gridlines = False
    plot = chart.plots[0]
    plot.gap_width = 45
    plot.series[0].format.fill.solid()
    plot.series[0].format.fill.fore_color.rgb = deck.rgb(WINE)
    plot.has_data_labels = True
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    plot.data_labels.font.size = Pt(13)
    for point, wine in zip(plot.series[0].points, top):
        point.data_label.has_text_frame = True
        point.data_label.text_frame.text = fr_euros(wine.revenue, 0)
        point.data_label.text_frame.paragraphs[0].runs[0].font.size = Pt(13)
    deck.box(slide, 0.6, 6.6, 12.1, 0.4, "★ vin premium", size=13, colour=GREY)


def next_steps_slide(deck: Deck, facts: RunFacts, model: Lineage, text: dict) -> None:
    schedule = next((n.lines[0] for n in model.of_kind("trigger")), "à la date prévue")
    channels = french_list(channel_names(model, optional_only=True))
    notes = (
        "Ce qui reste à faire pour passer en production :\n"
        "- déployer les flows et le code sur le serveur Kestra de la DSI (scripts/deploy.py, voir docs/DEPLOY.md) ; "
        "le pipeline n'a pas encore tourné sur un serveur Kestra, seulement en local et dans les tests ;\n"
        f"- activer les alertes {channels or ''} (secrets et clés dans Kestra) et choisir les destinataires ;\n"
        f"- première exécution planifiée : {schedule} ;\n"
        f"- les {text['warnings']} avertissement(s) de ce mois sont des corrections à faire dans les fichiers sources "
        "(détail dans le rapport qualité) ;\n"
        "- chaque mois : rapport qualité HTML (rapport_qualite.html) pour suivre les volumes et les contrôles."
    )
    slide = deck.slide("Prochaines étapes", notes)
    deck.bullets(
        slide,
        0.8,
        1.7,
        11.8,
        5.0,
        [
            ("Installer ", "sur le serveur Kestra de la DSI et faire un premier mois réel"),
            (
                "Brancher les alertes ",
                f"{channels} et choisir qui les reçoit" if channels else "et choisir qui les reçoit",
            ),
            ("Lancement automatique : ", schedule),
            ("Faire corriger ", "à la source les avertissements signalés chaque mois"),
            ("Suivre ", "chaque mois le rapport qualité (volumes, contrôles)"),
        ],
        size=24,
        space=18,
    )


# =============================================================================== command ====


def write_lineage(root: Path, drawio: Path, svg: Path | None) -> list[Path]:
    model = build_lineage(root)
    written = []
    for path, text in ((drawio, to_drawio(model)), (svg, to_svg(model) if svg else None)):
        if path and text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root", type=Path, default=REPO, help="repository holding flows/ and subflows/ (default: this one)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lineage = sub.add_parser("lineage", help="write the draw.io lineage diagram (and its SVG preview) from the flows")
    lineage.add_argument("--output", type=Path, default=None, help=f"default: {DRAWIO}")
    lineage.add_argument("--svg", type=Path, default=None, help=f"SVG preview (default: {SVG}; 'none' to skip)")
    lineage.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files differ from the flows"
    )
    presentation = sub.add_parser("presentation", help="write the COPIL deck from a run folder")
    presentation.add_argument("--run", type=Path, required=True, help="a published run folder, OUTPUT/PERIOD")
    presentation.add_argument("--output", type=Path, default=None, help=f"default: {PPTX}")
    args = parser.parse_args(argv)
    root = args.root.resolve()

    if args.command == "lineage":
        drawio = args.output or root / DRAWIO
        svg = None if str(args.svg) == "none" else (args.svg or root / SVG)
        if args.check:
            model = build_lineage(root)
            stale = [
                str(p)
                for p, text in ((drawio, to_drawio(model)), (svg, to_svg(model) if svg else None))
                if p and (not p.is_file() or p.read_text(encoding="utf-8") != text)
            ]
            if stale:
                print(f"stale: {', '.join(stale)}; run: python scripts/make_docs.py lineage", file=sys.stderr)
                return 1
            return 0
        for path in write_lineage(root, drawio, svg):
            print(f"wrote {path}")
        return 0
    output = args.output or root / PPTX
    print(f"wrote {build_presentation(args.run, output, root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
