"""Failure strategy: infrastructure failures simulated for real (a DuckDB database locked by
another process, a read-only output file system, a full disk, a missing input folder) are retried
with backoff then stop with exit status 4; a data rejection is never retried; nothing is published
and earlier periods stay intact; the logs are structured and hold no secret."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bottleneck_pipeline import storage
from bottleneck_pipeline.cli import main
from bottleneck_pipeline.failures import EXIT_BUG, EXIT_INFRA, as_pipeline_error
from conftest import SAMPLE, read_workbook, run_cli, write_workbook

LOG_KEYS = {"time", "level", "run_id", "period", "stage", "event", "rows_in", "rows_out", "seconds", "message"}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def failure_log(output: Path) -> list[dict]:
    folder = next((output / "_failed").iterdir())
    return [json.loads(line) for line in (folder / "run.log").read_text().splitlines()]


def retries(events: list[dict]) -> int:
    return sum(e["event"] == "retry" for e in events)


@contextmanager
def duckdb_locked_by_another_process(path: Path, seconds: float):
    """A second process opens the DuckDB file (taking its write lock) and holds it."""
    ready = path.with_suffix(".ready")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, pathlib, sys, time; con = duckdb.connect(sys.argv[1]); "
            "pathlib.Path(sys.argv[2]).touch(); time.sleep(float(sys.argv[3]))",
            str(path),
            str(ready),
            str(seconds),
        ]
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert time.monotonic() < deadline and holder.poll() is None, "lock holder did not start"
            time.sleep(0.05)
        yield holder
    finally:
        holder.kill()
        holder.wait()


# Mounting needs root: as another user (a CI runner), through passwordless sudo.
AS_ROOT = [] if os.geteuid() == 0 else ["sudo", "-n"]


@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        [*AS_ROOT, "mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:  # a skip: with CI set, a failure (tests/conftest.py)
        pytest.skip(f"cannot mount a tmpfs here to simulate the file system: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run([*AS_ROOT, "umount", "-l", str(path)], check=False)


def previous_month(output: Path) -> dict[str, str]:
    """A small earlier period folder (as a previous run would have left it)."""
    folder = output / "2026-09"
    folder.mkdir(parents=True)
    (folder / "run_summary.json").write_text('{"period": "2026-09"}\n')
    (folder / "vins_premium.csv").write_text("product_id;sku\n1;2\n")
    return digest(folder)


@pytest.mark.parametrize(
    "code, kind, status",
    [
        (errno.ENOSPC, "infrastructure", EXIT_INFRA),  # full disk
        (errno.EROFS, "infrastructure", EXIT_INFRA),  # read-only file system
        (errno.EACCES, "infrastructure", EXIT_INFRA),  # rights on the output folder
        (errno.ENOENT, "bug", EXIT_BUG),  # a file our own code should have made
        (errno.EISDIR, "bug", EXIT_BUG),
    ],
)
def test_the_taxonomy_sorts_an_os_error_by_its_errno(code, kind, status):
    """failures.py owns the errno classification (storage imports it, never the reverse)."""
    err = as_pipeline_error(OSError(code, os.strerror(code), "rapport_ca.xlsx"), "report")
    assert (err.kind, err.exit_status, err.stage) == (kind, status, "report")
    if kind == "infrastructure":
        assert err.message == f"{os.strerror(code)} (rapport_ca.xlsx)"
    wrapped = RuntimeError("the writer failed")  # a library's own error around the OSError (XlsxWriter)
    wrapped.__cause__ = OSError(code, os.strerror(code), "rapport_ca.xlsx")
    assert as_pipeline_error(wrapped, "report").kind == kind


@pytest.mark.slow
def test_locked_duckdb_is_retried_then_stops_as_infrastructure(tmp_path):
    database, output = tmp_path / "work.duckdb", tmp_path / "out"
    before = previous_month(output)
    with duckdb_locked_by_another_process(database, seconds=60):
        result = run_cli(
            "--database",
            str(database),
            "run",
            "--output",
            str(output),
            "--period",
            "2026-10",
            "--retries",
            "2",
            "--retry-delay",
            "0.05",
        )
    assert result.returncode == 4, result.stderr
    assert "FAILED (infrastructure) at stage ingest" in result.stderr
    assert "Could not set lock" in result.stderr and "réessayée automatiquement" in result.stderr
    assert retries(failure_log(output)) == 2
    assert sorted(p.name for p in output.iterdir()) == ["2026-09", "_failed"]
    assert digest(output / "2026-09") == before


@pytest.mark.slow
def test_a_lock_released_meanwhile_is_absorbed_by_the_retries(tmp_path):
    database, output = tmp_path / "work.duckdb", tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "namespace_files"))
    with duckdb_locked_by_another_process(database, seconds=600) as holder:
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bottleneck_pipeline",
                "--log-format",
                "json",
                "--database",
                str(database),
                "run",
                "--output",
                str(output),
                "--period",
                "2026-10",
                "--retries",
                "3",
                "--retry-delay",
                "0.5",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        events = []
        for line in run.stdout:  # the other process lets go once our run has failed once
            events.append(json.loads(line))
            if events[-1]["event"] == "retry":
                holder.kill()
                holder.wait()
        assert run.wait(timeout=120) == 0, run.stderr.read()
    assert retries(events) == 1
    assert (output / "2026-10" / "rapport_ca.xlsx").is_file()


def test_read_only_output_is_infrastructure(tmp_path):
    with tmpfs(tmp_path / "ro", "4m") as output:
        before = previous_month(output)
        subprocess.run([*AS_ROOT, "mount", "-o", "remount,ro", str(output)], check=True)
        result = run_cli("run", "--output", str(output), "--period", "2026-10", "--retries", "1", "--retry-delay", "0")
        assert result.returncode == 4, result.stderr
        assert "FAILED (infrastructure)" in result.stderr and "Read-only file system" in result.stderr
        assert "retry" in result.stdout  # retried once before giving up
        assert sorted(p.name for p in output.iterdir()) == ["2026-09"]
        assert digest(output / "2026-09") == before


@pytest.mark.slow
def test_full_disk_is_infrastructure_and_publishes_nothing(tmp_path):
    with tmpfs(tmp_path / "full", "160k") as output:  # room for the staging, not for the outputs
        before = previous_month(output)
        result = run_cli("run", "--output", str(output), "--period", "2026-10", "--retries", "1", "--retry-delay", "0")
        assert result.returncode == 4, result.stderr
        assert "No space left on device" in result.stderr
        assert not (output / "2026-10").exists()
        assert not [p for p in output.iterdir() if p.name.startswith(".staging")]
        assert digest(output / "2026-09") == before


@pytest.mark.slow
def test_disk_full_injected_at_the_write_is_retried(tmp_path, monkeypatch, capsys):
    real_write, calls = storage.write_parquet, []

    def full_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))
        return real_write(*args, **kwargs)

    monkeypatch.setattr("bottleneck_pipeline.pipeline.write_parquet", full_once)
    status = main(["run", "--output", str(tmp_path), "--period", "2026-10", "--retry-delay", "0"])
    assert status == 0, capsys.readouterr().err
    log = [json.loads(line) for line in (tmp_path / "2026-10" / "run.log").read_text().splitlines()]
    assert [e["stage"] for e in log if e["event"] == "retry"] == ["ingest"]
    assert "No space left on device" in next(e for e in log if e["event"] == "retry")["message"]


def test_missing_input_folder_is_infrastructure(tmp_path):
    result = run_cli(
        "run",
        "--input",
        str(tmp_path / "not-mounted"),
        "--output",
        str(tmp_path / "out"),
        "--retries",
        "2",
        "--retry-delay",
        "0",
    )
    assert result.returncode == 4
    assert "Dossier d'entrée inaccessible" in result.stderr
    assert retries(failure_log(tmp_path / "out")) == 2


@pytest.mark.slow
def test_a_data_rejection_is_never_retried(tmp_path):
    columns, rows = read_workbook(SAMPLE / "erp.xlsx")
    inputs = tmp_path / "in"
    write_workbook(inputs / "erp.xlsx", columns, rows + [list(rows[0][:2]) + [99.99] + list(rows[0][3:])])
    for name in ("web", "liaison"):
        (inputs / f"{name}.xlsx").write_bytes((SAMPLE / f"{name}.xlsx").read_bytes())
    result = run_cli(
        "run", "--input", str(inputs), "--output", str(tmp_path / "out"), "--retries", "5", "--retry-delay", "0"
    )
    assert result.returncode == 3
    events = failure_log(tmp_path / "out")
    assert retries(events) == 0
    assert [e["stage"] for e in events if e["event"] == "done"] == ["ingest"]  # clean ran once, failed
    assert events[-1]["event"] == "failed" and events[-1]["stage"] == "clean"


@pytest.mark.slow
def test_log_lines_are_structured_and_hold_no_secret(tmp_path):
    secret = "s3cr3t-do-not-log-4242"
    env = dict(
        os.environ,
        KESTRA_PASSWORD=secret,
        SLACK_WEBHOOK_URL=f"https://hooks.example/{secret}",
        PYTHONPATH=str(Path(__file__).resolve().parents[1] / "namespace_files"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bottleneck_pipeline",
            "--log-format",
            "json",
            "--run-id",
            "exec-123",
            "run",
            "--output",
            str(tmp_path),
            "--period",
            "2026-10",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(line) == LOG_KEYS for line in lines)
    assert {line["run_id"] for line in lines} == {"exec-123"}
    assert [line["stage"] for line in lines if line["event"] == "done"] == [
        "ingest",
        "clean",
        "merge",
        "report",
        "classify",
    ]
    saved = (tmp_path / "2026-10" / "run.log").read_text()
    assert secret not in result.stdout + result.stderr + saved


def test_a_period_left_aside_by_a_killed_publish_is_restored(tmp_path):
    """Killed between the two renames of the publication: the previous folder sits aside."""
    output = tmp_path / "out"
    aside = output / ".previous-2026-10-1a2b3c4d"
    aside.mkdir(parents=True)
    (aside / "run_summary.json").write_text('{"period": "2026-10"}\n')
    before = digest(aside)
    result = run_cli(
        "run", "--input", str(tmp_path / "missing"), "--output", str(output), "--period", "2026-10", "--retries", "0"
    )
    assert result.returncode == 4  # this run fails, but first it puts the earlier folder back
    assert digest(output / "2026-10") == before and not aside.exists()
