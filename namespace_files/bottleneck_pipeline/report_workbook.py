"""The manager's Excel report: a summary sheet and the CA per product, in French.

Written with XlsxWriter in constant-memory mode (rows stream to disk), chosen by measurement
(docs/PERFORMANCE.md). Read back with the same fast reader as ingest, for the report gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import fastexcel
import pyarrow as pa
import xlsxwriter

from .labels_fr import REPORT_COLUMNS, REVENUE_SHEET, SUMMARY_SHEET, TOTAL_LABEL

EURO = '#,##0.00 "€"'
WIDTHS = {"product_id": 20, "sku": 22, "product_name": 60, "price_eur": 12,
          "quantity_sold": 16, "revenue_eur": 16}


@dataclass
class Summary:
    """The figures of the summary sheet (all computed elsewhere; this module only lays out)."""

    period: str
    ca_total: Decimal
    products: int
    premium_count: int
    premium_ca: Decimal
    ordinary_count: int
    ordinary_ca: Decimal
    z_threshold: float
    price_mean: float
    price_std: float
    cutoff_price: float
    generated_at: str
    sources: dict  # table -> {file, sha256, rows}


def write_report(path: Path, revenue: pa.Table, summary: Summary) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "bold": workbook.add_format({"bold": True}),
        "head": workbook.add_format({"bold": True, "bg_color": "#5B2333", "font_color": "#FFFFFF",
                                     "border": 1, "text_wrap": True, "valign": "vcenter"}),
        "euro": workbook.add_format({"num_format": EURO}),
        "euro_bold": workbook.add_format({"num_format": EURO, "bold": True, "top": 1}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "dec": workbook.add_format({"num_format": "0.00"}),
        "total": workbook.add_format({"bold": True, "top": 1}),
        "mono": workbook.add_format({"font_name": "Consolas", "font_size": 9}),
    }
    _summary_sheet(workbook.add_worksheet(SUMMARY_SHEET), summary, fmt)
    _revenue_sheet(workbook.add_worksheet(REVENUE_SHEET), revenue, summary.ca_total, fmt)
    workbook.close()


def _summary_sheet(sheet, s: Summary, fmt: dict) -> None:
    sheet.set_column(0, 0, 38)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 3, 18)
    sheet.write(0, 0, f"BottleNeck — rapport de chiffre d'affaires {s.period}", fmt["title"])
    rows = [
        ("Période", s.period, None),
        ("CA total", float(s.ca_total), fmt["euro"]),
        ("Nombre de produits", s.products, fmt["int"]),
        (f"Vins premium (z-score > {s.z_threshold:g})", s.premium_count, fmt["int"]),
        ("CA des vins premium", float(s.premium_ca), fmt["euro"]),
        ("Vins ordinaires", s.ordinary_count, fmt["int"]),
        ("CA des vins ordinaires", float(s.ordinary_ca), fmt["euro"]),
        ("Prix moyen", s.price_mean, fmt["euro"]),
        ("Écart-type des prix (population)", s.price_std, fmt["euro"]),
        ("Prix seuil premium (moyenne + seuil x écart-type)", s.cutoff_price, fmt["euro"]),
        ("Généré le", s.generated_at, None),
    ]
    for i, (label, value, cell_format) in enumerate(rows, start=2):
        sheet.write(i, 0, label, fmt["bold"])
        sheet.write(i, 1, value, cell_format)
    start = len(rows) + 3
    sheet.write(start, 0, "Fichiers sources", fmt["bold"])
    for j, heading in enumerate(("Fichier", "Lignes", "Empreinte SHA-256")):
        sheet.write(start + 1, j if j < 2 else 2, heading, fmt["head"])
    for i, source in enumerate(s.sources.values(), start=start + 2):
        sheet.write(i, 0, source["file"])
        sheet.write(i, 1, source["rows"], fmt["int"])
        sheet.write(i, 2, source["sha256"], fmt["mono"])


def _revenue_sheet(sheet, revenue: pa.Table, total: Decimal, fmt: dict) -> None:
    columns = list(REPORT_COLUMNS)
    for j, name in enumerate(columns):
        sheet.set_column(j, j, WIDTHS[name])
    sheet.set_row(0, 30)
    for j, name in enumerate(columns):
        sheet.write(0, j, REPORT_COLUMNS[name], fmt["head"])
    sheet.freeze_panes(1, 0)
    values = [revenue[name].to_pylist() for name in columns]
    money = {columns.index("price_eur"), columns.index("revenue_eur")}
    quantity = columns.index("quantity_sold")
    for i in range(revenue.num_rows):
        row = i + 1
        for j in range(len(columns)):
            value = values[j][i]
            if value is None:
                continue
            if j in money:
                sheet.write_number(row, j, float(value), fmt["euro"])
            elif j == quantity:
                sheet.write_number(row, j, value, fmt["int"])
            else:
                sheet.write_string(row, j, value)
    last = revenue.num_rows  # 0-based index of the last data row
    sheet.autofilter(0, 0, max(last, 1), len(columns) - 1)
    total_row = last + 2  # one blank row between the data and the total, outside the filter
    col = columns.index("revenue_eur")
    sheet.write(total_row, 0, TOTAL_LABEL, fmt["total"])
    letter = xlsxwriter.utility.xl_col_to_name(col)
    sheet.write_formula(total_row, col, f"=SUM({letter}2:{letter}{last + 1})", fmt["euro_bold"],
                        float(total))


def read_back(path: Path) -> tuple[int, Decimal]:
    """(product lines, total) as a reader of the delivered workbook sees them."""
    sheet = fastexcel.read_excel(str(path)).load_sheet(REVENUE_SHEET, dtypes="string")
    table = sheet.to_arrow()
    first = table.column(0).to_pylist()
    ca = table.column(list(REPORT_COLUMNS.values()).index(REPORT_COLUMNS["revenue_eur"])).to_pylist()
    if TOTAL_LABEL not in first:
        return len([v for v in first if v]), Decimal("NaN")
    at = first.index(TOTAL_LABEL)
    lines = len([v for v in first[:at] if v])
    return lines, Decimal(ca[at]).quantize(Decimal("0.01"))
