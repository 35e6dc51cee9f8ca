"""The lineage model: nodes and edges of the whole pipeline, read from the Kestra flows.

The parent flow is the flow under ``flows/`` that calls subflows; its Subflow tasks are the
stages (in order), the Subflow tasks inside each stage are its test subflows, its other runnable
tasks are steps (``finalize``) and gates (``Fail``/``Assert``); its FILE inputs are the
workbooks, its FILE outputs the deliverables, its ``triggers`` the schedule and its ``errors``
branch the alert path. Every edge carries the names of the files it moves, found by following
the ``{{ outputs.<task>.outputs.<id> }}`` / ``outputFiles['...']`` / ``{{ inputs.<id> }}``
expressions down to the ``inputFiles``/``outputFiles`` of the Commands tasks. Nothing about the
stages or the file names is written here. The flows are read by ``flow_model`` (one rule for
every reader); the test subflows' check families come from the package's gate registry.

The French labels of the diagram's boxes are here (they are the diagram's, drawn the same in
draw.io, the SVG and the deck's workflow slide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import flow_model

from . import REPO

TASK_OUTPUT = re.compile(r"outputs\.(\w+)\.outputs\.(\w+)")
TASK_FILE = re.compile(r"outputs\.(\w+)\.outputFiles\[\s*['\"]([^'\"]+)['\"]\s*\]")
FLOW_INPUT = re.compile(r"\binputs\.(\w+)")
KV_NAME = re.compile(r"kv\(\s*['\"]([^'\"]+)['\"]")
CHECK_STAGE = re.compile(r"\bcheck\s+(\w+)")

Flows = dict[tuple[str, str], dict]


def load_flows(root: Path) -> Flows:
    """Every flow of the repository (flow_model's rule), by (namespace, id); ``_path`` is its file."""
    return {(f.namespace, f.id): dict(f.doc, _path=f.rel_path) for f in flow_model.load_flows(root)}


walk = flow_model.walk
is_flowable = flow_model.is_flowable
is_subflow = flow_model.is_subflow_call


def is_step(task: dict) -> bool:
    """A runnable task that moves files (python.Commands, Script, DuckDB queries...)."""
    return any(k in task for k in ("commands", "script", "inputFiles", "outputFiles", "sql"))


def child_flow(flows: Flows, caller: dict, task: dict) -> dict:
    key = flow_model.subflow_call(task, caller["namespace"]).target
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
    """A file's name as the diagram shows it: its path without the task's working folder
    (``out/erp.parquet`` -> ``erp.parquet``), so that ``out/machine/vins_premium.csv`` stays
    ``machine/vins_premium.csv``, not a second ``vins_premium.csv``."""
    parts = [p for p in PurePosixPath(str(path).replace("nsfile://", "")).parts if p not in ("/", "")]
    return "/".join(parts[1:] if len(parts) > 1 else parts)


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


def stage_families(stage: str) -> list[str]:
    """The families of the gates registered for a stage, in the package's family order."""
    from bottleneck_pipeline.checks.model import FAMILIES

    found = {gate.family for gate in registered_gates() if gate.stage == stage}
    return [f for f in FAMILIES if f in found]


def registered_gates() -> list:
    """Every gate of the package's registry (importing the checks package registers them)."""
    import bottleneck_pipeline.checks  # noqa: F401  (registration)
    from bottleneck_pipeline.checks.model import REGISTRY

    return [gate for gates in REGISTRY.values() for gate in gates]


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
        f"{labels_fr.MACHINE_DIR}/{labels_fr.PREMIUM_FILE}": "CSV pour programmes",
        f"{labels_fr.MACHINE_DIR}/{labels_fr.ORDINARY_FILE}": "CSV pour programmes",
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

    file_inputs = {f"input {s.get('id')}" for s in parent.get("inputs") or [] if is_file_input(parent, s.get("id"))}
    inbox = sorted(
        {
            str(PurePosixPath(ref.path).parent).strip("/")
            for ref in flow_model.namespace_file_refs(parent)
            if ref.kind == "nsfile" and ref.where in file_inputs
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
