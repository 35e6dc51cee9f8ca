"""The whole month, end to end: reference figures, order independence, the deliverables as a
manager opens them, reruns."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bench.baseline import compute as reference_method
from bottleneck_pipeline.logs import RunLog
from bottleneck_pipeline.runner import RunOptions, run
from conftest import REAL_FIGURES, SAMPLE, read_workbook, run_cli, write_workbook

FIGURES = ("products", "ca_total", "premium_count", "ordinary_count")


def run_month(input_dir: Path, output: Path, period: str = "2026-11", **options) -> dict:
    return run(
        RunOptions(input_dir, output, period, retry_delay=0, **options), RunLog("test", period, stream=io.StringIO())
    )


def figures(summary: dict) -> dict:
    return {k: summary[k] for k in FIGURES}


def shuffled_copy(source: Path, target: Path, seed: int) -> Path:
    rng = random.Random(seed)
    for name in ("erp.xlsx", "web.xlsx", "liaison.xlsx"):
        columns, rows = read_workbook(source / name)
        rng.shuffle(rows)
        write_workbook(target / name, columns, rows)
    return target


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("sample_out")
    return run_month(SAMPLE, out), out / "2026-11"


@pytest.fixture(scope="module")
def reference() -> dict:
    """The sample month by the independent pandas method (bench/baseline.py): what the run's
    deliverables are checked against, rather than against the run's own summary."""
    return reference_method(SAMPLE)


def reference_figures(reference: dict) -> dict:
    return {k: reference[k] for k in FIGURES}


def reference_ca(wines) -> float:
    return round(float(wines["ca"].sum()), 2)


def reference_order(wines) -> list[str]:
    """Product ids as the extracts list them: most expensive first, then by product id."""
    return wines.sort_values(["price", "product_id"], ascending=[False, True])["product_id"].tolist()


@pytest.mark.real_data
@pytest.mark.slow
def test_real_files_give_the_analyst_reference_figures(real_dir, tmp_path):
    summary = run_month(real_dir, tmp_path)
    assert figures(summary) == REAL_FIGURES
    # the independent pandas implementation agrees
    reference = reference_method(real_dir)
    assert {k: reference[k] for k in FIGURES} == REAL_FIGURES


@pytest.mark.real_data
@pytest.mark.slow
def test_real_figures_do_not_depend_on_row_order(real_dir, tmp_path):
    first = run_month(real_dir, tmp_path / "a")
    shuffled = shuffled_copy(real_dir, tmp_path / "shuffled", seed=7)
    second = run_month(shuffled, tmp_path / "b")
    assert figures(second) == figures(first) == REAL_FIGURES
    for name in ("vins_premium.csv", "vins_ordinaires.csv"):
        assert (tmp_path / "a/2026-11" / name).read_bytes() == (tmp_path / "b/2026-11" / name).read_bytes()


def test_sample_figures_equal_the_independent_reference(sample_run, sample_dir):
    summary, _ = sample_run
    reference = reference_method(sample_dir)
    assert figures(summary) == {k: reference[k] for k in FIGURES}
    assert summary["products"] > 400 and summary["premium_count"] > 0


@pytest.mark.slow
def test_sample_figures_do_not_depend_on_row_order(sample_run, sample_dir, tmp_path):
    for seed in (1, 2):
        shuffled = shuffled_copy(sample_dir, tmp_path / f"s{seed}", seed)
        assert figures(run_month(shuffled, tmp_path / f"o{seed}")) == figures(sample_run[0])


def test_run_summary_contents(sample_run, reference):
    _, folder = sample_run
    on_disk = json.loads((folder / "run_summary.json").read_text())
    assert figures(on_disk) == reference_figures(reference)
    assert on_disk["period"] == "2026-11" and on_disk["z_threshold"] == 2.0
    assert set(on_disk["stages"]) == {"ingest", "clean", "merge", "report", "classify"}
    assert on_disk["stages"]["merge"]["rows_out"] == reference["products"]
    assert on_disk["std"] > 0 and on_disk["price"]["std_kind"] == "population (ddof=0)"
    assert on_disk["removed_rows"]["web"]["empty_row"] == 40  # the generator plants 40
    assert on_disk["versions"]["duckdb"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "machine",
        "quality_report.json",
        "rapport_ca.xlsx",
        "rapport_qualite.html",
        "run.log",
        "run_summary.json",
        "vins_ordinaires.csv",
        "vins_premium.csv",
    ]
    assert sorted(p.name for p in (folder / "machine").iterdir()) == ["vins_ordinaires.csv", "vins_premium.csv"]


def test_report_workbook_as_a_manager_opens_it(sample_run, reference):
    _, folder = sample_run
    products = reference["products"]
    workbook = load_workbook(folder / "rapport_ca.xlsx")
    assert workbook.sheetnames == ["Synthèse", "CA par produit"]
    sheet = workbook["CA par produit"]
    header = [c.value for c in sheet[1]]
    assert header == [
        "Identifiant produit",
        "SKU web",
        "Vin",
        "Prix (€)",
        "Quantité vendue",
        "CA (€)",
        "Z-score du prix",
        "Classe",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{products + 1}"
    rows = list(sheet.iter_rows(min_row=2, max_row=products + 1, values_only=True))
    revenues = [r[5] for r in rows]
    assert revenues == sorted(revenues, reverse=True)
    assert all(abs(r[3] * r[4] - r[5]) < 1e-6 for r in rows)
    assert sheet.cell(2, 6).number_format == '#,##0.00 "€"'
    total_row = products + 3
    assert sheet.cell(total_row, 1).value == "Total"
    assert sheet.cell(total_row, 6).value == f"=SUM(F2:F{products + 1})"
    assert sheet.column_dimensions["C"].width > 40
    cached = load_workbook(folder / "rapport_ca.xlsx", data_only=True)["CA par produit"]
    assert cached.cell(total_row, 6).value == pytest.approx(reference["ca_total"], abs=0.005)
    synthese = {r[0]: r[1] for r in workbook["Synthèse"].iter_rows(values_only=True) if r[0]}
    assert synthese["Période"] == "novembre 2026" and synthese["Période (AAAA-MM)"] == "2026-11"
    assert synthese["CA total"] == pytest.approx(reference["ca_total"], abs=0.005)
    assert synthese["Nombre de produits"] == products
    assert synthese["Vins premium (z-score > 2)"] == reference["premium_count"]
    assert synthese["Vins ordinaires"] == reference["ordinary_count"]
    assert synthese["CA des vins premium"] == pytest.approx(reference_ca(reference["premium"]), abs=0.005)
    assert synthese["CA des vins ordinaires"] == pytest.approx(reference_ca(reference["ordinary"]), abs=0.005)
    assert synthese["erp.xlsx"] == len(read_workbook(SAMPLE / "erp.xlsx")[1])  # data rows of the file
    sha256 = hashlib.sha256((SAMPLE / "erp.xlsx").read_bytes()).hexdigest()
    assert sha256 in [c.value for row in workbook["Synthèse"] for c in row]


def test_extracts_format_and_partition(sample_run, reference):
    _, folder = sample_run
    # the machine form, for other teams' programs (the French form: tests/test_french_deliverables.py)
    premium = (folder / "machine/vins_premium.csv").read_text(encoding="utf-8-sig").splitlines()
    ordinary = (folder / "machine/vins_ordinaires.csv").read_text(encoding="utf-8-sig").splitlines()
    assert (folder / "machine/vins_premium.csv").read_bytes().startswith("\ufeff".encode())
    assert premium[0] == '"product_id";"sku";"nom_du_vin";"prix_eur";"z_score";"quantite_vendue";"ca_eur"'
    assert len(premium) - 1 == reference["premium_count"] and len(ordinary) - 1 == reference["ordinary_count"]
    z_premium = [float(line.split(";")[4]) for line in premium[1:]]
    z_ordinary = [float(line.split(";")[4]) for line in ordinary[1:]]
    assert min(z_premium) > 2 >= max(z_ordinary)
    for lines, wines in ((premium, reference["premium"]), (ordinary, reference["ordinary"])):  # most expensive first
        assert [r[0] for r in csv.reader(lines[1:], delimiter=";")] == reference_order(wines)


@pytest.mark.slow
def test_rerun_of_a_period_gives_the_same_data(sample_dir, tmp_path):
    first = run_month(sample_dir, tmp_path)
    saved = {
        name: (tmp_path / "2026-11" / name).read_bytes()
        for name in (
            "vins_premium.csv",
            "vins_ordinaires.csv",
            "machine/vins_premium.csv",
            "machine/vins_ordinaires.csv",
        )
    }
    second = run_month(sample_dir, tmp_path)
    assert figures(first) == figures(second)
    for name, content in saved.items():
        assert (tmp_path / "2026-11" / name).read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11"]  # no staging or backup left behind


@pytest.mark.slow
def test_console_command_runs_the_sample(tmp_path):
    result = run_cli("run", "--output", str(tmp_path), "--period", "2026-10")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for stage in ("ingest", "clean", "merge", "report", "classify"):
        assert any(f" {stage} " in f" {line} " and "done" in line and "rows" in line for line in lines), stage
    assert "published" in lines[-1]
    assert (tmp_path / "2026-10" / "rapport_ca.xlsx").is_file()


def test_html_run_report_shows_the_run_figures(sample_run, reference):
    _, folder = sample_run
    page = (folder / "rapport_qualite.html").read_text(encoding="utf-8")
    euros = f"{reference['ca_total']:,.2f}\u00a0€".replace(",", "\u00a0").replace(".", ",")  # no-break spaces
    assert f"CA total<b>{euros}</b>" in page
    assert f"Produits<b>{reference['products']}</b>" in page
    assert f"Vins premium<b>{reference['premium_count']}</b>" in page
    assert f"Vins ordinaires<b>{reference['ordinary_count']}</b>" in page
    assert page.count("<figure") == 4  # CA split, top products, price distribution, funnel: inline
    assert "seuil premium (z = 2)" in page
    assert "http://" not in page and "https://" not in page
    quality = json.loads((folder / "quality_report.json").read_text())
    assert all(f"<code>{r['id']}</code>" in page for r in quality["results"])  # every check, once
    assert sum(page.count(f"<code>{r['id']}</code>") for r in quality["results"]) == quality["checks"]
