"""The workbook's layout as Excel and LibreOffice draw it (issue 14): XlsxWriter does not autofit
rows, so a wrapped text drew over the next rows. Read back with openpyxl, every wrapped cell's
row must be at least as tall as its text needs by a plain character count (characters / column
width, per paragraph, 15 pt a line: Calibri 11), the warnings sit one per row, and both sheets
print on A4, one page wide, with their header and footer.

The expected values are counted here by hand or from the published quality report, never with
the module's own line estimate."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from conftest import REAL_FIGURES
from month_builders import run_month

LINE_POINTS = 15  # one line of Calibri 11, Excel's default row height
WARNINGS_TITLE = "Détail des avertissements"


def lines_by_count(text: str, width: float) -> int:
    """The fewest lines a text can take in a column ``width`` characters wide."""
    return sum(max(1, math.ceil(len(paragraph) / width)) for paragraph in str(text).split("\n"))


def short_of_height(sheet) -> list[tuple]:
    """(cell, text lines, row height) of every wrapped text whose row is too short for it."""
    short = []
    for row in sheet.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                continue
            lines = lines_by_count(cell.value, sheet.column_dimensions[cell.column_letter].width)
            height = sheet.row_dimensions[cell.row].height or LINE_POINTS
            if height < lines * LINE_POINTS:
                short.append((cell.coordinate, lines, height))
    return short


def warnings_table(sheet) -> list[tuple]:
    title = next(row[0].row for row in sheet.iter_rows() if row[0].value == WARNINGS_TITLE)
    assert [c.value for c in sheet[title + 1]] == ["Contrôle", "Fichier à corriger", "Message"]
    return list(sheet.iter_rows(min_row=title + 2, max_col=3, values_only=True))


def workbook_of(tmp_path: Path, names: list[str], warnings) -> Path:
    from bottleneck_pipeline.report_workbook import Summary, fill_summary, write_report

    count = len(names)
    rows = pa.table(
        {
            "product_id": [str(i) for i in range(1, count + 1)],
            "sku": [f"s{i}" for i in range(1, count + 1)],
            "product_name": names,
            "price_eur": pa.array([Decimal("10.00")] * count, pa.decimal128(18, 2)),
            "quantity_sold": [1] * count,
            "revenue_eur": pa.array([Decimal("10.00")] * count, pa.decimal128(18, 2)),
        }
    )
    total = Decimal(10 * count)
    sources = {"erp": {"file": "erp.xlsx", "rows": 3, "sha256": "ab" * 32}}
    path = tmp_path / "rapport_ca.xlsx"
    summary = Summary("2026-04", total, count, 0, Decimal(0), count, total, 2.0, 10.0, 0.0, 10.0, "now", sources)
    write_report(path, rows, summary)
    fill_summary(path, {"warnings": 0 if warnings == "aucun" else len(warnings), "warnings_detail": warnings})
    return path


LOST_SALES = (
    "[clean.web.lost_sales] Ventes hors rapport, sous le plafond de 1 % : 13 unité(s) vendue(s) sur 2 878 "
    "(0,45 %) et 0,00 € de CA chiffrable sur 70 568,60 € (0,00 %) n'atteignent pas le rapport ; CA non "
    "chiffrable pour 2 ligne(s) sans prix connu. Lignes de web.xlsx : ligne 490 (10 unité(s)) : sans sku "
    "(web.xlsx, colonne sku) ; ligne 355 (3 unité(s)) : sans sku (web.xlsx, colonne sku). Elles manquent "
    "au CA publié : corrigez-les dans les fichiers cités."
)


def test_warnings_each_on_its_row_with_check_file_and_message(tmp_path):
    warnings = [
        "[clean.erp.no_negative_price] erp.xlsx : 2 prix négatif(s) (produits 5017, 6594). Corrigez-les dans l'ERP.",
        LOST_SALES,
        "[compare.ca.drift_within_limit] CA de mai : 10,00 € contre 40,00 € en avril.",
    ]
    sheet = load_workbook(workbook_of(tmp_path, ["Vin A"], warnings))["Synthèse"]
    table = warnings_table(sheet)
    assert table == [
        (
            "clean.erp.no_negative_price",
            "erp.xlsx",
            "2 prix négatif(s) (produits 5017, 6594). Corrigez-les dans l'ERP.",
        ),
        ("clean.web.lost_sales", "web.xlsx", LOST_SALES.removeprefix("[clean.web.lost_sales] ")),  # whole: 406 chars
        ("compare.ca.drift_within_limit", None, "CA de mai : 10,00 € contre 40,00 € en avril."),
    ]
    first = sheet.max_row - 2
    assert sheet["C18"].value == f"un par ligne : tableau « Détail des avertissements », ligne {first} et suivantes"
    assert sheet[f"A{first - 2}"].value == WARNINGS_TITLE
    # the 406 characters at 80 characters a line: 6 lines at least; the short ones keep one line
    assert sheet.column_dimensions["C"].width >= 80
    assert sheet.row_dimensions[first + 1].height >= 6 * LINE_POINTS
    assert (sheet.row_dimensions[first].height or LINE_POINTS) == LINE_POINTS
    assert sheet[f"C{first + 1}"].alignment.wrap_text and sheet[f"C{first + 1}"].alignment.vertical == "top"
    assert short_of_height(sheet) == []


def test_no_warning_says_so_in_one_row(tmp_path):
    sheet = load_workbook(workbook_of(tmp_path, ["Vin A"], "aucun"))["Synthèse"]
    assert warnings_table(sheet) == [(None, None, "aucun avertissement")]
    assert sheet["C18"].value == "aucun"


def test_filling_again_replaces_the_warnings(tmp_path):
    """A finalize run twice (an engine retry) leaves the second run's rows only."""
    from bottleneck_pipeline.report_workbook import fill_summary

    path = workbook_of(tmp_path, ["Vin A"], ["[a.b.c] un", "[d.e.f] deux", "[g.h.i] trois"])
    fill_summary(path, {"warnings_detail": ["[x.erp.y] erp.xlsx : seul"]})
    sheet = load_workbook(path)["Synthèse"]
    assert warnings_table(sheet) == [("x.erp.y", "erp.xlsx", "seul")]


def test_a_wine_name_longer_than_its_column_gets_a_taller_row(tmp_path):
    long_name = "Domaine " + " ".join(["Grand Cru Clos Saint-Jacques Vieilles Vignes"] * 4)  # 183 characters
    sheet = load_workbook(workbook_of(tmp_path, ["Vin court", long_name], "aucun"))["CA par produit"]
    assert sheet.column_dimensions["C"].width == pytest.approx(90.71, abs=0.01)  # the widest allowed
    rows = {sheet.cell(r, 3).value: r for r in (2, 3)}
    assert sheet.row_dimensions[rows[long_name]].height >= 3 * LINE_POINTS  # 183 / 90: 3 lines
    assert sheet.row_dimensions[rows["Vin court"]].height is None  # the default height
    assert short_of_height(sheet) == []


@pytest.mark.slow
def test_real_month_layout_nothing_overlaps_and_prints_on_a4(real_dir, tmp_path):
    summary = run_month(real_dir, tmp_path, "2026-11")
    assert {k: summary[k] for k in REAL_FIGURES} == REAL_FIGURES
    folder = tmp_path / "2026-11"
    workbook = load_workbook(folder / "rapport_ca.xlsx")
    synthese = workbook["Synthèse"]
    for sheet in workbook.worksheets:
        assert short_of_height(sheet) == [], sheet.title
        setup = sheet.page_setup
        width = 1 if setup.fitToWidth is None else setup.fitToWidth  # absent: 1, the file format's default
        assert (setup.paperSize, setup.orientation, width, setup.fitToHeight) == (9, "landscape", 1, 0)  # 9: A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.oddHeader.left.text == "BottleNeck — chiffre d'affaires de novembre 2026"
        assert sheet.oddHeader.right.text == "&A"  # the sheet's name
        assert sheet.oddFooter.left.text == "Période : novembre 2026"
        assert (sheet.oddFooter.center.text, sheet.oddFooter.right.text) == ("Page &P sur &N", "rapport_ca.xlsx")
    # the notes that drew over the next rows: each row now as tall as its note
    notes = {row[0].value: row[0].row for row in synthese.iter_rows() if row[0].value}
    assert synthese.row_dimensions[notes["Définition du CA"]].height >= 2 * LINE_POINTS  # 140 characters
    assert synthese.row_dimensions[notes["Prix TTC ou HT"]].height >= 3 * LINE_POINTS  # 171 characters
    status = synthese.cell(notes["Statut qualité"], 2)
    assert status.value == "Conforme : 85/89 contrôles réussis, aucun contrôle bloquant en échec"
    assert status.alignment.wrap_text and synthese.row_dimensions[status.row].height >= 2 * LINE_POINTS
    # the four warnings of the real files, one per row, as the run printed them
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    assert quality["warnings"] == 4 and synthese.cell(notes["Avertissements (contrôles non bloquants)"], 2).value == 4
    table = warnings_table(synthese)
    assert [(check, file) for check, file, _ in table] == [
        ("clean.erp.no_negative_price", "erp.xlsx"),
        ("clean.erp.stock_status_consistent", "erp.xlsx"),
        ("clean.web.lost_sales", "web.xlsx"),
        ("merge.orphans.links_to_missing_web_product", "liaison.xlsx"),
    ]
    assert table[0][2] == "2 prix négatif(s) (produits 5017, 6594). Corrigez-les dans l'ERP."
    assert table[2][2].endswith("Elles manquent au CA publié : corrigez-les dans les fichiers cités.")  # not cut
    # locale-neutral number formats ('#,##0.00' is read as 70 568,60 by a French Excel)
    ca = synthese.cell(notes["CA total"], 2)
    assert ca.value == pytest.approx(70568.60) and ca.number_format == '#,##0.00 "€"'
    names = workbook["CA par produit"]
    assert names.column_dimensions["C"].width >= 78  # the longest real name: 78 characters
