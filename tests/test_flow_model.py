"""scripts/flow_model.py: the one rule every reader of the flow files uses (deploy, docs, tests).

A small repository in a temporary folder, written here, with exact expected lists: which files
are flows, the tasks walked through every branch, the subflow calls and the namespace files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import flow_model  # noqa: E402

PARENT = """\
id: parent
namespace: acme.demo
inputs:
  - {id: source, type: FILE, defaults: "nsfile:///inbox/source.xlsx"}
  - {id: label, type: STRING, defaults: plain text}
tasks:
  - id: first
    type: io.kestra.plugin.core.flow.Subflow
    namespace: acme.demo
    flowId: step_a
  - id: maybe
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - id: together
        type: io.kestra.plugin.core.flow.Parallel
        tasks:
          - id: second
            type: io.kestra.plugin.core.flow.Subflow
            flowId: step_b
          - id: report
            type: io.kestra.plugin.scripts.python.Commands
            namespaceFiles: {enabled: true, include: ["/pkg/**"]}
            commands: ["python -m pkg --lookup nsfile://shared.lib/tables/rates.csv"]
    else:
      - id: choose
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ inputs.label }}"
        cases:
          a:
            - {id: case_a, type: io.kestra.plugin.core.flow.Subflow, namespace: other.team, flowId: audit}
        defaults:
          - {id: fallback, type: io.kestra.plugin.core.log.Log, message: none}
errors:
  - {id: alert, type: io.kestra.plugin.core.flow.Subflow, namespace: acme.demo, flowId: notify}
finally:
  - id: idle
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles: {enabled: false, include: ["/never/**"]}
    commands: [echo done]
"""
STEP = """\
id: step_a
namespace: acme.demo
tasks:
  - {id: run, type: io.kestra.plugin.core.log.Log, message: "read nsfile:///inbox/source.xlsx"}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "subflows" / "archive").mkdir(parents=True)
    (tmp_path / "flows" / "parent.yml").write_text(PARENT, encoding="utf-8")
    (tmp_path / "subflows" / "step_a.yaml").write_bytes(STEP.replace("\n", "\r\n").encode())  # .yaml, CRLF
    (tmp_path / "subflows" / "step_b.yml").write_text("id: step_b\nnamespace: acme.demo\ntasks: []\n")
    (tmp_path / "subflows" / "notes.txt").write_text("not a flow")
    (tmp_path / "subflows" / "LOUD.YML").write_text("id: loud\nnamespace: acme.demo\ntasks: []\n")
    (tmp_path / "subflows" / "archive" / "old.yml").write_text("id: old\nnamespace: acme.demo\ntasks: []\n")
    return tmp_path


def test_one_rule_for_the_files(repo):
    assert [p.relative_to(repo).as_posix() for p in flow_model.flow_paths(repo)] == [
        "flows/parent.yml",
        "subflows/step_a.yaml",
        "subflows/step_b.yml",
    ]
    # What the rule leaves out is listed, so that a test can refuse it instead of skipping it.
    assert flow_model.ignored_files(repo) == ["subflows/LOUD.YML", "subflows/archive", "subflows/notes.txt"]


def test_flows_keep_their_exact_text(repo):
    flows = {f.id: f for f in flow_model.load_flows(repo)}
    assert list(flows) == ["parent", "step_a", "step_b"]
    assert flows["step_a"].source == STEP.replace("\n", "\r\n")  # Kestra stores the text it is sent
    assert (flows["step_a"].uid, flows["step_a"].folder, flows["step_a"].rel_path) == (
        "acme.demo.step_a",
        "subflows",
        "subflows/step_a.yaml",
    )


def test_tasks_are_walked_through_every_branch_in_document_order(repo):
    parent = flow_model.read_flow(repo / "flows" / "parent.yml", repo)
    assert [t["id"] for t in parent.tasks()] == [
        "first",
        "maybe",
        "together",
        "second",
        "report",
        "choose",
        "case_a",  # Switch: its cases, then its defaults branch
        "fallback",
        "alert",  # errors
        "idle",  # finally
    ]
    assert [t["id"] for t in flow_model.walk(parent.doc["tasks"]) if flow_model.is_flowable(t)] == [
        "maybe",
        "together",
        "choose",
    ]


def test_subflow_calls_name_their_namespace_and_flow(repo):
    parent = flow_model.read_flow(repo / "flows" / "parent.yml", repo)
    assert [(c.task_id, c.namespace, c.flow_id) for c in parent.subflow_calls()] == [
        ("first", "acme.demo", "step_a"),
        ("second", "acme.demo", "step_b"),  # no namespace: the caller's
        ("case_a", "other.team", "audit"),
        ("alert", "acme.demo", "notify"),
    ]


def test_namespace_files_referenced(repo):
    parent = flow_model.read_flow(repo / "flows" / "parent.yml", repo)
    assert [(r.where, r.kind, r.namespace, r.path) for r in parent.namespace_file_refs()] == [
        ("input source", "nsfile", "acme.demo", "inbox/source.xlsx"),
        ("task report", "nsfile", "shared.lib", "tables/rates.csv"),
        ("task report", "include", "acme.demo", "pkg/**"),
        # idle's namespaceFiles are disabled: nothing is read
    ]
    step = flow_model.read_flow(repo / "subflows" / "step_a.yaml", repo)
    assert [(r.where, r.path) for r in step.namespace_file_refs()] == [("task run", "inbox/source.xlsx")]


def test_a_dag_entry_is_walked_into():
    dag = [{"task": {"id": "inner", "type": "io.kestra.plugin.core.flow.Subflow", "flowId": "x"}, "dependsOn": []}]
    assert [t["id"] for t in flow_model.walk([{"id": "dag", "type": "Dag", "tasks": dag}])] == ["dag", "inner"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("id: a\nnamespace: n\ntasks: [\n", "subflows/bad.yml: not valid YAML"),
        ("id: a\nnamespace: n\n---\nid: b\nnamespace: n\n", "expected exactly one flow"),
        ("- id: a\n", "expected exactly one flow"),
        ("namespace: n\ntasks: []\n", "missing top-level 'id'"),
        ("id: a\nnamespace: ''\n", "missing top-level 'namespace'"),
    ],
)
def test_a_file_that_is_not_one_flow_is_refused_by_name(tmp_path, text, message):
    (tmp_path / "subflows").mkdir()
    (tmp_path / "subflows" / "bad.yml").write_text(text, encoding="utf-8")
    with pytest.raises(flow_model.FlowFileError, match=message):
        flow_model.load_flows(tmp_path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "latin.yml").write_bytes("id: caf\xe9\nnamespace: n\n".encode("latin-1"))
    with pytest.raises(flow_model.FlowFileError, match="flows/latin.yml: not UTF-8 text"):
        flow_model.load_flows(tmp_path)
