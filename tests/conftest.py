"""Shared fixtures: where the sample and the real workbooks are, and small workbook builders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
REAL = REPO.parent / "shared" / "data" / "bottleneck-p10"

# This checkout's own package first, before any editable install of another checkout (a second
# clone's tests would otherwise import the first clone's code); tests/test_gates.py asserts it.
sys.path.insert(0, str(REPO / "namespace_files"))
sys.path.insert(1, str(REPO))  # `bench.baseline`: the independent reference implementation

# The analyst's reference figures on the real files (issue: pipeline core, "Done when").
REAL_FIGURES = {"products": 714, "ca_total": 70568.60, "premium_count": 30, "ordinary_count": 684}


@pytest.fixture
def real_dir() -> Path:
    if not (REAL / "erp.xlsx").is_file():
        pytest.skip(f"real workbooks not available ({REAL})")
    return REAL


# --- markers and the CI rule on skips -------------------------------------------------------------
# real_data: the test needs the real workbooks (or another file of ../shared) and skips without
# them; every test taking the real_dir fixture gets the marker. slow: over ~2 s (real-workbook runs,
# fault injection, subprocess runs); the fast loop is `python -m pytest -q -m "not slow"`.
# With CI set (.ci/run sets it), a test that skips without being real_data FAILS: a CI that skips
# what it claims to run (the deploy tests without ../shared, a tmpfs it could not mount) is not green.


def ci_strict_skips() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "real_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and ci_strict_skips()
        and item.get_closest_marker("real_data") is None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI, and not a real_data test: {reason} "
            "(only the tests that need ../shared may skip; see tests/conftest.py)"
        )


@pytest.fixture(scope="session")
def base_runs(tmp_path_factory):
    """The gate cases' base months, built once per session (tests/gate_month.py)."""
    from gate_month import base_months

    return base_months(tmp_path_factory)


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


def write_workbook(path: Path, columns: list[str], rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def read_workbook(path: Path) -> tuple[list[str], list[list]]:
    sheet = load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return list(rows[0]), rows[1:]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The console command as a user runs it (``python -m`` so no install is assumed)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "namespace_files"))
    return subprocess.run(
        [sys.executable, "-m", "bottleneck_pipeline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
