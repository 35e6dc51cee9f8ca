"""Month over month (issue 14): the history of published periods, the comparison in the run
summary, the drift alert, and the Kestra contract (finalize --history). Backfill, the French
deliverables and the HTML page have their own test files; the months they share are built in
month_builders.py.

Every expected value is computed here from the files the runs published (the extracts' rows, the
summaries), never copied from the code under test."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bottleneck_pipeline import cli, pipeline
from bottleneck_pipeline.pipeline import STAGES
from conftest import SAMPLE, run_cli
from month_builders import FILES, machine_rows, month_facts, numeric, published_months, run_month, variant


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> dict:
    return published_months(tmp_path_factory)


# --- 1. history and comparison -------------------------------------------------------------------


def test_comparison_with_the_previous_published_month(months):
    out, summary = months["out"], months["november"]
    now, before = month_facts(out / "2026-11"), month_facts(out / "2026-10")
    c = json.loads((out / "2026-11" / "run_summary.json").read_text(encoding="utf-8"))["comparison"]
    assert c == summary["comparison"]
    assert c["previous_period"] == "2026-10"  # not the failed run's evidence in _failed/
    assert (out / "_failed").is_dir()
    assert Decimal(str(c["previous_ca_total"])) == before["ca"]
    assert Decimal(str(c["ca_change"])) == now["ca"] - before["ca"]
    assert c["ca_change_pct"] == float(((now["ca"] - before["ca"]) / before["ca"] * 100).quantize(Decimal("0.01")))
    assert c["products_change"] == now["products"] - before["products"] == -5
    assert c["premium_entered"] == numeric(now["premium"] - before["premium"])
    assert c["premium_left"] == numeric(before["premium"] - now["premium"])
    assert months["bumped"] in c["premium_entered"] and c["premium_left"]  # both lists exercised
    assert c["products_lost"] == len(before["ids"] - now["ids"]) == 5
    assert set(c["products_lost_ids"]) == set(months["dropped"])
    assert c["products_lost_share"] == round(5 / before["products"], 4)
    assert c["year_ago_period"] == "2025-11"
    assert Decimal(str(c["year_ago_ca_total"])) == month_facts(out / "2025-11")["ca"]
    assert c["history_periods"] == ["2025-11", "2026-10"]


def test_first_month_has_no_comparison_and_no_drift_warning(months):
    summary = json.loads((months["out"] / "2025-11" / "run_summary.json").read_text(encoding="utf-8"))
    c = summary["comparison"]
    assert c["previous_period"] is None and c["year_ago_period"] is None
    assert all(
        c[key] is None
        for key in (
            "previous_ca_total",
            "ca_change",
            "ca_change_pct",
            "products_change",
            "premium_entered",
            "premium_left",
            "year_ago_ca_total",
        )
    )
    assert not summary["quality"]["drift_alert"]
    quality = json.loads((months["out"] / "2025-11" / "quality_report.json").read_text(encoding="utf-8"))
    compare = [r for r in quality["results"] if r["stage"] == "compare"]
    assert {r["id"] for r in compare} == {
        "compare.ca.drift_within_limit",
        "compare.products.lost_within_limit",
        "compare.history.readable",
    }
    assert all(r["passed"] for r in compare)


def test_small_changes_raise_no_drift_alert(months):
    summary = months["november"]
    assert abs(summary["comparison"]["ca_change_pct"]) < 30 and summary["comparison"]["products_lost_share"] < 0.2
    assert not summary["quality"]["drift_alert"]
    assert not [w for w in summary["quality"]["warnings_fr"] if w.startswith("[compare.")]


def test_a_rerun_of_an_earlier_month_compares_with_the_months_before_it(months, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(months["out"], out)
    again = run_month(SAMPLE, out, "2026-10")
    assert again["comparison"]["previous_period"] == "2025-11"  # never the later 2026-11
    assert again["comparison"]["ca_change"] == 0.0 and again["comparison"]["premium_entered"] == []


def test_an_unreadable_month_is_skipped_with_a_warning(months, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(months["out"], out)
    (out / "2026-10" / "run_summary.json").write_text("{not json", encoding="utf-8")
    (out / "2026-09").mkdir()
    (out / "2026-09" / "stray.txt").write_text("x")
    summary = run_month(months["november_in"], out, "2026-11")
    assert summary["comparison"]["previous_period"] == "2025-11"
    assert set(summary["comparison"]["history_unreadable"]) == {"2026-09", "2026-10"}
    assert any(
        w.startswith("[compare.history.readable] 2 mois de l'historique illisible(s)")
        for w in summary["quality"]["warnings_fr"]
    )


# --- 2. drift alert ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drift(tmp_path_factory, months) -> dict:
    """2026-10 from the sample, then a 2026-11 with every sale doubled and a quarter of the
    catalogue gone."""
    root = tmp_path_factory.mktemp("drift")
    out = root / "out"
    shutil.copytree(months["out"] / "2026-10", out / "2026-10")
    ids = [r["product_id"] for name in FILES for r in machine_rows(out / "2026-10" / "machine" / name)]
    gone = tuple(ids[::4])
    november = variant(root / "nov", sales_factor=2, drop=gone)
    return {"out": out, "input": november, "gone": gone}


def test_drift_alert_warns_and_publishes(drift):
    status = cli.main(
        [
            "run",
            "--input",
            str(drift["input"]),
            "--output",
            str(drift["out"]),
            "--period",
            "2026-11",
            "--retry-delay",
            "0",
        ]
    )
    assert status == 0
    folder = drift["out"] / "2026-11"
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    before, now = month_facts(drift["out"] / "2026-10"), month_facts(folder)
    share = (now["ca"] - before["ca"]) / before["ca"]
    assert share > Decimal("0.30")
    assert summary["quality"]["drift_alert"] and summary["quality"]["status"] == "passed"
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    results = {r["id"]: r for r in quality["results"]}
    ca, lost = results["compare.ca.drift_within_limit"], results["compare.products.lost_within_limit"]
    assert (ca["passed"], ca["severity"], lost["passed"], lost["severity"]) == (False, "warn", False, "warn")
    assert quality["status"] == "passed" and quality["errors"] == 0
    euros = f"{now['ca']:,.2f}".replace(",", "\u00a0").replace(".", ",")
    pct = f"{share * 100:.2f}".replace(".", ",")
    assert ca["message"].startswith(f"CA de novembre 2026 : {euros} € contre ")
    assert f"soit une hausse de {pct}\u00a0%, au-delà du seuil d'alerte de 30\u00a0%." in ca["message"]
    assert lost["offending_count"] == len(drift["gone"])
    first = numeric(drift["gone"])[0]
    assert f"{len(drift['gone'])} des {before['products']} produits d'octobre 2026" in lost["message"]
    assert f"{first} ({before['names'][first]})" in lost["message"]
    assert "seuil d'alerte de 20\u00a0%" in lost["message"]


def test_drift_thresholds_are_options(drift, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(drift["out"] / "2026-10", out / "2026-10")
    summary = run_month(drift["input"], out, "2026-11", max_ca_drift=5.0, max_products_lost=0.5)
    assert not summary["quality"]["drift_alert"]


def test_drift_options_are_checked(tmp_path, capsys):
    assert cli.main(["run", "--output", str(tmp_path), "--period", "2026-10", "--max-products-lost", "2"]) == 2
    assert "max products lost 2.0 must be between 0 and 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_drift_gates_are_in_the_check_catalogue():
    result = run_cli("checks")
    assert result.returncode == 0
    for check in ("compare.ca.drift_within_limit", "compare.products.lost_within_limit", "compare.history.readable"):
        assert re.search(rf"^\| `{re.escape(check)}` \| warn \|", result.stdout, re.M), check


# --- the Kestra contract: finalize --history ----------------------------------------------------


def stage_folders(input_dir: Path, work: Path, period: str) -> None:
    """The five stages and their gates, each in its own folder, as the Kestra subflows run them."""
    from bottleneck_pipeline.runner import stage_inputs

    for stage in STAGES:
        inputs = stage_inputs(stage, input_dir, work)
        extra = (
            {"period": period, "z_threshold": 2.0}
            if stage == "report"
            else {"z_threshold": 2.0}
            if stage == "classify"
            else {}
        )
        getattr(pipeline, stage)(**inputs, **extra, out_dir=work / stage)
        assert not [
            r for r in pipeline.check_stage(stage, {} if stage == "ingest" else inputs, work / stage, {}) if r.blocking
        ]


def kestra_run_folder(work: Path, run: Path) -> Path:
    """run/ as the parent flow's finalize task receives it (its inputFiles)."""
    (run / "machine").mkdir(parents=True)
    for stage in STAGES:
        for name in (f"{stage}_manifest.json", f"{stage}_checks.json"):
            shutil.copyfile(work / stage / name, run / name)
    shutil.copyfile(work / "report" / "rapport_ca.xlsx", run / "rapport_ca.xlsx")
    for name in FILES:
        shutil.copyfile(work / "classify" / name, run / name)
        shutil.copyfile(work / "classify" / "machine" / name, run / "machine" / name)
    return run


def test_finalize_reads_the_kestra_history_folder(months, tmp_path, capsys):
    """The Kestra contract: history/YYYY-MM/ holding run_summary.json and the two French
    extracts (no machine/ folder needed), the finalize command given --history."""
    history = tmp_path / "history"
    for period in ("2025-11", "2026-10"):
        (history / period).mkdir(parents=True)
        for name in ("run_summary.json", *FILES):
            shutil.copyfile(months["out"] / period / name, history / period / name)
    work = tmp_path / "work"
    stage_folders(months["november_in"], work, "2026-11")
    folder = kestra_run_folder(work, tmp_path / "run")
    capsys.readouterr()
    assert (
        cli.main(
            ["--log-format", "json", "finalize", "--dir", str(folder), "--period", "2026-11", "--history", str(history)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    outputs = json.loads(re.search(r"^::(\{\"outputs\".*\})::$", printed, re.M).group(1))["outputs"]
    local = months["out"] / "2026-11"
    engine_summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    local_summary = json.loads((local / "run_summary.json").read_text(encoding="utf-8"))
    assert engine_summary["comparison"] == local_summary["comparison"]
    assert outputs["previous_period"] == "2026-10" and outputs["drift_alert"] is False
    assert outputs["warnings"] == engine_summary["quality"]["warnings"]
    for name in (*FILES, *(f"machine/{n}" for n in FILES)):  # the same bytes on both paths
        assert (folder / name).read_bytes() == (local / name).read_bytes(), name
    synthese = {
        r[0]: r[1] for r in load_workbook(folder / "rapport_ca.xlsx")["Synthèse"].iter_rows(values_only=True) if r[0]
    }
    assert synthese["Mois comparé (dernier mois publié avant celui-ci)"] == "octobre 2026"


def test_finalize_without_history_compares_with_nothing(months, tmp_path):
    work = tmp_path / "work"
    stage_folders(SAMPLE, work, "2026-11")
    folder = kestra_run_folder(work, tmp_path / "run")
    for history in ([], ["--history", str(tmp_path / "absent")]):  # first Kestra run: no history/ yet
        assert cli.main(["finalize", "--dir", str(folder), "--period", "2026-11", *history]) == 0
        summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
        assert summary["comparison"]["previous_period"] is None and summary["comparison"]["history_periods"] == []


def test_finalize_refuses_a_run_folder_without_the_machine_extracts(months, tmp_path, capsys):
    work = tmp_path / "work"
    stage_folders(SAMPLE, work, "2026-11")
    folder = kestra_run_folder(work, tmp_path / "run")
    shutil.rmtree(folder / "machine")
    assert cli.main(["finalize", "--dir", str(folder), "--period", "2026-11"]) == 3
    assert "Livrable(s) manquant(s) : machine/vins_premium.csv, machine/vins_ordinaires.csv" in capsys.readouterr().err
    assert not (folder / "run_summary.json").exists()
