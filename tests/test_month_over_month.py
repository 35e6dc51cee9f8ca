"""Month over month (issue 14): the history of published periods, the comparison in the run
summary, the drift alert, backfill, and the deliverables as a French finance team opens them: the
CSV extracts parsed as French Excel parses them (';', decimal comma), the workbook read back with
openpyxl.

Every expected value is computed here from the files the runs published (the extracts' rows, the
summaries), never copied from the code under test."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bottleneck_pipeline import STAGES, cli, pipeline
from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.logs import RunLog
from bottleneck_pipeline.runner import RunOptions, run
from conftest import REAL_FIGURES, SAMPLE, read_workbook, run_cli, write_workbook

FRENCH_HEADER = ["Identifiant produit", "SKU web", "Vin", "Prix (€)", "Z-score du prix", "Quantité vendue", "CA (€)"]
MACHINE_HEADER = ["product_id", "sku", "nom_du_vin", "prix_eur", "z_score", "quantite_vendue", "ca_eur"]
FRENCH_NUMBER = re.compile(r"-?[0-9]+,[0-9]{2}")  # what French Excel reads as a number: 1234,50
FILES = ("vins_premium.csv", "vins_ordinaires.csv")


def run_month(input_dir: Path, output: Path, period: str, **options) -> dict:
    return run(
        RunOptions(input_dir, output, period, retry_delay=0, **options), RunLog("test", period, stream=io.StringIO())
    )


# --- reading the deliverables as their users do ------------------------------------------------


def french_rows(path: Path) -> list[dict]:
    """A French extract as French Excel reads it: ';' separated, quoted text, decimal comma.
    Numbers come back as Decimal; a number field that French Excel would not take for a number
    fails here."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";", quotechar='"')
        header = next(reader)
        assert header == FRENCH_HEADER
        rows = []
        for fields in reader:
            row = dict(zip(header, fields))
            for column in ("Prix (€)", "CA (€)", "Z-score du prix"):
                if row[column] != "":
                    assert FRENCH_NUMBER.fullmatch(row[column]), (column, row[column])
                    row[column] = Decimal(row[column].replace(",", "."))
            assert re.fullmatch(r"[0-9]*", row["Quantité vendue"])
            rows.append(row)
    return rows


def machine_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        assert reader.fieldnames == MACHINE_HEADER
        return list(reader)


def month_facts(folder: Path) -> dict:
    """A published month, from its files only: CA and wines of each class."""
    premium = french_rows(folder / "vins_premium.csv")
    ordinary = french_rows(folder / "vins_ordinaires.csv")
    wines = premium + ordinary
    return {
        "ca": sum((r["CA (€)"] for r in wines), Decimal(0)),
        "ids": {r["Identifiant produit"] for r in wines},
        "premium": {r["Identifiant produit"] for r in premium},
        "names": {r["Identifiant produit"]: r["Vin"] for r in wines},
        "products": len(wines),
    }


def numeric(ids) -> list[str]:
    return sorted(ids, key=lambda i: (0, int(i), i) if i.isdigit() else (1, 0, i))


# --- building months from the sample -------------------------------------------------------------


def variant(
    target: Path,
    *,
    sales_factor: int = 1,
    drop: tuple[str, ...] = (),
    prices: dict[str, float] | None = None,
    source: Path = SAMPLE,
) -> Path:
    """The sample's three workbooks, changed as a later month could be: products gone from the
    whole catalogue (ERP, link table and web), prices changed, every sale multiplied."""
    prices = prices or {}
    erp_columns, erp = read_workbook(source / "erp.xlsx")
    link_columns, links = read_workbook(source / "liaison.xlsx")
    web_columns, web = read_workbook(source / "web.xlsx")
    pid, price = erp_columns.index("product_id"), erp_columns.index("price")
    gone_skus = {str(row[1]) for row in links if str(row[0]) in drop and row[1] is not None}
    erp = [row for row in erp if str(row[pid]) not in drop]
    for row in erp:
        if str(row[pid]) in prices:
            row[price] = prices[str(row[pid])]
    links = [row for row in links if str(row[0]) not in drop]
    sku, sales = web_columns.index("sku"), web_columns.index("total_sales")
    web = [row for row in web if str(row[sku]) not in gone_skus]
    for row in web:
        if isinstance(row[sales], (int, float)):
            row[sales] = row[sales] * sales_factor
    write_workbook(target / "erp.xlsx", erp_columns, erp)
    write_workbook(target / "liaison.xlsx", link_columns, links)
    write_workbook(target / "web.xlsx", web_columns, web)
    return target


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> dict:
    """Four published months: 2025-11 and 2026-10 from the sample, then a failed 2026-11 run
    (nothing published), then 2026-11 with 5 products gone, an unsold ordinary wine at 900 EUR
    (it enters the premium list, and widens the spread so that some premium wines leave it)."""
    root = tmp_path_factory.mktemp("months")
    out = root / "out"
    run_month(SAMPLE, out, "2025-11")
    october = run_month(SAMPLE, out, "2026-10")
    machine = machine_rows(out / "2026-10" / "machine" / "vins_ordinaires.csv")
    unsold = [r["product_id"] for r in machine if r["quantite_vendue"] == "0"]
    dropped = tuple(r["product_id"] for r in machine[10:15])
    bumped = unsold[-1]
    broken = root / "broken"
    broken.mkdir()
    (broken / "erp.xlsx").write_bytes(b"not a workbook")
    for name in ("web.xlsx", "liaison.xlsx"):
        shutil.copyfile(SAMPLE / name, broken / name)
    with pytest.raises(DataRejected):  # an unreadable workbook is a data rejection
        run_month(broken, out, "2026-11")
    november_in = variant(root / "nov", drop=dropped, prices={bumped: 900.0})
    november = run_month(november_in, out, "2026-11")
    return {
        "out": out,
        "october": october,
        "november": november,
        "dropped": dropped,
        "bumped": bumped,
        "november_in": november_in,
    }


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


# --- 3. backfill ---------------------------------------------------------------------------------


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


# --- 4. the extracts for French Excel ------------------------------------------------------------


def test_french_extracts_read_as_numbers_in_french_excel(months):
    folder = months["out"] / "2026-11"
    summary = months["november"]
    premium = french_rows(folder / "vins_premium.csv")
    ordinary = french_rows(folder / "vins_ordinaires.csv")
    assert (folder / "vins_premium.csv").read_bytes().startswith("\ufeff".encode())
    assert len(premium) == summary["premium_count"] and len(ordinary) == summary["ordinary_count"]
    total = sum((r["CA (€)"] for r in premium + ordinary), Decimal(0))
    assert total == Decimal(str(summary["ca_total"])).quantize(Decimal("0.01"))  # the sums work
    for row in premium + ordinary:
        assert row["CA (€)"] == row["Prix (€)"] * int(row["Quantité vendue"])
    assert min(r["Z-score du prix"] for r in premium) > 2 >= max(r["Z-score du prix"] for r in ordinary)
    assert [r["Prix (€)"] for r in ordinary] == sorted((r["Prix (€)"] for r in ordinary), reverse=True)
    text = (folder / "vins_ordinaires.csv").read_text(encoding="utf-8-sig")
    assert not re.search(r";-?[0-9]+\.[0-9]", text)  # no decimal point anywhere


def test_french_and_machine_extracts_hold_the_same_wines(months):
    folder = months["out"] / "2026-11"
    for name in FILES:
        french = french_rows(folder / name)
        machine = machine_rows(folder / "machine" / name)
        assert [r["Identifiant produit"] for r in french] == [r["product_id"] for r in machine]
        assert [r["Vin"] for r in french] == [r["nom_du_vin"] for r in machine]
        for f, m in zip(french, machine):
            assert f["Prix (€)"] == Decimal(m["prix_eur"]) and f["CA (€)"] == Decimal(m["ca_eur"])
            assert f["Quantité vendue"] == m["quantite_vendue"]
            assert f["Z-score du prix"] == Decimal(float(m["z_score"])).quantize(Decimal("0.01"))
        assert any(len(m["z_score"].split(".")[-1]) > 10 for m in machine)  # full precision there


def test_real_files_keep_their_figures_in_the_french_extracts(real_dir, tmp_path):
    summary = run_month(real_dir, tmp_path, "2026-11")
    assert {k: summary[k] for k in REAL_FIGURES} == REAL_FIGURES
    premium = french_rows(tmp_path / "2026-11" / "vins_premium.csv")
    ordinary = french_rows(tmp_path / "2026-11" / "vins_ordinaires.csv")
    assert (len(premium), len(ordinary)) == (30, 684)
    assert sum((r["CA (€)"] for r in premium + ordinary), Decimal(0)) == Decimal("70568.60")


# --- 5. the workbook -----------------------------------------------------------------------------


def summary_sheet(folder: Path) -> dict:
    sheet = load_workbook(folder / "rapport_ca.xlsx")["Synthèse"]
    return {row[0].value: row for row in sheet.iter_rows() if row[0].value}


def test_workbook_product_sheet_has_class_and_zscore(months):
    folder = months["out"] / "2026-11"
    sheet = load_workbook(folder / "rapport_ca.xlsx")["CA par produit"]
    header = [c.value for c in sheet[1]]
    assert header[-2:] == ["Z-score du prix", "Classe"]
    n = months["november"]["products"]
    rows = list(sheet.iter_rows(min_row=2, max_row=n + 1, values_only=True))
    premium = {r["Identifiant produit"]: r for r in french_rows(folder / "vins_premium.csv")}
    ordinary = {r["Identifiant produit"]: r for r in french_rows(folder / "vins_ordinaires.csv")}
    for row in rows:
        extract = premium.get(row[0]) or ordinary[row[0]]
        assert row[7] == ("premium" if row[0] in premium else "ordinaire")
        assert Decimal(str(row[6])) == extract["Z-score du prix"]
    assert sum(r[7] == "premium" for r in rows) == months["november"]["premium_count"]
    assert sheet.cell(2, 7).number_format == "0.00"


def test_workbook_names_are_not_cut(months):
    folder = months["out"] / "2026-11"
    sheet = load_workbook(folder / "rapport_ca.xlsx")["CA par produit"]
    names = [c.value for c in sheet["C"][1 : months["november"]["products"] + 1] if c.value]
    assert sheet.column_dimensions["C"].width >= max(len(n) for n in names)
    assert sheet["C2"].alignment.wrap_text  # and a longer name would wrap


def test_workbook_summary_sheet_tells_period_definition_quality_and_comparison(months):
    folder = months["out"] / "2026-11"
    summary = months["november"]
    rows = summary_sheet(folder)
    value = {label: row[1].value for label, row in rows.items()}
    sheet = load_workbook(folder / "rapport_ca.xlsx")["Synthèse"]
    assert sheet["A1"].value == "BottleNeck — chiffre d'affaires de novembre 2026"
    assert value["Période"] == "novembre 2026"
    assert value["Définition du CA"] == "prix ERP x quantité vendue en ligne"
    assert "erp.xlsx, colonne price" in rows["Définition du CA"][2].value
    assert "total_sales" in rows["Définition du CA"][2].value
    assert value["Prix TTC ou HT"] == "non précisé par les sources"
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    assert value["Statut qualité"] == (
        f"Conforme : {quality['passed']}/{quality['checks']} contrôles réussis, aucun contrôle bloquant en échec"
    )
    assert value["Avertissements (contrôles non bloquants)"] == quality["warnings"] > 0
    detail = rows["Avertissements (contrôles non bloquants)"][2].value
    first = next(
        f"[{r['id']}] {r['message']}" for r in quality["results"] if not r["passed"] and r["severity"] == "warn"
    )
    assert first.startswith(detail.splitlines()[0].removesuffix("…"))
    c = summary["comparison"]
    before = month_facts(months["out"] / "2026-10")
    assert value["Mois comparé (dernier mois publié avant celui-ci)"] == "octobre 2026"
    assert value["CA du mois comparé"] == pytest.approx(float(before["ca"]), abs=0.005)
    assert value["Évolution du CA"] == pytest.approx(c["ca_change"], abs=0.005)
    assert rows["Évolution du CA"][1].number_format.startswith("+")
    assert value["Évolution du CA (%)"] == pytest.approx(c["ca_change_pct"] / 100, abs=1e-6)
    assert "%" in rows["Évolution du CA (%)"][1].number_format
    assert value["Évolution du nombre de produits"] == -5
    assert value["Vins entrés dans la liste premium"] == len(c["premium_entered"])
    bumped = months["bumped"]
    assert f"{bumped} {month_facts(folder)['names'][bumped]}" in rows["Vins entrés dans la liste premium"][2].value
    assert value["Vins sortis de la liste premium"] == len(c["premium_left"])
    assert value["Produits du mois comparé absents de ce rapport"] == 5
    assert value["Même mois un an plus tôt"] == "novembre 2025"
    assert value["CA du même mois un an plus tôt"] == pytest.approx(c["year_ago_ca_total"], abs=0.005)
    assert "calculé à la fin" not in json.dumps([str(v) for v in value.values()])  # no placeholder left


def test_workbook_first_month_says_there_is_nothing_to_compare(months):
    value = {label: row[1].value for label, row in summary_sheet(months["out"] / "2025-11").items()}
    assert value["Mois comparé (dernier mois publié avant celui-ci)"] == "aucun mois publié avant celui-ci"
    assert value["Évolution du CA"] == "—" and value["Même mois un an plus tôt"] == "non publié"


def test_workbook_pages_carry_period_and_page_numbers(months):
    workbook = load_workbook(months["out"] / "2026-11" / "rapport_ca.xlsx")
    for sheet in workbook.worksheets:
        assert sheet.oddHeader.left.text == "BottleNeck — chiffre d'affaires de novembre 2026"
        assert sheet.oddFooter.left.text == "Période : novembre 2026"
        assert sheet.oddFooter.center.text == "Page &P sur &N"
        assert sheet.page_setup.orientation == "landscape"


# --- 6. the HTML page ----------------------------------------------------------------------------


def page_of(folder: Path) -> str:
    return (folder / "rapport_qualite.html").read_text(encoding="utf-8")


def test_html_page_shows_the_business_view_first(months):
    page = page_of(months["out"] / "2026-11")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings[:3] == ["Comparaison avec les mois publiés", "Répartition du CA", headings[2]]
    assert headings[2].startswith("À corriger")
    assert headings[-2:] == ["Contrôles réussis", "Sources"]
    assert "<h1>BottleNeck — chiffre d'affaires de novembre 2026</h1>" in page


def test_html_page_compares_with_the_previous_month(months):
    page = page_of(months["out"] / "2026-11")
    c = months["november"]["comparison"]
    nbsp = "\u00a0"
    pct = f"{abs(c['ca_change_pct']):.2f}".replace(".", ",")
    trend = "en hausse" if c["ca_change"] > 0 else "en baisse"
    assert f"CA {trend} de {pct}{nbsp}% par rapport à octobre 2026" in page
    before = f"{c['previous_ca_total']:,.2f}".replace(",", nbsp).replace(".", ",") + f"{nbsp}€"
    assert f"contre {before})" in page
    bumped = months["bumped"]
    assert f"<li>{bumped} {month_facts(months['out'] / '2026-11')['names'][bumped]}</li>" in page
    for wine in c["premium_left"]:  # named, even those no longer in this month's extracts
        assert re.search(rf"<li>{re.escape(wine)} [^<]+</li>", page), wine
    assert "Même mois un an plus tôt (novembre 2025)" in page


def test_html_numbers_never_break(months):
    page = page_of(months["out"] / "2026-11")
    # Hashes left out: "SHA-256 033f..." is a label and a hash, not a number broken in two.
    text = re.sub(r"<[^>]+>", "", re.sub(r"<svg.*?</svg>|<style>.*?</style>|<code>.*?</code>", "", page, flags=re.S))
    figures = [months["november"]["ca_total"], months["november"]["comparison"]["previous_ca_total"]]
    for value in figures:
        plain = f"{value:,.2f}".replace(",", " ").replace(".", ",")
        assert plain not in text and plain.replace(" ", "\u00a0") + "\u00a0€" in text
    assert not re.search(r"[0-9] [0-9]{3}(?![0-9])|[0-9] [€%]", text)  # nor in the checks' messages


def test_html_warnings_say_what_to_fix(months):
    folder = months["out"] / "2026-11"
    page = page_of(folder)
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    warnings = [r for r in quality["results"] if not r["passed"] and r["severity"] == "warn"]
    assert warnings and f"À corriger : {len(warnings)}\u00a0points" in page
    names = month_facts(folder)["names"]
    stock = next(r for r in warnings if r["id"] == "clean.erp.stock_status_consistent")
    block = page[page.index(html_escape(stock["description"])) :]
    block = block[: block.index('<div class="warning')] if '<div class="warning' in block else block
    assert "Fichier : <b>erp.xlsx</b>" in block and "<th>Ligne Excel</th>" in block
    for row in stock["rows"]:
        assert f"<td>{row['ligne']}</td><td>{row['product_id']}</td>" in block
        if row["product_id"] in names:
            assert html_escape(names[row["product_id"]]) in block


def html_escape(text: str) -> str:
    return html.escape(text)


def test_html_passed_checks_are_folded_by_family(months):
    folder = months["out"] / "2026-11"
    page = page_of(folder)
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    folded = re.findall(r"<details><summary>([^<]+) : ([0-9]+)\u00a0contrôles? réussis?</summary>", page)
    assert sum(int(n) for _, n in folded) == quality["passed"]
    assert {html.unescape(label) for label, _ in folded} <= {
        "Schéma des fichiers",
        "Doublons",
        "Valeurs manquantes",
        "Volumétrie",
        "Chiffre d'affaires",
        "Z-score et classement",
        "Règles métier",
    }


def test_html_charts_scale_to_the_page(months):
    page = page_of(months["out"] / "2026-11")
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 4
    assert all('viewBox="0 0 ' in s and 'width="100%"' in s for s in svgs)
    assert '<meta name="viewport"' in page and "@media print" in page
    assert "nombre de vins" in page and "vins premium (z &gt; 2)" in page  # the histogram's axis and legend


def test_filling_the_summary_sheet_leaves_every_other_part_unchanged(tmp_path):
    """finalize writes the end-of-run cells into the finished workbook: only the summary sheet's
    XML changes; the other parts (the product rows) are copied still compressed, intact."""
    import zipfile

    import pyarrow as pa

    from bottleneck_pipeline.report_workbook import Summary, fill_summary, late_cells, write_report

    rows = pa.table(
        {
            "product_id": ["1", "2"],
            "sku": ["a", "b"],
            "product_name": ["Vin A", "Vin B"],
            "price_eur": pa.array([Decimal("10.00"), Decimal("2.50")], pa.decimal128(18, 2)),
            "quantity_sold": [3, 4],
            "revenue_eur": pa.array([Decimal("30.00"), Decimal("10.00")], pa.decimal128(18, 2)),
            "z_score": [1.0, -1.0],
            "wine_class": ["ordinaire", "ordinaire"],
        }
    )
    path = tmp_path / "rapport_ca.xlsx"
    write_report(
        path,
        rows,
        Summary("2026-04", Decimal("40.00"), 2, 0, Decimal(0), 2, Decimal("40.00"), 2.0, 6.25, 3.75, 13.75, "now", {}),
    )
    with zipfile.ZipFile(path) as before:
        parts = {name: before.read(name) for name in before.namelist()}
    assert "calculé à la fin de l'exécution" in parts["xl/worksheets/sheet1.xml"].decode()
    fill_summary(
        path, {"warnings": 2, "ca_change": -12.5, "previous_period": "mars 2026 & <x>", "premium_entered": None}
    )
    with zipfile.ZipFile(path) as after:
        assert after.testzip() is None  # every CRC right
        assert after.namelist() == list(parts)
        assert all(after.read(name) == data for name, data in parts.items() if name != "xl/worksheets/sheet1.xml")
    sheet = load_workbook(path)["Synthèse"]
    cells = late_cells()
    assert sheet[cells["warnings"]].value == 2 and sheet[cells["ca_change"]].value == -12.5
    assert sheet[cells["ca_change"]].number_format.startswith("+")  # the cell keeps its format
    assert sheet[cells["previous_period"]].value == "mars 2026 & <x>"
    assert sheet[cells["premium_entered"]].value == "—"
    assert load_workbook(path)["CA par produit"]["C3"].value == "Vin B"
    with pytest.raises(KeyError):
        fill_summary(path, {"no_such_cell": 1})
