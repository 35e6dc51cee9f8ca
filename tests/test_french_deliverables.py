"""The month's deliverables as a French finance team opens them (issue 14): the CSV extracts
parsed as French Excel parses them (';', decimal comma) against their machine-readable twins, and
the workbook read back with openpyxl (classes, z-scores, the summary sheet and its comparison,
print setup).

Every expected value is computed here from the files the runs published (the extracts' rows, the
summaries), never copied from the code under test."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import REAL_FIGURES
from month_builders import FILES, french_rows, machine_rows, month_facts, published_months, run_month


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> dict:
    return published_months(tmp_path_factory)


# --- the extracts for French Excel ------------------------------------------------------------


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


# --- the workbook -----------------------------------------------------------------------------


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
    # the warnings: one row each in the table "Détail des avertissements", the whole message
    # (less the file it opens on, in its own column), the last rows of the sheet
    detail = rows["Avertissements (contrôles non bloquants)"][2].value
    first = int(
        re.fullmatch(r"un par ligne : tableau « Détail des avertissements », ligne (\d+) et suivantes", detail)[1]
    )
    warned = [r for r in quality["results"] if not r["passed"] and r["severity"] == "warn"]
    table = list(sheet.iter_rows(min_row=first, values_only=True))
    assert [row[0] for row in table] == [r["id"] for r in warned] and sheet.max_row == first + len(warned) - 1
    assert all(r["message"].endswith(row[2]) and len(row[2]) > 20 for row, r in zip(table, warned))
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
