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

sys.path.insert(0, str(REPO))  # `bench.baseline`: the independent reference implementation

# The analyst's reference figures on the real files (issue: pipeline core, "Done when").
REAL_FIGURES = {"products": 714, "ca_total": 70568.60, "premium_count": 30, "ordinary_count": 684}


@pytest.fixture
def real_dir() -> Path:
    if not (REAL / "erp.xlsx").is_file():
        pytest.skip(f"real workbooks not available ({REAL})")
    return REAL


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
    return subprocess.run([sys.executable, "-m", "bottleneck_pipeline", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
