"""The Kestra flows, proven offline: static checks against what NOTES.md documents, and dry runs
of the parent flow through a local simulator of Kestra (tests/kestra_offline.py) compared with
`bottleneck run` on the same workbooks. No Kestra server is involved: see docs/KESTRA.md for
what this does and does not prove."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import kestra_offline as ko
from bottleneck_pipeline import STAGES, labels_fr, runner

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
REAL = Path(__file__).resolve().parents[2] / "shared/data/bottleneck-p10"
NOTES = Path(__file__).resolve().parents[2] / "shared/kestra/NOTES.md"
WORKBOOKS = ("erp", "web", "liaison")
PARENT = "flows/monthly_revenue.yml"
STAGE_FLOWS = [f"subflows/{stage}.yml" for stage in STAGES]
TEST_FLOWS = [f"subflows/{stage}_test.yml" for stage in STAGES]
PARIS = "Europe/Paris"


@pytest.fixture(scope="module")
def flows() -> dict[str, ko.FlowFile]:
    return ko.load_flows(REPO)


@pytest.fixture(scope="module")
def ns_paths() -> list[str]:
    return ko.namespace_file_paths(REPO / "namespace_files")


def problems_of(flows, ns_paths) -> list[str]:
    return ko.check_flows(flows, ns_paths)


# ---------------------------------------------------------------------------------------------
# Static checks

def test_the_repository_holds_the_parent_five_stages_and_five_tests(flows):
    assert sorted(flows) == sorted([PARENT, *STAGE_FLOWS, *TEST_FLOWS])
    assert {f.flow["namespace"] for f in flows.values()} == {ko.NAMESPACE}


def test_every_flow_passes_the_offline_checks(flows, ns_paths):
    assert problems_of(flows, ns_paths) == []


def test_a_duplicate_yaml_key_is_refused(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "subflows").mkdir()
    (tmp_path / "flows" / "x.yml").write_text("id: x\nid: y\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError, match="duplicate keys"):
        ko.load_flows(tmp_path)


def test_the_documented_properties_table_is_the_one_in_notes():
    """tests/kestra_offline.py keeps NOTES.md's task table as data: each property listed for a
    type must appear in that type's row of NOTES.md (Script shares the Commands row)."""
    if not NOTES.is_file():
        pytest.skip(f"{NOTES} not available")
    rows = [line for line in NOTES.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]

    def row_of(task_type: str) -> str:
        short = task_type.rsplit(".", 1)[-1]
        found = [r for r in rows if f"`{task_type}`" in r or f"`{short}`" in r.split("|")[1]]
        assert found, f"{task_type} has no row in NOTES.md"
        return found[0]

    for task_type, properties in {**ko.TASK_PROPERTIES, **ko.TRIGGER_PROPERTIES}.items():
        row = row_of(task_type)
        if task_type.endswith("python.Script"):
            assert "same common properties" in row
            row += row_of(ko.COMMANDS)
        missing = {p for p in properties - {"id", "type"} if p not in row}
        assert not missing, f"{task_type}: {missing} not in NOTES.md row"
    common = NOTES.read_text(encoding="utf-8").split("Every task also accepts", 1)[1].split("\n\n")[0]
    assert all(f"`{p}`" in common for p in ko.COMMON_TASK_PROPERTIES - {"id", "type", "description"}) \
        and "`id`, `type`, `description`" in common


def test_each_stage_subflow_runs_its_test_subflow_before_declaring_outputs(flows):
    for stage in STAGES:
        flow = flows[f"subflows/{stage}.yml"].flow
        ids = [t["id"] for t in flow["tasks"]]
        assert ids == ["run", "stop_on_rejection", "test"], stage
        test = flow["tasks"][2]
        assert (test["type"], test["flowId"], test["wait"], test["transmitFailed"]) == \
            (ko.SUBFLOW, f"{stage}_test", True, True)
        assert flow["tasks"][1]["condition"] == "{{ outputs.run.vars.rejected }}"
        quality = ko.declared_outputs(flow)["quality"]
        assert quality["value"] == "{{ outputs.test.outputs.quality }}"
        assert f"--rejection-as-output --log-format json --run-id {{{{ execution.id }}}} {stage} " \
            in flow["tasks"][0]["commands"][0]
    for stage in STAGES:
        flow = flows[f"subflows/{stage}_test.yml"].flow
        assert f" check {stage} " in flow["tasks"][0]["commands"][0]
        assert flow["tasks"][1]["type"] == ko.FAIL
        assert ko.declared_outputs(flow)["quality"]["type"] == "FILE"


def test_namespace_files_include_covers_the_whole_package(flows, ns_paths):
    package = [p for p in ns_paths if p.startswith(f"{ko.PACKAGE}/")]
    assert f"{ko.PACKAGE}/__main__.py" in package and any(p.endswith(".sql") for p in package)
    for rel, flow_file in flows.items():
        for _, task in ko.all_tasks(flow_file.flow):
            if task["type"] == ko.COMMANDS:
                include = task["namespaceFiles"]["include"]
                assert all(any(ko.include_matches(p, path) for p in include) for path in package), rel
                # ...and nothing else: the business's inbox/ workbooks never land in a working dir
                assert not any(ko.include_matches(p, "inbox/erp.xlsx") for p in include), rel


def test_parent_schedule_concurrency_sla_and_labels(flows):
    parent = flows[PARENT].flow
    [trigger] = parent["triggers"]
    assert (trigger["type"], trigger["cron"], trigger["timezone"], trigger["recoverMissedSchedules"]) == \
        (ko.SCHEDULE, "0 9 15 * *", PARIS, "LAST")
    assert parent["concurrency"] == {"limit": 1, "behavior": "QUEUE"}
    assert [(s["type"], s["behavior"]) for s in parent["sla"]] == [("MAX_DURATION", "FAIL")]
    assert ko.iso_seconds(parent["sla"][0]["duration"]) == 3600
    assert parent["labels"]["pipeline"] == "bottleneck-revenue"
    inputs = ko.declared_inputs(parent)
    for name in WORKBOOKS:
        assert inputs[name]["defaults"] == f"nsfile:///inbox/{name}.xlsx"
        assert inputs[name]["required"] is False and inputs[name]["type"] == "FILE"
    assert inputs["z_threshold"] == {**inputs["z_threshold"], "type": "FLOAT", "defaults": 2}
    assert inputs["period"]["type"] == "STRING" and inputs["period"]["required"] is False
    assert [t["id"] for t in parent["tasks"]][-1] == "deliverables_ready"  # kestra#18909
    assert {o["id"] for o in parent["outputs"]} >= {"report", "premium", "ordinary", "quality_report",
                                                      "run_summary"}


def test_alert_channels_are_switched_by_kv_never_by_probing_a_secret(flows):
    errors = {t["id"]: t for t in flows[PARENT].flow["errors"]}
    assert errors["log_failure"]["level"] == "ERROR" and "runIf" not in errors["log_failure"]
    for task_id in ("alert_slack", "alert_email"):
        run_if = errors[task_id]["runIf"]
        assert "secret(" not in run_if and "errorOnMissing=false" in run_if and "?? false" in run_if
        assert errors[task_id]["allowFailure"] is True
    assert errors["alert_slack"]["url"] == "{{ secret('SLACK_WEBHOOK_URL') }}"


def test_alert_stage_labels_are_the_package_labels(flows):
    assert flows[PARENT].flow["variables"]["stage_labels"] == labels_fr.STAGE_LABELS


def test_stage_order_and_file_wiring_match_the_local_runner(flows):
    """The parent calls the stages in bottleneck_pipeline.STAGES order and feeds each one the files
    runner.stage_inputs gives it locally (workbooks, or the previous stage's output folder)."""
    parent = flows[PARENT].flow
    by_id = {f.flow["id"]: f.flow for f in flows.values()}
    calls = [t for t in parent["tasks"] if t["type"] == ko.SUBFLOW]
    assert tuple(t["flowId"] for t in calls) == STAGES
    input_dir, work = Path("INPUT"), Path("WORK")
    for call in calls:
        wired = {}
        for name, value in call["inputs"].items():
            chain = ko._chain(ko.parse_expression(value.strip()[2:-2])) or ["computed"]
            if chain[0] == "inputs" and ko.declared_inputs(parent)[chain[1]]["type"] == "FILE":
                default = ko.declared_inputs(parent)[chain[1]]["defaults"]
                wired[name] = input_dir / Path(default).name
            elif chain[0] == "outputs":
                producer = chain[1]
                output = ko.declared_outputs(by_id[producer])[chain[3]]
                file_key = re.search(r"outputFiles\['([^']+)'\]", output["value"]).group(1)
                wired[name] = work / producer / Path(file_key).name
        assert wired == runner.stage_inputs(call["flowId"], input_dir, work), call["id"]


def test_period_defaults_to_the_month_of_the_trigger_then_of_the_start_in_paris(flows):
    period = flows[PARENT].flow["variables"]["period"]

    def render(**context):
        renderer = ko.Renderer({"inputs": context.pop("inputs", {}), "vars": {"period": period}, **context})
        return renderer.render("{{ render(vars.period) }}")

    start = {"execution": {"startDate": datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)}}
    assert render(inputs={"period": "2025-12"}, **start) == "2025-12"
    assert render(**start) == "2026-11"  # 00:30 on 1 November in Paris
    scheduled = datetime.fromisoformat("2026-12-15T09:00:00+01:00")
    assert render(trigger={"date": scheduled}, **start) == "2026-12"


# ---------------------------------------------------------------------------------------------
# The checker catches what it is meant to catch: mutate a copy of the YAML in memory.

def mutated(flows, rel, change) -> dict:
    copy = ko.copy_flows(flows)
    change(copy[rel].flow)
    return copy


def test_dropping_an_output_file_breaks_the_references(flows, ns_paths):
    def drop(flow):
        flow["tasks"][0]["outputFiles"].remove("out/products.parquet")
    problems = problems_of(mutated(flows, "subflows/merge.yml", drop), ns_paths)
    assert any("'out/products.parquet' matches no outputFiles glob of `run`" in p for p in problems), problems


def test_renaming_a_subflow_input_breaks_the_calls(flows, ns_paths):
    def rename(flow):
        next(i for i in flow["inputs"] if i["id"] == "erp")["id"] = "erp_table"
    problems = problems_of(mutated(flows, "subflows/clean.yml", rename), ns_paths)
    assert f"{PARENT}: task `clean`: passes `erp`, which subflows/clean.yml does not declare" in problems
    assert f"{PARENT}: task `clean`: does not pass required input `erp_table` of subflows/clean.yml" in problems
    assert any(p.startswith("subflows/clean.yml: task `run`.inputFiles") and "no such input" in p
               for p in problems)


def test_a_subflow_output_that_does_not_exist_is_caught(flows, ns_paths):
    def rename(flow):
        next(o for o in flow["outputs"] if o["id"] == "revenue")["id"] = "revenues"
    problems = problems_of(mutated(flows, "subflows/report.yml", rename), ns_paths)
    assert any("subflows/report.yml declares no output `revenue`" in p for p in problems), problems


def test_feeding_a_file_input_with_a_non_file_is_caught(flows, ns_paths):
    def wire(flow):
        flow["tasks"][1]["inputs"]["erp"] = "{{ outputs.ingest.outputs.rows_out }}"
    problems = problems_of(mutated(flows, PARENT, wire), ns_paths)
    assert any("FILE input `erp`" in p and "not a FILE value" in p for p in problems), problems


@pytest.mark.parametrize("where, change, expected", [
    ("subflows/ingest.yml", lambda f: f["tasks"][0].update(cache=True), "undocumented property `cache`"),
    ("subflows/ingest.yml", lambda f: f.update(pluginDefaults=[]), "pluginDefaults: not portable"),
    (PARENT, lambda f: f["triggers"][0].update(conditions=[]), "`conditions` is not portable"),
    (PARENT, lambda f: f["inputs"].append({"id": "x", "type": "BOOLEAN", "description": "x"}),
     "type BOOLEAN is not portable"),
    ("subflows/clean.yml", lambda f: f["tasks"][0]["retry"].update(maxAttempt=3), "old name of `maxAttempts`"),
    ("subflows/clean.yml", lambda f: f["tasks"][1].update(timeout="1 minute"), "not an ISO-8601 duration"),
    ("subflows/clean.yml", lambda f: f["tasks"][1].pop("timeout"), "no timeout"),
    ("subflows/merge.yml", lambda f: f["tasks"][2].update(type="io.kestra.plugin.core.flow.ForEach"),
     "removed in 2.0"),
    ("subflows/merge.yml", lambda f: f["tasks"][1].update(id="run"), "task id `run` is used twice"),
    (PARENT, lambda f: f["errors"][0].update(message="{{ json(outputs) }}"), "json() is not portable"),
    (PARENT, lambda f: f["errors"][0].update(message="{{ now() }}"), "not in the offline Pebble subset"),
    (PARENT, lambda f: f["tasks"][3]["inputs"].update(period="{{ vars.month }}"), "no such variable"),
    ("subflows/report.yml", lambda f: f["tasks"][0]["inputFiles"].update({"x.txt": "nsfile:///nope.txt"}),
     "no such namespace file"),
    ("subflows/report.yml", lambda f: f["tasks"][0]["namespaceFiles"].update(include=["/scripts/**"]),
     "matches no file"),
    ("subflows/report.yml", lambda f: f["tasks"][0].update(taskRunner={"type": "io.kestra.plugin.scripts.runner.docker.Docker"}),
     "taskRunner must be"),
    ("subflows/classify.yml", lambda f: f["outputs"][0].pop("description"), "has no description"),
    ("subflows/classify.yml", lambda f: f["tasks"][1].update(condition="{{ outputs.run.vars.rejection_message }}"),
     "only on rejection: guard it with ??"),
    ("subflows/classify.yml", lambda f: f["outputs"][-1].update(value="{{ outputs.run.vars.premium }}"),
     "emits no output `premium`"),
    ("subflows/classify.yml", lambda f: f["tasks"][0]["commands"].__setitem__(
        0, f["tasks"][0]["commands"][0].replace("--rejection-as-output ", "")), "--rejection-as-output"),
    (PARENT, lambda f: f["tasks"].insert(0, f["tasks"].pop(1)), "does not run before `clean`"),
])
def test_the_checker_reports_each_broken_rule(flows, ns_paths, where, change, expected):
    problems = problems_of(mutated(flows, where, change), ns_paths)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------------------------------------
# Pebble subset and glob semantics used by the simulator

@pytest.mark.parametrize("pattern, path, matches", [
    ("*.xlsx", "a.xlsx", True), ("*.xlsx", "out/a.xlsx", False),
    ("out/*.xlsx", "out/a.xlsx", True), ("**/*.xlsx", "a.xlsx", False),
    ("**/*.xlsx", "out/a.xlsx", True), ("**.xlsx", "a/b/c.xlsx", True), ("**.xlsx", "c.xlsx", True),
    ("out/{a,b}.csv", "out/b.csv", True),
])
def test_output_files_globs_follow_java_semantics(pattern, path, matches):
    assert ko.output_matches(pattern, path) is matches


def test_include_patterns_are_rooted_with_a_slash_else_anywhere():
    assert ko.include_matches("/bottleneck_pipeline/**", "bottleneck_pipeline/sql/report/revenue.sql")
    assert not ko.include_matches("/bottleneck_pipeline/**", "inbox/erp.xlsx")
    assert ko.include_matches("cli.py", "bottleneck_pipeline/cli.py") and ko.include_matches("cli.py", "cli.py")


def test_pebble_precedence_and_failures_are_kestras():
    r = ko.Renderer({"a": None, "d": datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc)})
    assert r.render("{{ a ?? d | date('yyyy-MM', timeZone='Europe/Paris') }}") == "2026-02"  # ?? binds first
    assert r.render("{{ missing ?? 'x' }}") == "x" and r.render("{{ 1 + 2 == 3 }}") == "true"
    with pytest.raises(ko.Undefined):
        r.render("{{ missing }}")
    with pytest.raises(ko.PebbleError):
        r.render("{{ a | upper }}")
    assert ko.truthy("false") is False and ko.truthy("true") and ko.truthy(" 0 ") is False


# ---------------------------------------------------------------------------------------------
# Dry runs

def reference_run(input_dir: Path, output: Path, period: str) -> Path:
    proc = subprocess.run([sys.executable, "-m", "bottleneck_pipeline", "run", "--input", str(input_dir),
                           "--output", str(output), "--period", period],
                          capture_output=True, text=True, timeout=300,
                          env={**_clean_env(), "PYTHONPATH": str(REPO / "namespace_files")})
    assert proc.returncode == 0, proc.stderr
    return output / period


def _clean_env() -> dict:
    import os
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def ca_sheet(path: Path) -> list[list]:
    sheet = load_workbook(path, read_only=True)[labels_fr.REVENUE_SHEET]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def assert_same_deliverables(sim: ko.OfflineKestra, execution: ko.Execution, reference: Path) -> dict:
    out = {k: sim.local_path(v) for k, v in execution.flow_outputs.items()
           if isinstance(v, str) and v.startswith("kestra://")}
    assert (out["premium"].read_bytes(), out["ordinary"].read_bytes()) == \
        ((reference / labels_fr.PREMIUM_FILE).read_bytes(), (reference / labels_fr.ORDINARY_FILE).read_bytes())
    assert ca_sheet(out["report"]) == ca_sheet(reference / labels_fr.REPORT_FILE)
    mine, theirs = (json.loads(p.read_text(encoding="utf-8"))
                    for p in (out["run_summary"], reference / "run_summary.json"))
    for summary in (mine, theirs):
        summary.pop("run_id")
        for figures in summary["stages"].values():
            figures.pop("seconds")
    assert mine == theirs
    mine_q, theirs_q = (json.loads(p.read_text(encoding="utf-8"))
                        for p in (out["quality_report"], reference / "quality_report.json"))
    assert [(r["id"], r["passed"]) for r in mine_q["results"]] == \
        [(r["id"], r["passed"]) for r in theirs_q["results"]]
    assert execution.flow_outputs["products"] == mine["products"]
    assert execution.flow_outputs["ca_total"] == str(mine["ca_total"])
    return mine


def new_kestra(tmp: Path, **kwargs) -> ko.OfflineKestra:
    return ko.OfflineKestra(REPO, tmp / "kestra", **kwargs)


def drop_in_inbox(sim: ko.OfflineKestra, folder: Path) -> None:
    for name in WORKBOOKS:
        sim.put_namespace_file(f"inbox/{name}.xlsx", folder / f"{name}.xlsx")


@pytest.fixture(scope="module")
def scheduled_sample_run(tmp_path_factory):
    """The schedule's path: workbooks in the namespace folder inbox/, no input given, the period
    taken from the trigger date (15 November 2026, 09:00 Paris)."""
    tmp = tmp_path_factory.mktemp("scheduled")
    sim = new_kestra(tmp)
    drop_in_inbox(sim, SAMPLE)
    trigger = datetime.fromisoformat("2026-11-15T09:00:00+01:00")
    execution = sim.run("monthly_revenue", trigger_date=trigger, start_date=trigger)
    return sim, execution, tmp


def test_scheduled_dry_run_on_the_sample_delivers_what_the_local_runner_delivers(scheduled_sample_run):
    sim, execution, tmp = scheduled_sample_run
    assert execution.state == "SUCCESS", execution.error_logs()
    assert list(execution.task_states) == [*STAGES, "finalize", "stop_if_incomplete", "deliverables_ready"]
    assert execution.flow_outputs["period"] == "2026-11"
    for stage in STAGES:  # every stage ran its own gate, in its own execution
        child = execution.find(stage)
        assert child.state == "SUCCESS" and child.task_states["test"] == "SUCCESS"
        assert child.find(f"{stage}_test").state == "SUCCESS"
    summary = assert_same_deliverables(sim, execution, reference_run(SAMPLE, tmp / "local", "2026-11"))
    assert summary["period"] == "2026-11"
    assert execution.notifications == [] and "log_failure" not in execution.task_states


def test_dry_run_vars_are_the_keys_the_table_says_each_command_emits(scheduled_sample_run):
    """The EMITTED_ON_SUCCESS table the checker relies on, against what the CLI really printed."""
    _, execution, _ = scheduled_sample_run
    seen: dict[str, set] = {}
    by_id = {f.flow["id"]: f.flow for f in ko.load_flows(REPO).values()}

    def collect(ex: ko.Execution):
        for task in by_id[ex.flow_id]["tasks"]:
            if task["type"] == ko.COMMANDS:
                seen[ko.task_cli_command(task)] = set(ex.outputs[task["id"]]["vars"])
        for child in ex.children:
            collect(child)

    collect(execution)
    assert seen == ko.EMITTED_ON_SUCCESS


def test_manual_dry_run_on_the_real_workbooks(tmp_path):
    """A manual run: the three real workbooks uploaded as FILE inputs, the period chosen."""
    if not (REAL / "erp.xlsx").is_file():
        pytest.skip(f"real workbooks not available ({REAL})")
    sim = new_kestra(tmp_path)
    uploads = {name: REAL / f"{name}.xlsx" for name in WORKBOOKS}
    execution = sim.run("monthly_revenue", {**uploads, "period": "2026-10", "z_threshold": 2})
    assert execution.state == "SUCCESS", execution.error_logs()
    summary = assert_same_deliverables(sim, execution, reference_run(REAL, tmp_path / "local", "2026-10"))
    assert (summary["products"], summary["ca_total"], summary["premium_count"]) == (714, 70568.60, 30)


def web_without_total_sales(folder: Path) -> Path:
    workbook = load_workbook(SAMPLE / "web.xlsx")
    sheet = workbook.active
    headers = [cell.value for cell in sheet[1]]
    sheet.delete_cols(headers.index("total_sales") + 1)
    folder.mkdir(parents=True, exist_ok=True)
    workbook.save(folder / "web.xlsx")
    for name in ("erp", "liaison"):
        shutil.copyfile(SAMPLE / f"{name}.xlsx", folder / f"{name}.xlsx")
    return folder


def test_bad_workbook_fails_at_ingest_with_the_french_message_and_alerts(tmp_path):
    sim = new_kestra(tmp_path, kv={"BOTTLENECK_ALERT_SLACK": True, "BOTTLENECK_ALERT_EMAIL": True},
                     secrets={"SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/T0/B0/x",
                              "SMTP_HOST": "smtp.invalid", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p",
                              "ALERT_EMAIL_FROM": "kestra@bottleneck.invalid",
                              "ALERT_EMAIL_TO": "data@bottleneck.invalid"})
    drop_in_inbox(sim, web_without_total_sales(tmp_path / "bad"))
    execution = sim.run("monthly_revenue", {"period": "2026-10"})

    assert execution.state == "FAILED"
    assert execution.failed_tasks() == ["ingest"]
    assert "clean" not in execution.task_states and execution.flow_outputs == {}
    ingest = execution.find("ingest")
    assert ingest.task_states == {"run": "SUCCESS", "stop_on_rejection": "FAILED"}
    assert ingest.attempts["run"] == 1  # a data rejection is never retried
    message = next(e["message"] for e in ingest.error_logs() if e["taskId"] == "stop_on_rejection")
    assert message.startswith("Étape ingest (lecture des classeurs) arrêtée par le contrôle qualité")
    assert "colonne(s) obligatoire(s) absente(s) : 'total_sales'" in message
    assert ingest.outputs["run"]["vars"].keys() == ko.EMITTED_ON_REJECTION

    alert = next(e["message"] for e in execution.logs if e["taskId"] == "log_failure")
    assert "Étape en échec : ingest (lecture des classeurs)." in alert
    assert f"ui/main/executions/bottleneck.reporting/ingest/{ingest.id}" in alert
    assert f"ui/main/executions/bottleneck.reporting/monthly_revenue/{execution.id}" in alert
    slack, mail = execution.notifications
    assert slack["messageText"] == alert and slack["url"].startswith("https://hooks.slack.invalid")
    assert mail["to"] == "data@bottleneck.invalid" and mail["subject"].endswith("2026-10")
    assert alert in mail["htmlTextContent"]
    (tmp_path / "alert_example.txt").write_text(alert + "\n\n" + message, encoding="utf-8")


def test_alerts_are_skipped_when_not_configured_and_a_missing_secret_cannot_hide_the_failure(tmp_path):
    sim = new_kestra(tmp_path, kv={"BOTTLENECK_ALERT_SLACK": True})  # switched on, secret missing
    drop_in_inbox(sim, web_without_total_sales(tmp_path / "bad"))
    execution = sim.run("monthly_revenue", {"period": "2026-10"})
    assert execution.state == "FAILED"
    assert execution.task_states["log_failure"] == "SUCCESS"
    assert execution.task_states["alert_slack"] == "FAILED"  # allowFailure: the e-mail still runs
    assert execution.task_states["alert_email"] == "SKIPPED"
    assert execution.notifications == []


def test_a_failed_quality_gate_in_a_test_subflow_stops_the_run_at_its_stage(tmp_path):
    """liaison.xlsx linking one product to two skus passes ingest and clean's own work, then the
    clean gate (clean_test, two levels down) rejects it: the parent stops at `clean`."""
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in WORKBOOKS:
        shutil.copyfile(SAMPLE / f"{name}.xlsx", bad / f"{name}.xlsx")
    workbook = load_workbook(bad / "liaison.xlsx")
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.active.append([rows[1][0], rows[2][1], *rows[1][2:]])  # product 1 -> sku of product 2
    workbook.save(bad / "liaison.xlsx")
    sim = new_kestra(tmp_path)
    drop_in_inbox(sim, bad)
    execution = sim.run("monthly_revenue", {"period": "2026-10"})

    assert execution.state == "FAILED" and execution.failed_tasks() == ["clean"]
    clean = execution.find("clean")
    assert clean.task_states == {"run": "SUCCESS", "stop_on_rejection": "SUCCESS", "test": "FAILED"}
    gate = execution.find("clean_test")
    message = next(e["message"] for e in gate.error_logs() if e["taskId"] == "stop_on_rejection")
    assert message.startswith("Étape clean (nettoyage) arrêtée par le contrôle qualité")
    assert "[clean.liaison.unique_product_id]" in message
    alert = next(e["message"] for e in execution.logs if e["taskId"] == "log_failure")
    assert "Étape en échec : clean (nettoyage)." in alert


def test_a_crash_is_retried_up_to_max_attempts(tmp_path):
    """Kestra's retry re-runs any failed attempt: a command that exits non-zero (here a broken
    command line, exit status 2) is tried maxAttempts times, unlike a data rejection (tried once,
    see the bad-workbook test)."""
    sim = new_kestra(tmp_path)
    broken = sim.flows[(ko.NAMESPACE, "ingest")].flow["tasks"][0]
    broken["commands"] = [broken["commands"][0].replace(" --out-dir out", "")]
    execution = sim.run("ingest", {name: SAMPLE / f"{name}.xlsx" for name in WORKBOOKS})
    assert execution.state == "FAILED" and execution.failed_tasks() == ["run"]
    assert execution.attempts["run"] == broken["retry"]["maxAttempts"] == 3
    assert execution.error_logs()[-1]["message"] == "Command failed with exit code 2"


def test_a_stage_subflow_called_alone_checks_its_outputs(tmp_path):
    """Another team calling `ingest` alone, with uploads: its gate ingest_test runs before the
    outputs are declared, and the outputs are the files the stage command writes."""
    sim = new_kestra(tmp_path)
    execution = sim.run("ingest", {name: SAMPLE / f"{name}.xlsx" for name in WORKBOOKS})
    assert execution.state == "SUCCESS", execution.error_logs()
    assert execution.find("ingest_test").state == "SUCCESS"
    assert set(execution.flow_outputs) == {"erp", "web", "liaison", "manifest", "quality", "rows_out"}
    quality = json.loads(sim.local_path(execution.flow_outputs["quality"]).read_text(encoding="utf-8"))
    assert quality["stage"] == "ingest" and all(r["passed"] or r["severity"] != "error"
                                                for r in quality["results"])


# ---------------------------------------------------------------------------------------------
# Runtime: the image, its pinned dependencies and the demo stack (parsed, never run here)

def test_runtime_requirements_are_exact_pins_covering_the_package_dependencies():
    pins = {}
    for line in (REPO / "requirements/runtime.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[A-Za-z0-9_.-]+", name) and version, line
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        assert canonicalize_name(req.name) in pins, f"{req.name} is not pinned"
        assert req.specifier.contains(pins[canonicalize_name(req.name)]), f"{req.name} pin breaks {spec}"
    # The closure: the dependencies of each pinned package (read from this venv when it holds the
    # same version, i.e. the same metadata) are pinned too.
    environment = default_environment()
    checked = 0
    for name, version in pins.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({**environment, "extra": ""}):
                assert canonicalize_name(req.name) in pins, f"{name} needs {req.name}, not pinned"
    assert checked >= 6


def test_dockerfile_pins_a_kestra_13_image_and_bakes_the_requirements():
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG KESTRA_IMAGE=kestra/kestra:v1\.3\.\d+$", text, re.MULTILINE)
    assert re.search(r"^FROM \$\{KESTRA_IMAGE\}$", text, re.MULTILINE)
    assert "COPY requirements/runtime.txt" in text and "-r /tmp/runtime.txt" in text
    assert 'ENV PATH="/opt/bottleneck/bin:${PATH}"' in text
    assert [line for line in text.splitlines() if line.startswith("USER ")][-1] == "USER kestra"


def test_compose_runs_postgres_and_the_custom_kestra_with_the_flows():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    postgres, kestra = compose["services"]["postgres"], compose["services"]["kestra"]
    assert re.fullmatch(r"postgres:\d+\.\d+", postgres["image"])
    assert kestra["build"]["dockerfile"] == "Dockerfile"
    assert kestra["image"].endswith(re.search(r"kestra:v(1\.3\.\d+)", (REPO / "Dockerfile").read_text()).group(1))
    assert kestra["command"].split()[:2] == ["server", "standalone"]
    flow_path = kestra["command"].split("--flow-path")[1].split()[0]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in kestra["volumes"]}
    assert mounts["./flows"].startswith(flow_path) and mounts["./subflows"].startswith(flow_path)
    assert not any("docker.sock" in v for v in kestra["volumes"])  # Process task runner
    assert {"8080:8080", "8081:8081"} <= set(kestra["ports"])
    assert kestra["depends_on"]["postgres"]["condition"] == "service_healthy"
    config = yaml.safe_load(kestra["environment"]["KESTRA_CONFIGURATION"])
    assert config["datasources"]["postgres"]["url"].startswith("jdbc:postgresql://postgres:5432/")
    k = config["kestra"]
    assert (k["repository"]["type"], k["queue"]["type"], k["storage"]["type"]) == ("postgres", "postgres", "local")
    assert k["storage"]["local"]["base-path"] == "/app/storage" and k["tasks"]["tmp-dir"]["path"]
    assert k["url"].endswith("/")  # the alert links append "ui/main/executions/..."
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${KESTRA_PASSWORD:?" in text and "${POSTGRES_PASSWORD:?" in text  # no password in the repo
    assert kestra["env_file"][0]["required"] is False
