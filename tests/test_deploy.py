"""scripts/deploy.py run as a subprocess against a fake Kestra that checks every request
against the official OpenAPI description (see tests/kestra_fake.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "scripts"))
import flow_model  # noqa: E402
from kestra_fake import SPEC_PATH, FakeKestra, OpenApiSpec  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY = REPO_ROOT / "scripts" / "deploy.py"
NS = "bottleneck.reporting"
USER, PASSWORD = "ci-deployer", "S3cr3t-Zebra-4711-never-print-me"

# A small repository: a stage subflow, a test subflow that calls it (named so that file order
# would put it first), a second stage, and a parent flow calling both stages.
FLOWS = {
    "subflows/ingest.yml": f"""\
id: ingest
namespace: {NS}
description: Read the sources.   # a comment Kestra must keep
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: ingest
""",
    # Written on Windows: CRLF line endings must reach Kestra unchanged.
    "subflows/clean.yml": f"""\
id: clean
namespace: {NS}
tasks:
  - id: run
    type: io.kestra.plugin.core.log.Log
    message: clean
""".replace("\n", "\r\n"),
    "subflows/check_ingest.yml": f"""\
id: check_ingest
namespace: {NS}
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: {NS}
    flowId: ingest
    wait: true
""",
    "flows/monthly.yml": f"""\
id: monthly
namespace: {NS}
tasks:
  - id: ingest
    type: io.kestra.plugin.core.flow.Subflow
    namespace: {NS}
    flowId: ingest
  - {{id: clean, type: io.kestra.plugin.core.flow.Subflow, namespace: "{NS}", flowId: clean}}
""",
}
NAMESPACE_FILES = {
    "bottleneck_pipeline/__init__.py": b'"""BottleNeck pipeline."""\n',
    "bottleneck_pipeline/cli.py": b"def main():\r\n    return 0\n",
    "bottleneck_pipeline/sql/clean/products.sql": b"select 1 as product_id\n",
}
JUNK = [
    "bottleneck_pipeline/__pycache__/cli.cpython-311.pyc",
    "bottleneck_pipeline/stray.pyc",
    "bottleneck_pipeline.egg-info/PKG-INFO",
]


@pytest.fixture(scope="session")
def spec():
    # The official description's excerpt (tests/fixtures/), to check every request against.
    return OpenApiSpec(SPEC_PATH)


FULL_SPEC = REPO_ROOT.parent / "shared" / "kestra" / "openapi-2.0.yml"


@pytest.mark.real_data
@pytest.mark.skipif(not FULL_SPEC.is_file(), reason=f"Kestra's full OpenAPI description not found at {FULL_SPEC}")
def test_the_vendored_excerpt_is_the_official_description_cut_down():
    sys.path.insert(0, str(SPEC_PATH.parent))
    try:
        import make_openapi_excerpt
    finally:
        sys.path.remove(str(SPEC_PATH.parent))
    with open(FULL_SPEC, encoding="utf-8") as handle:
        full = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert SPEC_PATH.read_text(encoding="utf-8") == make_openapi_excerpt.render(full), (
        "run: python tests/fixtures/make_openapi_excerpt.py ../shared/kestra/openapi-2.0.yml"
    )


@pytest.fixture
def fake(spec):
    server = FakeKestra(spec, user=USER, password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    for rel, text in FLOWS.items():
        write(root / rel, text.encode())
    for rel, content in NAMESPACE_FILES.items():
        write(root / "namespace_files" / rel, content)
    for rel in JUNK:
        write(root / "namespace_files" / rel, b"junk")
    return root


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def deploy(fake, root, *args, env=None, server=None):
    """Run deploy.py; fail the test if any request broke the OpenAPI description."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_")}
    environment.update({"KESTRA_USER": USER, "KESTRA_PASSWORD": PASSWORD} if env is None else env)
    result = subprocess.run(
        [
            sys.executable,
            str(DEPLOY),
            "--server",
            server or fake.url,
            "--root",
            str(root),
            "--retry-base-delay",
            "0",
            "--timeout",
            "5",
            *args,
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    if fake is not None:
        assert fake.violations == [], "requests or answers outside the OpenAPI description"
    return result


def ops(fake, *, writes_only=False):
    return [
        (r.operation_id, r.path_params.get("id") or r.query.get("path"))
        for r in (fake.writes() if writes_only else fake.requests)
    ]


# --------------------------------------------------------------------------------------------


def test_first_deploy_validates_then_pushes_everything_in_order(fake, repo):
    result = deploy(fake, repo)
    assert result.returncode == 0, result.stderr

    operations = [r.operation_id for r in fake.requests]
    first_write = next(i for i, r in enumerate(fake.requests) if r.is_write)
    assert operations[:first_write].count("validateFlows") == len(FLOWS)
    assert "validateFlows" not in operations[first_write:]
    validated = {r.body.decode() for r in fake.requests if r.operation_id == "validateFlows"}
    assert validated == set(FLOWS.values())

    # Namespace files first, then subflows (called before caller), then the parent flow.
    writes = ops(fake, writes_only=True)
    uploads = [path for op, path in writes if op == "createNamespaceFile"]
    assert sorted(uploads) == sorted("/" + p for p in NAMESPACE_FILES)
    created = [r.body.decode() for r in fake.writes() if r.operation_id == "createFlow"]
    created_ids = [src.split("\n", 1)[0].removeprefix("id: ") for src in created]
    assert [op for op, _ in writes] == ["createNamespaceFile"] * 3 + ["createFlow"] * 4
    assert created_ids.index("ingest") < created_ids.index("check_ingest")
    assert created_ids[-1] == "monthly"

    # The server holds exactly the repository's bytes.
    assert {rel: fake.flows[(NS, Path(rel).stem)]["source"] for rel in FLOWS} == FLOWS
    assert fake.files[NS] == {"/" + rel: content for rel, content in NAMESPACE_FILES.items()}
    upload = next(r for r in fake.writes() if r.operation_id == "createNamespaceFile")
    assert upload.parts["fileContent"][1] == "application/octet-stream"

    assert "namespace file bottleneck_pipeline/cli.py: uploaded" in result.stdout
    assert f"flow {NS}.monthly: created" in result.stdout
    assert (
        "done: flows: 4 created, 0 updated, 0 unchanged, 0 deleted; "
        "namespace files: 3 uploaded, 0 unchanged, 0 deleted" in result.stdout
    )
    assert "Traceback" not in result.stderr


def test_rerun_writes_nothing_and_a_change_updates_only_that(fake, repo):
    assert deploy(fake, repo).returncode == 0
    fake.requests.clear()

    again = deploy(fake, repo)
    assert again.returncode == 0, again.stderr
    assert fake.writes() == []
    assert f"flow {NS}.ingest: unchanged" in again.stdout
    assert (
        "flows: 0 created, 0 updated, 4 unchanged, 0 deleted; "
        "namespace files: 0 uploaded, 3 unchanged, 0 deleted" in again.stdout
    )

    fake.requests.clear()
    (repo / "subflows/clean.yml").write_text(FLOWS["subflows/clean.yml"].replace("message: clean", "message: v2"))
    write(repo / "namespace_files/bottleneck_pipeline/cli.py", b"def main():\n    return 1\n")
    changed = deploy(fake, repo)
    assert changed.returncode == 0, changed.stderr
    assert ops(fake, writes_only=True) == [
        ("createNamespaceFile", "/bottleneck_pipeline/cli.py"),
        ("updateFlow", "clean"),
    ]
    assert fake.flows[(NS, "clean")]["revision"] == 2
    assert f"flow {NS}.clean: updated" in changed.stdout


def test_dry_run_sends_no_write(fake, repo):
    fake.add_flow(f"id: gone\nnamespace: {NS}\ntasks: [{{id: a, type: io.kestra.plugin.core.log.Log}}]\n")
    result = deploy(fake, repo, "--dry-run", "--prune")
    assert result.returncode == 0, result.stderr
    assert fake.writes() == []
    assert "validateFlows" in {r.operation_id for r in fake.requests}
    assert f"flow {NS}.monthly: would be created" in result.stdout
    assert "namespace file bottleneck_pipeline/cli.py: would be uploaded" in result.stdout
    assert f"flow {NS}.gone: would be deleted" in result.stdout
    assert "dry run, nothing written: flows: 4 created, 0 updated, 0 unchanged, 1 deleted" in result.stdout
    assert list(fake.flows) == [(NS, "gone")]


@pytest.mark.parametrize(
    "env",
    [
        {"KESTRA_USER": USER, "KESTRA_PASSWORD": "wrong-" + PASSWORD},
        {"KESTRA_API_TOKEN": "tok-" + PASSWORD},
        {},
    ],
    ids=["bad-password", "bad-token", "no-credentials"],
)
def test_authentication_failure_is_clear_and_leaks_no_secret(fake, repo, env):
    result = deploy(fake, repo, env=env)
    assert result.returncode == 4
    assert "authentication failed (HTTP 401)" in result.stderr
    assert "KESTRA_USER/KESTRA_PASSWORD or KESTRA_API_TOKEN" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert fake.writes() == []


def test_server_errors_are_retried_then_succeed(fake, repo):
    fake.fail_next(2, status=503)
    result = deploy(fake, repo, "--retries", "3")
    assert result.returncode == 0, result.stderr
    assert [r.operation_id for r in fake.requests[:3]] == ["validateFlows"] * 3
    assert "retry 2/3" in result.stderr
    assert len(fake.flows) == 4


def test_persistent_server_errors_fail_clearly(fake, repo):
    fake.fail_next(100, status=500)
    result = deploy(fake, repo, "--retries", "2")
    assert result.returncode == 5
    assert "failed after 3 attempt(s): server error 500" in result.stderr
    assert len(fake.requests) == 3
    assert "Traceback" not in result.stderr


def test_timeout_is_retried_then_fails_clearly(fake, repo):
    fake.delay = 1.5
    started = time.monotonic()
    result = deploy(fake, repo, "--timeout", "0.3", "--retries", "1")
    assert result.returncode == 5
    assert "timed out" in result.stderr and "after 2 attempt(s)" in result.stderr
    assert len(fake.requests) == 2
    assert time.monotonic() - started < 5
    assert "Traceback" not in result.stderr


def test_connection_refused_fails_clearly(repo):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = deploy(None, repo, "--retries", "1", server=f"http://127.0.0.1:{port}")
    assert result.returncode == 5
    assert "could not connect" in result.stderr
    assert "Traceback" not in result.stderr


def test_validation_violations_stop_before_any_write(fake, repo):
    fake.constraints = {"clean": "tasks[0].message: must not be null", "monthly": "triggers[0].cron: invalid"}
    result = deploy(fake, repo)
    assert result.returncode == 3
    assert "subflows/clean.yml: violation: tasks[0].message: must not be null" in result.stdout
    assert "flows/monthly.yml: violation: triggers[0].cron: invalid" in result.stdout
    assert "2 of 4 flow file(s) have violations; nothing was written" in result.stderr
    assert [r.operation_id for r in fake.requests] == ["validateFlows"] * 4
    assert fake.flows == {} and fake.files == {}


def test_kestra_rejection_shows_its_message(fake, repo):
    # Validation only warns about a missing subflow; creating the caller is refused (422).
    write(
        repo / "flows/monthly.yml",
        (
            FLOWS["flows/monthly.yml"]
            + """\
  - id: extra
    type: io.kestra.plugin.core.flow.Subflow
    namespace: shared.alerts
    flowId: notify
"""
        ).encode(),
    )
    result = deploy(fake, repo)
    assert result.returncode == 6
    assert "flows/monthly.yml: warning: The subflow 'notify' not found in namespace 'shared.alerts'" in result.stdout
    assert "create flow bottleneck.reporting.monthly: rejected by Kestra (HTTP 422)" in result.stderr
    assert "The subflow 'notify' not found" in result.stderr
    # The warnings about our own subflows (deployed first) are not shown.
    assert "'ingest' not found" not in result.stdout


def test_unknown_tenant_is_explained(fake, repo):
    result = deploy(fake, repo, "--tenant", "nope")
    assert result.returncode == 6
    assert "tenant 'nope'" in result.stderr
    assert fake.writes() == []


@pytest.mark.slow
def test_prune_deletes_only_stale_items_of_the_namespace(fake, repo):
    tasks = "tasks: [{id: a, type: io.kestra.plugin.core.log.Log}]\n"
    fake.add_flow(f"id: old_stage\nnamespace: {NS}\n{tasks}")
    fake.add_flow(f"id: old_stage\nnamespace: {NS}.archive\n{tasks}")
    fake.add_flow(f"id: other\nnamespace: other.team\n{tasks}")
    fake.add_file(NS, "bottleneck_pipeline/old.py", b"old")
    fake.add_file(NS, "legacy/a.sql", b"select 1")
    fake.add_file(NS, "legacy/deep/b.sql", b"select 2")
    fake.add_file("other.team", "bottleneck_pipeline/old.py", b"theirs")
    fake.add_file(NS, "inbox/erp.xlsx", b"the business's workbook")  # not the repository's

    without = deploy(fake, repo)
    assert without.returncode == 0 and "deleted" not in without.stdout.replace("0 deleted", "")
    assert (NS, "old_stage") in fake.flows

    result = deploy(fake, repo, "--prune")
    assert result.returncode == 0, result.stderr
    deletes = ops(fake, writes_only=True)[-3:]
    assert deletes == [
        ("deleteFlow", "old_stage"),
        ("deleteFileDirectory", "/legacy"),
        ("deleteFileDirectory", "/bottleneck_pipeline/old.py"),
    ]
    assert set(fake.flows) == {(NS, Path(rel).stem) for rel in FLOWS} | {
        (f"{NS}.archive", "old_stage"),
        ("other.team", "other"),
    }
    assert set(fake.files[NS]) == {"/" + p for p in NAMESPACE_FILES} | {"/inbox/erp.xlsx"}
    assert fake.files["other.team"] == {"/bottleneck_pipeline/old.py": b"theirs"}
    assert f"flow {NS}.old_stage: deleted" in result.stdout
    assert "namespace file legacy/: deleted" in result.stdout

    fake.requests.clear()
    assert deploy(fake, repo, "--prune").returncode == 0
    assert fake.writes() == []


def test_namespace_override_rewrites_only_namespace_lines(fake, repo):
    target = "bottleneck.staging"
    fake.add_flow("id: notify\nnamespace: shared.alerts\ntasks: [{id: a, type: io.kestra.plugin.core.log.Log}]\n")
    external = f"""\
id: alert
namespace: {NS}   # deployed namespace
tasks:
  - id: notify
    type: io.kestra.plugin.core.flow.Subflow
    namespace: shared.alerts
    flowId: notify
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ flow.namespace }}}} is not {NS}.archive"
"""
    write(repo / "subflows/alert.yml", external.encode())
    result = deploy(fake, repo, "--namespace", target)
    assert result.returncode == 0, result.stderr

    assert not any(ns == NS for ns, _ in fake.flows)
    for rel, original in {**FLOWS, "subflows/alert.yml": external}.items():
        sent = fake.flows[(target, Path(rel).stem)]["source"]
        assert sent.replace(target, NS) == original
    alert = fake.flows[(target, "alert")]["source"]
    assert f"namespace: {target}   # deployed namespace" in alert
    assert "namespace: shared.alerts" in alert and f"is not {NS}.archive" in alert
    assert f'namespace: "{target}", flowId: clean' in fake.flows[(target, "monthly")]["source"]
    assert set(fake.files[target]) == {"/" + p for p in NAMESPACE_FILES}
    assert f"flow {target}.monthly: created" in result.stdout


def test_namespace_override_refuses_an_unsafe_rewrite(fake, repo):
    write(
        repo / "subflows/script.yml",
        f"""\
id: script
namespace: {NS}
tasks:
  - id: show
    type: io.kestra.plugin.scripts.python.Script
    script: |
      print('''
      namespace: {NS}
      ''')
""".encode(),
    )
    result = deploy(fake, repo, "--namespace", "bottleneck.staging")
    assert result.returncode == 2
    assert "subflows/script.yml: cannot safely rewrite namespace" in result.stderr
    assert fake.requests == []


def test_flows_must_agree_on_the_namespace(fake, repo):
    write(repo / "subflows/stray.yml", b"id: stray\nnamespace: someone.else\ntasks: []\n")
    result = deploy(fake, repo)
    assert result.returncode == 2
    assert "different namespaces" in result.stderr and "subflows/stray.yml: someone.else" in result.stderr
    assert fake.requests == []


def test_help_documents_exit_codes_and_dry_run():
    result = subprocess.run([sys.executable, str(DEPLOY), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for text in (
        "exit codes:",
        "4  authentication",
        "5  server or network",
        "KESTRA_API_TOKEN",
        "POST /flows/validate: validation writes nothing",
    ):
        assert text in result.stdout


def test_usage_errors_exit_2(repo):
    bad = subprocess.run(
        [sys.executable, str(DEPLOY), "--server", "http://u:p@localhost:8080", "--root", str(repo)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "must not contain credentials" in bad.stderr
    missing = subprocess.run([sys.executable, str(DEPLOY)], capture_output=True, text=True)
    assert missing.returncode == 2


def test_secrets_stay_out_of_usage_errors_and_reprs():
    env = {**os.environ, "KESTRA_PASSWORD": PASSWORD}
    pasted = subprocess.run(
        [sys.executable, str(DEPLOY), "--server", PASSWORD], capture_output=True, text=True, env=env
    )
    assert pasted.returncode == 2 and PASSWORD not in pasted.stderr

    import importlib.util

    module_spec = importlib.util.spec_from_file_location("deploy_module", DEPLOY)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["deploy_module"] = module  # dataclasses look their module up there
    module_spec.loader.exec_module(module)
    assert PASSWORD not in repr(module.Credentials(user=USER, password=PASSWORD))
    assert PASSWORD not in repr(module.Credentials(token=PASSWORD))
    client = module.KestraClient(
        "http://x", "main", module.Credentials(token=PASSWORD), timeout=1, retries=0, base_delay=0, dry_run=True
    )
    assert PASSWORD not in repr(client)


def test_the_fake_reports_requests_outside_the_spec(fake):
    # The checker itself: wrong content type, wrong multipart field, missing query parameter.
    import requests

    session = requests.Session()
    session.auth = (USER, PASSWORD)
    api = f"{fake.url}/api/v1/main"
    session.post(f"{api}/flows", data="id: x", headers={"Content-Type": "application/json"})
    session.post(f"{api}/namespaces/{NS}/files", params={"path": "/a.py"}, files={"file": ("a.py", b"x")})
    session.get(f"{api}/namespaces/{NS}/files")
    session.get(f"{api}/flows/validate")
    assert len(fake.violations) == 4
    assert "content type application/json not among ['application/x-yaml']" in fake.violations[0]
    assert "multipart field 'file' not among ['fileContent']" in fake.violations[1]
    assert "required query parameter 'path' missing" in fake.violations[2]
    assert "no GET" in fake.violations[3]
    fake.violations.clear()


@pytest.mark.slow
def test_real_repository_deploys_and_reruns_cleanly(fake):
    result = deploy(fake, REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(r.operation_id == "createFlow" for r in fake.writes()) == len(flow_model.flow_paths(REPO_ROOT)) == 11
    fake.requests.clear()
    assert deploy(fake, REPO_ROOT).returncode == 0
    assert fake.writes() == []


def test_deploys_the_flow_files_flow_model_reads_and_only_those(fake, repo):
    # .yaml is a flow everywhere (deploy, docs, tests, the engine tests); a sub-folder or .YML nowhere.
    notify = (
        f"id: notify\nnamespace: {NS}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    write(repo / "subflows/notify.yaml", notify.encode())
    write(repo / "subflows/LOUD.YML", f"id: loud\nnamespace: {NS}\ntasks: []\n".encode())
    write(repo / "subflows/archive/old.yml", f"id: old\nnamespace: {NS}\ntasks: []\n".encode())
    result = deploy(fake, repo)
    assert result.returncode == 0, result.stderr
    assert sorted(flow_id for _, flow_id in fake.flows) == sorted([*(Path(rel).stem for rel in FLOWS), "notify"])
    assert [p.relative_to(repo).as_posix() for p in flow_model.flow_paths(repo)] == [
        "flows/monthly.yml",
        "subflows/check_ingest.yml",
        "subflows/clean.yml",
        "subflows/ingest.yml",
        "subflows/notify.yaml",
    ]
