"""Fast static checks of the Kestra flows: the rules the engine cannot see.

Whether the flows load and run is shown by Kestra itself (tests/kestra, `mvn verify`: every flow
validated by Kestra, the parent run end to end, rejections, retries, the schedule, deploy.py).
What stays here is design and operations: the stage/gate pattern, the wiring against the local
runner, Kestra 2.0 portability, SLAs above the retry budgets they cover, the alert switches,
and the image and stack files that no test here can run.
"""

from __future__ import annotations

import re
import sys
import tomllib
from datetime import timedelta
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bottleneck_pipeline import runner
from bottleneck_pipeline.pipeline import STAGES

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import flow_model  # noqa: E402

NAMESPACE = "bottleneck.reporting"
PARENT = "monthly_revenue"
COMMANDS = "io.kestra.plugin.scripts.python.Commands"
SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
FAIL = "io.kestra.plugin.core.execution.Fail"
WORKBOOKS = ("erp", "web", "liaison")


@pytest.fixture(scope="module")
def flows() -> dict[str, dict]:
    """Every flow file, read by scripts/flow_model.py: the rule deploy.py and the docs use."""
    return {flow.id: flow.doc for flow in flow_model.load_flows(REPO)}


def tasks_of(flow: dict) -> dict[str, dict]:
    return {t["id"]: t for t in flow["tasks"]}


def seconds(duration: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert match, duration
    hours, minutes, secs = (int(x or 0) for x in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=secs).total_seconds()


def test_the_repository_holds_the_parent_five_stages_and_five_gates(flows):
    assert sorted(flows) == sorted([PARENT, *STAGES, *(f"{s}_test" for s in STAGES)])
    assert {flow["namespace"] for flow in flows.values()} == {NAMESPACE}
    # Nothing in flows/ or subflows/ escapes the rule (a .YML, a sub-folder): it would be
    # deployed by nobody and read by no test.
    assert flow_model.ignored_files(REPO) == []


def test_every_subflow_call_and_namespace_file_resolves():
    """The smoke test: each call names a flow of this repository; each namespace file a flow
    reads is shipped by deploy.py (namespace_files/) or lives in a business folder it keeps."""
    loaded = flow_model.load_flows(REPO)
    known = {(f.namespace, f.id) for f in loaded}
    calls = [(f.id, call) for f in loaded for call in f.subflow_calls()]
    assert len(calls) == 2 * len(STAGES)  # the parent calls each stage, each stage its gate
    for flow_id, call in calls:
        assert call.target in known, f"{flow_id}: task {call.task_id} calls {call.namespace}.{call.flow_id}"
    shipped = [p.relative_to(REPO / "namespace_files").as_posix() for p in (REPO / "namespace_files").rglob("*")]
    business = {"inbox", "history"}  # deploy.py's PROTECTED_TOP_DIRS: dropped by people, kept by runs
    refs = [(f.id, ref) for f in loaded for ref in f.namespace_file_refs()]
    assert {ref.path.split("/")[0] for _, ref in refs} == {"bottleneck_pipeline", "inbox", "history"}
    for flow_id, ref in refs:
        assert ref.namespace == NAMESPACE, (flow_id, ref)
        top = ref.path.split("/")[0]
        assert top in business or any(fnmatch(p, ref.path) for p in shipped), (flow_id, ref)


def test_each_stage_runs_its_gate_and_fails_with_the_gates_message(flows):
    for stage in STAGES:
        tasks = tasks_of(flows[stage])
        assert list(tasks) == ["run", "stop_on_rejection", "test", "stop_on_gate"], stage
        assert f" {stage} " in tasks["run"]["commands"][0] and "--rejection-as-output" in tasks["run"]["commands"][0]
        assert tasks["stop_on_rejection"]["condition"] == "{{ outputs.run.vars.rejected }}"
        gate = tasks["test"]
        # transmitFailed false + stop_on_gate: the stage's own logs carry the gate's message,
        # where the parent's alert fetches it (engine-tested).
        assert (gate["type"], gate["flowId"], gate["wait"], gate["transmitFailed"]) == (
            SUBFLOW,
            f"{stage}_test",
            True,
            False,
        )
        assert tasks["stop_on_gate"]["type"] == FAIL
        assert tasks["stop_on_gate"]["condition"] == "{{ outputs.test.state != 'SUCCESS' }}"
        assert "outputs.test.outputs.rejection_message" in tasks["stop_on_gate"]["errorMessage"]
        outputs = {o["id"]: o for o in flows[stage]["outputs"]}
        assert outputs["quality"]["value"] == "{{ outputs.test.outputs.quality }}"
    for stage in STAGES:
        gate = flows[f"{stage}_test"]
        assert f" check {stage} " in gate["tasks"][0]["commands"][0]
        assert gate["tasks"][1]["type"] == FAIL
        assert {o["id"] for o in gate["outputs"]} >= {"quality", "rejection_message"}


def test_python_tasks_get_the_package_and_never_the_inbox(flows):
    for flow in flows.values():
        for task in flow_model.flow_tasks(flow):
            if task["type"] == COMMANDS:
                # finalize also reads the months already published, for the comparison
                extra = ["/history/**"] if task["id"] == "finalize" else []
                assert task["namespaceFiles"] == {"enabled": True, "include": ["/bottleneck_pipeline/**", *extra]}, (
                    flow["id"],
                    task["id"],
                )
                assert task["taskRunner"] == {"type": "io.kestra.plugin.core.runner.Process"}


def test_parent_schedule_inputs_concurrency_and_last_task(flows):
    parent = flows[PARENT]
    [trigger] = parent["triggers"]
    assert (trigger["type"], trigger["cron"], trigger["timezone"], trigger["recoverMissedSchedules"]) == (
        "io.kestra.plugin.core.trigger.Schedule",
        "0 9 15 * *",
        "Europe/Paris",
        "LAST",
    )
    assert parent["concurrency"] == {"limit": 1, "behavior": "QUEUE"}
    inputs = {i["id"]: i for i in parent["inputs"]}
    for name in WORKBOOKS:  # Kestra >= 1.1: an input with defaults must be required
        assert (inputs[name]["type"], inputs[name]["required"], inputs[name]["defaults"]) == (
            "FILE",
            True,
            f"nsfile:///inbox/{name}.xlsx",
        )
    assert inputs["period"]["required"] is False and "defaults" not in inputs["period"]
    # The final check comes before the month is kept in history/ or any warning is sent.
    assert list(tasks_of(parent))[-5:] == [
        "deliverables_ready",
        "record_history",
        "warn_drift",
        "warn_drift_slack",
        "warn_drift_email",
    ]
    finalize = tasks_of(parent)["finalize"]
    assert "--history history" in finalize["commands"][0]
    history = tasks_of(parent)["record_history"]
    assert history["destination"] == "/history/{{ render(vars.period) }}/"
    assert sorted(history["filesMap"]) == ["run_summary.json", "vins_ordinaires.csv", "vins_premium.csv"]
    outputs = {o["id"]: o for o in parent["outputs"]}
    assert outputs["ca_total"]["type"] == "STRING"  # money as text: a float loses its cents


def test_alert_is_composed_from_the_stages_error_lines_and_channels_are_switched_by_kv(flows):
    errors = {t["id"]: t for t in flows[PARENT]["errors"]}
    assert list(errors) == ["compose_alert", "log_failure", "alert_slack", "alert_email"]
    compose = errors["compose_alert"]
    assert compose["type"] == COMMANDS and compose["allowFailure"] is True
    assert "python -m bottleneck_pipeline.alerts" in compose["commands"][0]
    # Each stage keeps its error lines under failure_<execution id>; the parent reads that key.
    assert "kv('failure_' ~ (outputs[render(vars.failed_task)].executionId" in compose["env"]["STAGE_MESSAGES"]
    for stage in STAGES:
        [record] = flows[stage]["errors"]
        assert (record["type"], record["key"]) == ("io.kestra.plugin.core.kv.Set", "failure_{{ execution.id }}")
        assert "errorLogs()" in record["value"] and record["allowFailure"] is True
    # errorLogs() renders on workers only: never in the Log task (the executor's), only in the
    # worker-run tasks above, and lines quoting an expression are dropped before they travel.
    assert "errorLogs" not in errors["log_failure"]["message"]
    assert "contains ('{' ~ '{')" in compose["env"]["RUN_ERRORS"]
    assert "runIf" not in errors["log_failure"] and "??" in errors["log_failure"]["message"]
    for task_id in ("alert_slack", "alert_email"):
        run_if = errors[task_id]["runIf"]
        assert "secret(" not in run_if and "errorOnMissing=false" in run_if and "?? false" in run_if
        assert errors[task_id]["allowFailure"] is True


def test_stage_order_and_file_wiring_match_the_local_runner(flows):
    """The parent calls the stages in STAGES order and feeds each one the files the local runner
    gives it (runner.stage_inputs): the workbooks, or the previous stage's outputs."""
    parent = flows[PARENT]
    calls = [t for t in parent["tasks"] if t["type"] == SUBFLOW]
    assert tuple(t["flowId"] for t in calls) == STAGES
    input_dir, work = Path("INPUT"), Path("WORK")
    for call in calls:
        wired = {}
        for name, value in call["inputs"].items():
            if m := re.fullmatch(r"\{\{ inputs\.(\w+) \}\}", value):
                if m.group(1) in WORKBOOKS:
                    wired[name] = input_dir / f"{m.group(1)}.xlsx"
            elif m := re.fullmatch(r"\{\{ outputs\.(\w+)\.outputs\.(\w+) \}\}", value):
                producer, output = m.groups()
                value = {o["id"]: o for o in flows[producer]["outputs"]}[output]["value"]
                file_key = re.search(r"outputFiles\['([^']+)'\]", value).group(1)
                wired[name] = work / producer / Path(file_key).name
        assert wired == runner.stage_inputs(call["flowId"], input_dir, work), call["id"]


def test_flows_keep_to_what_kestra_13_and_20_both_load(flows):
    for flow in flows.values():
        text = yaml.safe_dump(flow)
        assert "pluginDefaults" not in flow and "taskDefaults" not in flow  # 2.0: HTTP 422
        assert not re.search(r"ForEach|io\.kestra\.core\.tasks\.|plugin\.notifications\.|maxAttempt:", text)
        assert not any("conditions" in t for t in flow.get("triggers", []))  # 2.0 uses `when:`
        assert "json(" not in text.replace("toJson", "").replace("fromJson", "")
        assert not {i["type"] for i in flow.get("inputs", [])} & {"BOOLEAN", "ENUM"}


def _runnable_budget(task: dict) -> float:
    """Worst case of one runnable task: every attempt to its timeout, plus the backoff waits."""
    retry = task.get("retry", {"maxAttempts": 1})
    attempts = retry["maxAttempts"]
    waits, interval = 0.0, seconds(retry.get("interval", "PT0S"))
    for _ in range(attempts - 1):
        waits += min(interval, seconds(retry.get("maxInterval", "PT24H")))
        interval *= retry.get("delayFactor", 1.0) if retry.get("type") == "exponential" else 1.0
    return attempts * seconds(task.get("timeout", "PT0S")) + waits


def test_every_sla_is_above_the_retry_budget_it_covers(flows):
    """An SLA below the retries it covers would kill a run Kestra was still allowed to retry."""
    for flow in flows.values():
        [sla] = flow["sla"]  # the errors branch is not counted: it runs after the failure
        assert (sla["type"], sla["behavior"]) == ("MAX_DURATION", "FAIL")
        budget = 0.0
        for task in flow["tasks"]:
            if task["type"] == SUBFLOW:
                budget += seconds(flows[task["flowId"]]["sla"][0]["duration"])
            else:
                assert "timeout" in task or task["type"] == FAIL, (flow["id"], task["id"])  # Fail: instant
                budget += _runnable_budget(task) if "timeout" in task else 0
        assert seconds(sla["duration"]) > budget, (flow["id"], sla["duration"], budget)


def test_the_retry_backoff_is_exponential():
    budget = _runnable_budget(
        {
            "timeout": "PT5M",
            "retry": {
                "type": "exponential",
                "interval": "PT10S",
                "maxInterval": "PT2M",
                "delayFactor": 2.0,
                "maxAttempts": 3,
            },
        }
    )
    assert budget == 3 * 300 + 10 + 20


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


def test_the_image_is_the_kestra_version_the_engine_tests_run():
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    image = re.search(r"^ARG KESTRA_IMAGE=kestra/kestra:v(1\.3\.\d+)$", text, re.MULTILINE)
    pom = (REPO / "tests/kestra/pom.xml").read_text(encoding="utf-8")
    assert image and image.group(1) == re.search(r"<kestra.version>([^<]+)<", pom).group(1)
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
