"""The command line refuses what it cannot run as asked (exit 2, nothing written): a period that is
not exactly YYYY-MM (a trailing line break would name the published folder), an empty period, an
output that is a file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bottleneck_pipeline import cli
from bottleneck_pipeline.cli import main
from bottleneck_pipeline.failures import UsageError
from bottleneck_pipeline.logs import RunLog
from bottleneck_pipeline.runner import RunOptions, run


def usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "period", ["2026-10\n", " 2026-10", "2026-10 ", "2026-1", "2026-13", "2026/10", "２０２６-10", "2026-10-01"]
)
def test_a_period_that_is_not_exactly_yyyy_mm_is_refused(period, tmp_path, capsys):
    err = usage_error(["run", "--output", str(tmp_path), "--period", period], capsys)
    assert f"argument --period: {period!r} is not YYYY-MM (e.g. 2026-11), without spaces" in err
    assert list(tmp_path.iterdir()) == []  # no folder, let alone one named '2026-10\n'


def test_an_empty_period_is_refused_rather_than_read_as_this_month(tmp_path, capsys):
    err = usage_error(["run", "--output", str(tmp_path), "--period", ""], capsys)
    assert (
        "argument --period: empty: give YYYY-MM (e.g. 2026-11), or omit --period for the previous month (Paris time)"
    ) in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--products", "p.parquet", "--out-dir", "out", "--period", "2026-10\n"],
        ["finalize", "--dir", "run", "--period", ""],
    ],
)
def test_the_kestra_commands_check_the_period_too(argv, capsys):
    assert "argument --period:" in usage_error(argv, capsys)


def test_without_period_the_run_is_the_default_month(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "run", lambda opts, log: seen.setdefault("period", opts.period))
    monkeypatch.setattr(cli, "default_period", lambda: "2031-04")
    assert main(["run", "--output", str(tmp_path)]) == 0
    assert seen["period"] == "2031-04"


@pytest.mark.parametrize(
    "day, month",
    [
        (date(2026, 12, 15), "2026-11"),  # the scheduled day: November is reported
        (date(2026, 12, 1), "2026-11"),
        (date(2027, 1, 31), "2026-12"),  # January reports December of the year before
        (date(2024, 3, 1), "2024-02"),  # leap February
    ],
)
def test_the_default_month_is_the_calendar_month_before(day, month):
    assert cli.month_before(day) == month


def test_an_output_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    output = tmp_path / "output"
    output.write_text("not a folder\n")
    status = main(["run", "--output", str(output), "--period", "2026-10", "--retry-delay", "0"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert (
        f"FAILED (usage): output {output}: {output} is a file, not a folder; give a folder "
        "(created when missing)" in err
    )
    assert "bug" not in err and "Traceback" not in err
    assert output.read_text() == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]


def test_an_output_below_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    status = main(["run", "--output", str(tmp_path / "file" / "out"), "--period", "2026-10"])
    assert status == 2
    assert f"{tmp_path / 'file'} is a file, not a folder" in capsys.readouterr().err


def test_the_python_entry_point_checks_the_period_whole(tmp_path):
    """runner.run (what the tests and the benchmark call) applies the same rule as the parser."""
    with pytest.raises(UsageError, match=r"period '2026-10\\n' is not YYYY-MM"):
        run(RunOptions(Path("."), tmp_path, "2026-10\n"), RunLog("t", "2026-10"))
    assert list(tmp_path.iterdir()) == []
