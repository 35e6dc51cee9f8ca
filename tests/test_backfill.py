"""Backfill (issue 14): a range of months run oldest first, each published before the next, so
that every month is compared with the ones before it; the first failed month stops the range."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bottleneck_pipeline import cli
from conftest import SAMPLE, read_workbook, write_workbook
from month_builders import variant


# --- backfill ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def input_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inbox")
    for period in ("2026-09", "2026-10"):
        shutil.copytree(SAMPLE, root / period)
    variant(root / "2026-11", sales_factor=2)
    return root


def test_backfill_runs_the_months_in_order_and_builds_the_comparisons(input_root, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(
        [
            "backfill",
            "--input-root",
            str(input_root),
            "--from",
            "2026-09",
            "--to",
            "2026-11",
            "--output",
            str(out),
            "--retry-delay",
            "0",
        ]
    )
    assert status == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["2026-09", "2026-10", "2026-11"]
    summaries = {
        p: json.loads((out / p / "run_summary.json").read_text(encoding="utf-8"))
        for p in ("2026-09", "2026-10", "2026-11")
    }
    assert [s["comparison"]["previous_period"] for s in summaries.values()] == [None, "2026-09", "2026-10"]
    assert summaries["2026-10"]["comparison"]["ca_change"] == 0.0
    assert not summaries["2026-10"]["quality"]["drift_alert"]
    assert summaries["2026-11"]["quality"]["drift_alert"]  # every sale doubled
    printed = capsys.readouterr().out
    assert "3 month(s) published, 2026-09 to 2026-11" in printed


def test_backfill_stops_at_the_first_failed_month(input_root, tmp_path, capsys):
    root = tmp_path / "inbox"
    shutil.copytree(input_root, root)
    columns, rows = read_workbook(root / "2026-10" / "erp.xlsx")
    write_workbook(root / "2026-10" / "erp.xlsx", [c if c != "price" else "prix" for c in columns], rows)
    out = tmp_path / "out"
    status = cli.main(
        [
            "backfill",
            "--input-root",
            str(root),
            "--from",
            "2026-09",
            "--to",
            "2026-11",
            "--output",
            str(out),
            "--retry-delay",
            "0",
        ]
    )
    err = capsys.readouterr().err
    assert status == 3  # the failed month's own status: data rejected
    assert sorted(p.name for p in out.iterdir()) == ["2026-09", "_failed"]
    [evidence] = (out / "_failed").iterdir()
    assert evidence.name.startswith("2026-10-")
    assert {"run.log", "quality_report.json", "error.json"} <= {p.name for p in evidence.iterdir()}
    assert "backfill stopped at 2026-10: published 2026-09; not run: 2026-11." in err
    assert "FAILED (data) at stage ingest" in err


def test_backfill_refuses_a_range_with_a_missing_month_before_running_anything(input_root, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(
        ["backfill", "--input-root", str(input_root), "--from", "2026-08", "--to", "2026-10", "--output", str(out)]
    )
    assert status == 2
    assert "no input folder for 2026-08" in capsys.readouterr().err
    assert not out.exists()
    assert (
        cli.main(
            ["backfill", "--input-root", str(input_root), "--from", "2026-11", "--to", "2026-09", "--output", str(out)]
        )
        == 2
    )
    assert "--from 2026-11 is after --to 2026-09" in capsys.readouterr().err


def test_backfill_months_cross_the_year():
    from bottleneck_pipeline.runner import months as month_range

    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_range("2026-05", "2026-05") == ["2026-05"]
