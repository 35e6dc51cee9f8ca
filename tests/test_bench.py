"""The benchmark's own guarantees, fast (no timing here: the benchmark is bench/run.py).

- The scaled inputs keep the method's invariants: at a factor k, k times the products, exactly
  k times the CA, k times the premium wines (computed by the independent pandas baseline).
- The bulk row writer the benchmark led to (report_workbook) writes the cells XlsxWriter wrote
  cell by cell: values, types, number formats, fonts, layout.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import xlsxwriter
from openpyxl import load_workbook

from bench import scale
from bench.baseline import compute
from bottleneck_pipeline import report_workbook
from bottleneck_pipeline.labels_fr import REPORT_COLUMNS, REVENUE_SHEET
from bottleneck_pipeline.report_workbook import Summary


def _figures(folder: Path) -> tuple[int, Decimal, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compute(folder)
    return result["products"], Decimal(str(result["ca_total"])), result["premium_count"]


@pytest.mark.slow
def test_scaled_inputs_keep_the_method_invariants(tmp_path):
    tables = scale.load(scale.SAMPLE_DIR)
    factor = 2
    folder = scale.build("sample", factor, tmp_path, tables, log=lambda *_: None)
    products, ca, premium = _figures(scale.SAMPLE_DIR)
    assert products > 0 and premium > 0
    assert _figures(folder) == (products * factor, ca * factor, premium * factor)

    scaled = scale.load(folder)
    for name in scale.FILES:  # every row replicated, header kept
        assert scaled[name][0] == tables[name][0]
        assert len(scaled[name]) - 1 == (len(tables[name]) - 1) * factor
    # replica 0 is the source itself; keys of replica 1 are fresh, the rest is copied
    erp, source = scaled["erp"], tables["erp"]
    n = len(source) - 1
    assert erp[1 : n + 1] == source[1:]
    assert [row[1:] for row in erp[n + 1 :]] == [row[1:] for row in source[1:]]
    assert not {row[0] for row in erp[n + 1 :]} & {row[0] for row in source[1:]}
    # the text keys keep their flavour
    skus = {row[0] for row in scaled["web"][1:] if isinstance(row[0], str)}
    skus |= {row[1] for row in scaled["liaison"][1:] if isinstance(row[1], str)}
    assert {"11400-1", "111400-1"} <= skus  # '<n>-1' -> '<n + offset>-1'
    assert scale.remap("bon-cadeau-25-euros", 3, 100000) == "bon-cadeau-25-euros-r3"
    assert scale.remap("0042", 2, 10000) == "20042" and scale.remap(42.0, 2, 10000) == 20042


def test_max_factor_fits_an_xlsx_sheet():
    tables = scale.load(scale.SAMPLE_DIR)
    k = scale.max_factor(tables)
    biggest = max(len(rows) - 1 for rows in tables.values())
    assert k * biggest + 1 <= scale.XLSX_MAX_ROWS < (k + 1) * biggest + 1


def _revenue(rows: list[tuple]) -> pa.Table:
    names = list(REPORT_COLUMNS)
    types = [
        pa.string(),
        pa.string(),
        pa.string(),
        pa.decimal128(18, 2),
        pa.int64(),
        pa.decimal128(18, 2),
        pa.float64(),
        pa.string(),
    ]
    assert len(names) == len(types) == len(rows[0] if rows else types)
    return pa.table({name: pa.array([r[j] for r in rows], kind) for j, (name, kind) in enumerate(zip(names, types))})


D = Decimal
TRICKY = [
    ("1", "a&b", "Château <Mouton> & \"Rothschild\" 'x'", D("9.95"), 3, D("29.85"), 2.675, "premium"),
    ("2", " lead", "trail ", D("0.10"), 0, D("0.00"), -0.004, "ordinaire"),
    ("3", "ctl\x01x", "_x0041_ literal", D("123456789012.34"), 1, D("123456789012.34"), 1e-12, "ordinaire"),
    ("4", None, None, D("1.00"), None, None, None, None),
    ("5", "tab\tin", "line\nbreak", D("2.50"), 2, D("5.00"), -1.005, "ordinaire"),
    ("6", "nbsp\u00a0", "\u2003em", D("3.33"), 3, D("9.99"), 0.125, "ordinaire"),
    ("7", "emoji 🍷", "x" * 20000, D("4.44"), 1, D("4.44"), 12.3456, "premium"),
    ("8", "y" * 40000, "é" * 33000, D("6.66"), 1, D("6.66"), 0.0, "ordinaire"),
] + [
    (
        str(10 + i),
        str(20000 + i),
        f"Vin {i}",
        (D(i) / 7).quantize(D("0.01")),
        i % 13,
        None,
        (i - 150) / 37,
        "premium" if i > 280 else "ordinaire",
    )
    for i in range(1, 300)
]


def _reference(path: Path, revenue: pa.Table) -> None:
    """The revenue sheet as XlsxWriter writes it cell by cell (the former implementation)."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    euro = workbook.add_format({"num_format": report_workbook.EURO})
    integer = workbook.add_format({"num_format": "#,##0"})
    z_format = workbook.add_format({"num_format": report_workbook.Z_FORMAT})
    name_format = workbook.add_format({"text_wrap": True})
    sheet = workbook.add_worksheet(REVENUE_SHEET)
    columns = list(REPORT_COLUMNS)
    values = [revenue[name].to_pylist() for name in columns]
    for i in range(revenue.num_rows):
        for j, name in enumerate(columns):
            value = values[j][i]
            if value is None:
                continue
            if name in ("price_eur", "revenue_eur"):
                sheet.write_number(i + 1, j, float(value), euro)
            elif name == "quantity_sold":
                sheet.write_number(i + 1, j, value, integer)
            elif name == "z_score":  # shown as the extracts show it: rounded to 2 decimals
                sheet.write_number(i + 1, j, float(Decimal(value).quantize(D("0.01"))), z_format)
            elif name == "product_name":
                sheet.write_string(i + 1, j, value, name_format)
            else:
                sheet.write_string(i + 1, j, value)
    workbook.close()


def _data_cells(path: Path) -> list[tuple]:
    sheet = load_workbook(path)[REVENUE_SHEET]
    return [
        (c.coordinate, c.value, c.data_type, c.number_format, c.font.b, c.alignment.wrap_text)
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if c.value is not None
        and c.row > 1
        and (c.column > 1 or c.value != "Total")
        and not (isinstance(c.value, str) and c.value.startswith("=SUM"))
    ]


@pytest.mark.parametrize("rows", [TRICKY, []], ids=["tricky", "empty"])
def test_bulk_rows_are_the_cells_xlsxwriter_wrote(tmp_path, rows):
    revenue = _revenue(rows)
    total = sum((v for v in revenue["revenue_eur"].to_pylist() if v is not None), Decimal(0))
    summary = Summary(
        "2026-01",
        total,
        revenue.num_rows,
        0,
        Decimal(0),
        revenue.num_rows,
        total,
        2.0,
        1.0,
        1.0,
        3.0,
        "2026-01-01 00:00:00 CET",
        {},
    )
    report_workbook.write_report(tmp_path / "new.xlsx", revenue, summary)
    _reference(tmp_path / "old.xlsx", revenue)
    new, old = _data_cells(tmp_path / "new.xlsx"), _data_cells(tmp_path / "old.xlsx")
    assert len(new) == len(old) == sum(v is not None for r in rows for v in r)
    assert new == old
    # the layout around the rows is XlsxWriter's own: frozen header, filter over the data,
    # total formula with its exact cached value, read back by the report gate's reader
    sheet = load_workbook(tmp_path / "new.xlsx")[REVENUE_SHEET]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{max(revenue.num_rows, 1) + 1}"
    assert sheet.cell(revenue.num_rows + 3, 6).value == f"=SUM(F2:F{revenue.num_rows + 1})"
    assert report_workbook.read_back(tmp_path / "new.xlsx") == (revenue.num_rows, total.quantize(D("0.01")))
