"""The generated lineage (scripts/make_docs.py lineage) says what the flows say.

- docs/lineage.drawio (and its SVG preview) is exactly what the generator writes from the flows
  now, and is a well-formed draw.io diagram with a node for every stage and test subflow;
- the generator reads any flow layout, not just this one (a synthetic repository).

The COPIL deck built from a run is tested in tests/test_deck.py.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import flow_model  # noqa: E402
import make_docs  # noqa: E402
from docs_generator import DRAWIO, SVG  # noqa: E402
from docs_generator.drawio import to_drawio  # noqa: E402
from docs_generator.lineage import build_lineage, cron_fr  # noqa: E402
from docs_generator.svg import to_svg  # noqa: E402

REGENERATE = "python scripts/make_docs.py lineage"


# --- the flows, as every reader reads them (scripts/flow_model.py) ----------------------------


def read_flows(root: Path) -> dict[str, dict]:
    return {f.id: dict(f.doc, _dir=f.folder) for f in flow_model.load_flows(root)}


def subflow_calls(flow: dict) -> list[dict]:
    """The Subflow tasks of a flow's main branch (not its errors branch), nested ones included."""
    return [t for t in flow_model.walk(flow.get("tasks")) if flow_model.is_subflow_call(t)]


def parent_flow(flows: dict[str, dict]) -> dict:
    parents = [f for f in flows.values() if f["_dir"] == "flows" and subflow_calls(f)]
    assert len(parents) == 1, [f["id"] for f in parents]
    return parents[0]


def drawio_cells(text: str) -> tuple[dict[str, ET.Element], list[ET.Element], ET.Element]:
    root = ET.fromstring(text)
    assert root.tag == "mxfile"
    model = root.find("./diagram/mxGraphModel")
    assert model is not None, "plain draw.io XML expected: <mxfile><diagram><mxGraphModel>"
    cells = model.findall("./root/mxCell")
    vertices = {c.get("id"): c for c in cells if c.get("vertex") == "1"}
    edges = [c for c in cells if c.get("edge") == "1"]
    return vertices, edges, root


def geometry(cell: ET.Element) -> tuple[float, float, float, float]:
    g = cell.find("mxGeometry")
    return tuple(float(g.get(k, 0)) for k in ("x", "y", "width", "height"))


def plain(value: str) -> str:
    """The text of an HTML label."""
    return " ".join("".join(ET.fromstring(f"<x>{value.replace('<br>', ' ')}</x>").itertext()).split())


# --- the lineage ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lineage_text() -> str:
    return to_drawio(build_lineage(REPO))


def test_committed_lineage_is_what_the_flows_give_now(lineage_text):
    for path, expected in (
        (REPO / DRAWIO, lineage_text),
        (REPO / SVG, to_svg(build_lineage(REPO))),
    ):
        assert path.is_file(), f"{path.relative_to(REPO)} is missing: run `{REGENERATE}`"
        committed = path.read_text(encoding="utf-8").replace("\r\n", "\n")  # a CRLF checkout is not stale
        assert committed == expected, (
            f"{path.relative_to(REPO)} is out of date with flows/ and subflows/: "
            f"run `{REGENERATE}` and commit the result"
        )


def test_lineage_is_deterministic_plain_drawio(lineage_text):
    assert to_drawio(build_lineage(REPO)) == lineage_text
    root = ET.fromstring(lineage_text)
    assert root.get("modified") is None and root.get("etag") is None  # no timestamp, no random tag
    diagram = root.find("diagram")
    assert diagram.find("mxGraphModel") is not None and not (diagram.text or "").strip()  # not compressed


def test_lineage_is_a_well_formed_diagram(lineage_text):
    vertices, edges, root = drawio_cells(lineage_text)
    ids = [c.get("id") for c in root.iter("mxCell")]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    page = root.find("./diagram/mxGraphModel")
    width, height = float(page.get("pageWidth")), float(page.get("pageHeight"))
    for edge in edges:
        assert edge.get("source") in vertices and edge.get("target") in vertices, edge.get("id")
        assert edge.find("mxGeometry") is not None
    boxes = {}
    for cell_id, cell in vertices.items():
        x, y, w, h = geometry(cell)
        assert w > 0 and h > 0, cell_id
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, f"{cell_id} is off the page"
        boxes[cell_id] = (x, y, w, h)
    frames = {i for i, c in vertices.items() if "dashed=1" in c.get("style", "")}
    solid = sorted(set(boxes) - frames)
    for i, a in enumerate(solid):
        for b in solid[i + 1 :]:
            (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[a], boxes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} overlaps {b}"
    model = build_lineage(REPO)
    for frame in frames:  # a frame holds its members
        fx, fy, fw, fh = boxes[frame]
        for member in model.nodes[frame].members:
            x, y, w, h = boxes[member]
            assert fx <= x and fy <= y and x + w <= fx + fw and y + h <= fy + fh, f"{member} outside {frame}"


def test_lineage_shows_every_subflow_file_trigger_and_alert(lineage_text):
    flows = read_flows(REPO)
    parent = parent_flow(flows)
    vertices, edges, _ = drawio_cells(lineage_text)
    texts = {i: plain(c.get("value", "")) for i, c in vertices.items()}
    labels = " ".join(plain(e.get("value", "")) for e in edges)
    shown = " ".join(texts.values())

    stages = [call["flowId"] for call in subflow_calls(parent)]
    assert len(stages) >= 2
    for stage in stages:
        child = flows[stage]
        assert f"subflow {stage}" in shown, f"no node for the stage subflow {stage}"
        for test in subflow_calls(child):
            assert f"subflow {test['flowId']}" in shown, f"no node for the test subflow {test['flowId']}"
        for task in child.get("tasks") or []:  # every file a stage writes travels on an edge
            for name in task.get("outputFiles") or []:
                assert Path(name).name in labels or Path(name).name in shown, f"{stage}: {name} not on the diagram"
    for spec in parent.get("inputs") or []:
        if spec["type"] == "FILE":
            assert f"input-{spec['id']}" in vertices, f"input {spec['id']} missing"
            if spec.get("defaults"):
                assert Path(spec["defaults"]).name in shown, f"input {spec['id']}: file name missing"
    for trigger in parent.get("triggers") or []:
        assert f"trigger-{trigger['id']}" in vertices
        if "cron" in trigger:
            schedule = cron_fr(trigger["cron"])
            assert (f"{schedule}, {trigger['timezone']}" if trigger.get("timezone") else schedule) in shown
    for task in parent.get("errors") or []:
        if not any(isinstance(task.get(k), list) for k in ("tasks", "then", "else")):  # flowables hold the channels
            assert f"alert-{task['id']}" in vertices, f"errors task {task['id']} not on the alert path"
    # consecutive stages are joined by an edge naming at least one file
    by_pair = {(e.get("source"), e.get("target")): plain(e.get("value", "")) for e in edges}
    calls = subflow_calls(parent)
    for a, b in zip(calls, calls[1:]):
        assert by_pair.get((f"stage-{a['id']}", f"stage-{b['id']}")), f"no labelled edge {a['id']} -> {b['id']}"


def test_schedule_in_french():
    assert cron_fr("0 9 15 * *") == "le 15 de chaque mois à 9h"
    assert cron_fr("30 6 1 * *") == "le 1er de chaque mois à 6h30"
    assert cron_fr("0 7 * * 1") == "chaque lundi à 7h"
    assert cron_fr("*/5 * * * *").startswith("selon le cron")


MINI_PARENT = """
id: parent
namespace: acme.demo
inputs:
  - {id: source, type: FILE, defaults: "nsfile:///drop/source.xlsx"}
tasks:
  - id: first
    type: io.kestra.plugin.core.flow.Subflow
    namespace: acme.demo
    flowId: step_a
    inputs: {data: "{{ inputs.source }}"}
  - id: maybe
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - id: second
        type: io.kestra.plugin.core.flow.Subflow
        namespace: acme.demo
        flowId: step_b
        inputs: {table: "{{ outputs.first.outputs.table }}"}
errors:
  - {id: shout, type: io.kestra.plugin.core.log.Log, message: failed}
outputs:
  - {id: result, type: FILE, value: "{{ outputs.second.outputs.result }}"}
triggers:
  - {id: nightly, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 2 * * *", timezone: UTC}
"""
MINI_A = """
id: step_a
namespace: acme.demo
inputs: [{id: data, type: FILE}]
tasks:
  - id: run
    type: io.kestra.plugin.scripts.python.Commands
    inputFiles: {in/source.xlsx: "{{ inputs.data }}"}
    commands: [python a.py]
    outputFiles: [out/table.parquet]
  - id: test
    type: io.kestra.plugin.core.flow.Subflow
    namespace: acme.demo
    flowId: step_a_test
    inputs: {table: "{{ outputs.run.outputFiles['out/table.parquet'] }}"}
outputs:
  - {id: table, type: FILE, value: "{{ outputs.run.outputFiles['out/table.parquet'] }}"}
"""
MINI_A_TEST = """
id: step_a_test
namespace: acme.demo
inputs: [{id: table, type: FILE}]
tasks:
  - {id: check, type: io.kestra.plugin.scripts.python.Commands, commands: [python check.py]}
"""
MINI_B = """
id: step_b
namespace: acme.demo
inputs: [{id: table, type: FILE}]
tasks:
  - id: run
    type: io.kestra.plugin.scripts.python.Commands
    inputFiles: {table.parquet: "{{ inputs.table }}"}
    commands: [python b.py]
    outputFiles: [result.csv]
outputs:
  - {id: result, type: FILE, value: "{{ outputs.run.outputFiles['result.csv'] }}"}
"""


def test_generator_reads_any_flow_layout(tmp_path):
    for folder, name, text in (
        ("flows", "parent", MINI_PARENT),
        ("subflows", "step_a", MINI_A),
        ("subflows", "step_a_test", MINI_A_TEST),
        ("subflows", "step_b", MINI_B),
    ):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / f"{name}.yml").write_text(text, encoding="utf-8")
    model = build_lineage(tmp_path)
    assert [n.id for n in model.of_kind("stage")] == ["stage-first", "stage-second"]  # found inside `then`
    assert [n.id for n in model.of_kind("test")] == ["test-step_a_test"]
    assert model.nodes["input-source"].title == "source.xlsx"
    edges = {e.id: e.files for e in model.edges}
    assert edges["stage-first--stage-second"] == ["table.parquet"]
    assert edges["stage-first--test-step_a_test"] == ["table.parquet"]
    assert edges["stage-second--output-result"] == ["result.csv"]
    assert model.nodes["trigger-nightly"].lines == ("chaque jour à 2h, UTC",)
    assert "alert-shout" in model.nodes
    vertices, edge_cells, _ = drawio_cells(to_drawio(model))
    assert all(e.get("source") in vertices and e.get("target") in vertices for e in edge_cells)


def test_each_deliverable_is_drawn_once_under_its_own_name(lineage_text):
    """The machine-readable extracts keep their folder: not a second 'vins_premium.csv'."""
    vertices, _, _ = drawio_cells(lineage_text)
    titles = [plain(c.get("value", "")).split(" ")[0] for i, c in vertices.items() if i.startswith("output-")]
    assert sorted(titles) == [
        "machine/vins_ordinaires.csv",
        "machine/vins_premium.csv",
        "quality_report.json",
        "rapport_ca.xlsx",
        "rapport_qualite.html",
        "run_summary.json",
        "vins_ordinaires.csv",
        "vins_premium.csv",
    ]


def test_the_command_checks_and_writes_the_diagram(tmp_path, capsys):
    assert make_docs.main(["lineage", "--check"]) == 0
    drawio, svg = tmp_path / "lineage.drawio", tmp_path / "lineage.svg"
    drawio.write_text("stale", encoding="utf-8")
    assert make_docs.main(["lineage", "--check", "--output", str(drawio), "--svg", str(svg)]) == 1
    assert f"stale: {drawio}, {svg}" in capsys.readouterr().err
    assert make_docs.main(["lineage", "--output", str(drawio), "--svg", "none"]) == 0
    assert drawio.read_text(encoding="utf-8") == (REPO / DRAWIO).read_text(encoding="utf-8") and not svg.exists()
