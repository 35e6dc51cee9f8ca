"""The I/O floor: the least time any reader + writer we measured needs for the pipeline's I/O.

The floor at a size is: reading the three workbooks with the fastest reader measured, plus
writing the report's rows (product_id, sku, name, price, quantity, CA; header, euro and integer
number formats) with the fastest formatted writer measured. No real pipeline can beat it: it
does no typing, no cleaning, no joins, no checks, no CSVs.

Each candidate runs in its own process (clean peak RSS; nothing cached between candidates), and
its time is measured inside the process around the read or the write only (no interpreter
start, no imports). Candidates missing from the environment are reported as skipped.

Usage:
  python bench/io_floor.py --inputs bench/out/inputs/sample-x964 --revenue REVENUE.parquet
  python bench/io_floor.py --inputs DIR --readers fastexcel_contract,python_calamine --writers jetxl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import run_measured  # noqa: E402

FILES = ("erp", "web", "liaison")
CONTRACT_COLUMNS = {
    "erp": ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"],
    "web": ["sku", "total_sales", "post_type", "post_title"],
    "liaison": ["product_id", "id_web"],
}
REPORT_HEADINGS = ["Identifiant produit", "SKU web", "Vin", "Prix (€)", "Quantité vendue", "CA (€)"]
EURO = '#,##0.00 "€"'
INTEGER = "#,##0"


# --- readers: each returns the number of data rows it read, over the three workbooks -----------


def _named(wanted: set[str]) -> Callable[[Any], bool]:
    """fastexcel's column filter: the columns whose header is in ``wanted``."""
    return lambda column: column.name in wanted


def read_fastexcel_contract(folder: Path) -> int:
    """What ingest does: the contract columns, as text (fastexcel, Rust calamine -> Arrow)."""
    import fastexcel

    rows = 0
    for name in FILES:
        sheet = fastexcel.read_excel(str(folder / f"{name}.xlsx")).load_sheet(
            0, use_columns=_named(set(CONTRACT_COLUMNS[name])), dtypes="string"
        )
        rows += sheet.to_arrow().num_rows
    return rows


def read_fastexcel_all(folder: Path) -> int:
    """Every column, as text."""
    import fastexcel

    rows = 0
    for name in FILES:
        sheet = fastexcel.read_excel(str(folder / f"{name}.xlsx")).load_sheet(0, dtypes="string")
        rows += sheet.to_arrow().num_rows
    return rows


def read_python_calamine(folder: Path) -> int:
    """python-calamine: the same Rust parser, cells as Python objects."""
    from python_calamine import CalamineWorkbook

    return sum(
        len(CalamineWorkbook.from_path(str(folder / f"{n}.xlsx")).get_sheet_by_index(0).to_python()) - 1 for n in FILES
    )


def read_polars(folder: Path) -> int:
    """polars.read_excel (its default engine is fastexcel), every column as text."""
    import polars as pl

    rows = 0
    for name in FILES:
        frame = pl.read_excel(folder / f"{name}.xlsx", engine="calamine", read_options={"dtypes": "string"})
        rows += frame.height
    return rows


def read_pandas_calamine(folder: Path) -> int:
    import pandas as pd

    return sum(len(pd.read_excel(folder / f"{n}.xlsx", engine="calamine", dtype=object)) for n in FILES)


def read_openpyxl_readonly(folder: Path) -> int:
    """openpyxl in read-only mode (streams the XML), values only."""
    from openpyxl import load_workbook

    rows = 0
    for name in FILES:
        workbook = load_workbook(folder / f"{name}.xlsx", read_only=True, data_only=True)
        rows += sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
        workbook.close()
    return rows


def read_pandas_openpyxl(folder: Path) -> int:
    """The baseline's way: pandas.read_excel(engine='openpyxl')."""
    import pandas as pd

    return sum(len(pd.read_excel(folder / f"{n}.xlsx", engine="openpyxl", dtype=object)) for n in FILES)


def read_duckdb_excel(folder: Path) -> int:
    """DuckDB's excel extension (read_xlsx streams the sheet), every column as text. Its PyPI
    wheels (duckdb-extension-excel) exist for DuckDB 1.x only, not for the project's DuckDB 2:
    measured when BENCH_DUCKDB_EXCEL_PYTHON names a Python with duckdb 1.x and that wheel."""
    import glob

    import duckdb
    import duckdb_extension_excel

    con = duckdb.connect(config={"allow_unsigned_extensions": True})
    con.execute("set enable_progress_bar = false")
    root = Path(duckdb_extension_excel.__file__).parent
    con.execute(f"load '{glob.glob(str(root / '**' / 'excel.duckdb_extension*'), recursive=True)[0]}'")
    return sum(
        con.execute(f"select count(*) from read_xlsx('{folder / f'{n}.xlsx'}', all_varchar = true)").fetchall()[0][0]
        for n in FILES
    )


READERS = {
    "fastexcel_contract": read_fastexcel_contract,
    "fastexcel_all": read_fastexcel_all,
    "python_calamine": read_python_calamine,
    "polars": read_polars,
    "pandas_calamine": read_pandas_calamine,
    "openpyxl_readonly": read_openpyxl_readonly,
    "pandas_openpyxl": read_pandas_openpyxl,
    "duckdb_excel": read_duckdb_excel,
}
# what each reader needs installed
READER_MODULES = {
    "fastexcel_contract": "fastexcel",
    "fastexcel_all": "fastexcel",
    "python_calamine": "python_calamine",
    "polars": "polars",
    "pandas_calamine": "python_calamine",
    "openpyxl_readonly": "openpyxl",
    "pandas_openpyxl": "openpyxl",
    "duckdb_excel": "duckdb_extension_excel",
}
FAST_READERS = ("fastexcel_contract", "fastexcel_all", "python_calamine", "polars", "duckdb_excel")
OTHER_PYTHON = {"duckdb_excel": "BENCH_DUCKDB_EXCEL_PYTHON"}  # candidate -> env var naming a python


# --- writers: the report's rows with a header and number formats -------------------------------


def _columns(table):
    """(product_id, sku, name) as str, (price, CA) as float, quantity as int: Python lists."""
    return (
        [table.column(j).to_pylist() for j in range(3)],
        [float(v) for v in table.column(3).to_pylist()],
        table.column(4).to_pylist(),
        [float(v) for v in table.column(5).to_pylist()],
    )


def write_xlsxwriter(table, path: Path) -> None:
    """xlsxwriter in constant_memory mode, cell by cell (the project's report writer)."""
    import xlsxwriter

    texts, price, quantity, ca = _columns(table)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    head = workbook.add_format({"bold": True})
    euro, integer = workbook.add_format({"num_format": EURO}), workbook.add_format({"num_format": INTEGER})
    sheet = workbook.add_worksheet("CA par produit")
    sheet.write_row(0, 0, REPORT_HEADINGS, head)
    for i in range(table.num_rows):
        row = i + 1
        for j in range(3):
            if texts[j][i] is not None:
                sheet.write_string(row, j, texts[j][i])
        sheet.write_number(row, 3, price[i], euro)
        sheet.write_number(row, 4, quantity[i], integer)
        sheet.write_number(row, 5, ca[i], euro)
    workbook.close()


def write_openpyxl(table, path: Path) -> None:
    """openpyxl in write-only mode (the usual pandas engine, streamed)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    texts, price, quantity, ca = _columns(table)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("CA par produit")
    bold = Font(bold=True)
    header = []
    for heading in REPORT_HEADINGS:
        cell = WriteOnlyCell(sheet, heading)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for i in range(table.num_rows):
        cells = [texts[0][i], texts[1][i], texts[2][i]]
        for value, fmt in ((price[i], EURO), (quantity[i], INTEGER), (ca[i], EURO)):
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = fmt
            cells.append(cell)
        sheet.append(cells)
    workbook.save(path)


def write_pyexcelerate(table, path: Path) -> None:
    """PyExcelerate: bulk rows, then column styles."""
    from pyexcelerate import Font, Style, Workbook
    from pyexcelerate.Format import Format

    texts, price, quantity, ca = _columns(table)
    data = [REPORT_HEADINGS] + [list(r) for r in zip(texts[0], texts[1], texts[2], price, quantity, ca)]
    workbook = Workbook()
    sheet = workbook.new_sheet("CA par produit", data=data)
    euro, integer = Style(format=Format(EURO)), Style(format=Format(INTEGER))
    for col, style in ((4, euro), (5, integer), (6, euro)):
        sheet.set_col_style(col, style)
    sheet.set_row_style(1, Style(font=Font(bold=True)))
    workbook.save(str(path))


def write_rustpy_xlsxwriter(table, path: Path) -> None:
    """rustpy-xlsxwriter (Rust rust_xlsxwriter), rows given as dicts."""
    from rustpy_xlsxwriter import FastExcel, Format

    texts, price, quantity, ca = _columns(table)
    records = (
        {
            REPORT_HEADINGS[0]: a,
            REPORT_HEADINGS[1]: b,
            REPORT_HEADINGS[2]: c,
            REPORT_HEADINGS[3]: d,
            REPORT_HEADINGS[4]: e,
            REPORT_HEADINGS[5]: f,
        }
        for a, b, c, d, e, f in zip(texts[0], texts[1], texts[2], price, quantity, ca)
    )
    formats = [
        None,
        None,
        None,
        Format().set_num_format(EURO),
        Format().set_num_format(INTEGER),
        Format().set_num_format(EURO),
    ]
    FastExcel(str(path)).format(bold_headers=True).sheet("CA par produit", records, column_formats=formats).save()


def write_jetxl(table, path: Path) -> None:
    """jetxl (Rust), straight from Arrow."""
    import jetxl
    import pyarrow as pa

    arrays = [table.column(j) for j in range(3)] + [
        table.column(3).cast(pa.float64()),
        table.column(4),
        table.column(5).cast(pa.float64()),
    ]
    data = pa.table(arrays, names=REPORT_HEADINGS)
    jetxl.write_sheet_arrow(
        data,
        str(path),
        sheet_name="CA par produit",
        styled_headers=True,
        column_formats={REPORT_HEADINGS[3]: EURO, REPORT_HEADINGS[4]: INTEGER, REPORT_HEADINGS[5]: EURO},
    )


def write_pipeline_report(table, path: Path) -> None:
    """The deliverable as the pipeline writes it (report_workbook.write_report: summary sheet,
    French headings, widths, frozen header, autofilter, total formula): the real thing."""
    from decimal import Decimal

    import pyarrow.compute as pc
    from bottleneck_pipeline.report_workbook import Summary, write_report

    total = Decimal(str(pc.sum(table["revenue_eur"]).as_py() or 0))
    summary = Summary(
        "2026-01", total, table.num_rows, 0, Decimal(0), table.num_rows, total, 2.0, 0.0, 0.0, 0.0, "bench", {}
    )
    write_report(path, table, summary)


WRITERS = {
    "xlsxwriter": write_xlsxwriter,
    "openpyxl_write_only": write_openpyxl,
    "pyexcelerate": write_pyexcelerate,
    "rustpy_xlsxwriter": write_rustpy_xlsxwriter,
    "jetxl": write_jetxl,
    "pipeline_write_report": write_pipeline_report,
}
WRITER_MODULES = {
    "xlsxwriter": "xlsxwriter",
    "openpyxl_write_only": "openpyxl",
    "pyexcelerate": "pyexcelerate",
    "rustpy_xlsxwriter": "rustpy_xlsxwriter",
    "jetxl": "jetxl",
    "pipeline_write_report": "bottleneck_pipeline",
}
FLOOR_WRITERS = tuple(WRITERS)  # the pipeline's own writer counts: it writes more, not less


# --- revenue table for the writers ------------------------------------------------------------


def revenue_from_extracts(output_dir: Path, target: Path) -> Path:
    """The report's rows, rebuilt from a run's two CSV extracts (same rows as the report)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if target.is_file():
        return target
    types = {
        "product_id": pa.string(),
        "sku": pa.string(),
        "nom_du_vin": pa.string(),
        "prix_eur": pa.decimal128(18, 2),
        "quantite_vendue": pa.int64(),
        "ca_eur": pa.decimal128(18, 2),
    }
    tables = [
        pacsv.read_csv(
            output_dir / name,
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=list(types)),
        )
        for name in ("vins_premium.csv", "vins_ordinaires.csv")
    ]
    table = pa.concat_tables(tables).rename_columns(
        ["product_id", "sku", "product_name", "price_eur", "quantity_sold", "revenue_eur"]
    )
    table = table.sort_by([("revenue_eur", "descending"), ("product_id", "ascending")])
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return target


# --- driver ------------------------------------------------------------------------------------


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _child(kind: str, name: str, source: Path, target: Path | None) -> None:
    if kind == "read":
        started = time.perf_counter()
        rows = READERS[name](source)
    else:
        import pyarrow.parquet as pq

        if target is None:
            raise ValueError(f"writer {name}: no target file")
        table = pq.read_table(source)
        started = time.perf_counter()
        WRITERS[name](table, target)
        rows = table.num_rows
    print(json.dumps({"seconds": round(time.perf_counter() - started, 3), "rows": rows}))


def measure(
    kind: str, name: str, source: Path, target: Path | None = None, timeout: float | None = None, repeat: int = 1
) -> dict:
    """One candidate, ``repeat`` times in a fresh process each: the fastest run is kept (the
    least disturbed by other work on the machine), with the largest peak RSS seen."""
    import os

    python = sys.executable
    module = (READER_MODULES if kind == "read" else WRITER_MODULES)[name]
    if name in OTHER_PYTHON:
        python = os.environ.get(OTHER_PYTHON[name], "")
        if not python:
            return {"name": name, "skipped": f"set {OTHER_PYTHON[name]} to a python with {module}"}
    elif not _available(module):
        return {"name": name, "skipped": f"{module} not installed"}
    cmd = [python, str(Path(__file__).resolve()), "--child", kind, name, str(source)]
    if target is not None:
        cmd.append(str(target))
    runs = []
    for _ in range(repeat):
        result = run_measured(cmd, timeout=timeout)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["?"])[-1]
            return {"name": name, "failed": tail[:300], "wall_seconds": result.seconds}
        inner = json.loads(result.stdout.strip().splitlines()[-1])
        runs.append((inner["seconds"], inner["rows"], result))
    seconds, rows, result = min(runs, key=lambda r: r[0])
    row = {
        "name": name,
        "seconds": seconds,
        "rows": rows,
        "wall_seconds": result.seconds,
        "peak_rss_mb": max(r[2].peak_rss_mb for r in runs),
        "runs": [r[0] for r in runs],
    }
    if target is not None and target.is_file():
        row["file_mb"] = round(target.stat().st_size / 2**20, 1)
        target.unlink()
    return row


def compare(
    inputs: Path | None,
    revenue: Path | None,
    readers=None,
    writers=None,
    log=print,
    timeout: float | None = None,
    repeat: int = 1,
) -> dict:
    """Measure the readers on ``inputs`` and the writers on ``revenue`` (a parquet file)."""
    result: dict[str, Any] = {"readers": [], "writers": [], "repeat": repeat}
    if inputs is not None:
        for name in readers or READERS:
            row = measure("read", name, inputs, timeout=timeout, repeat=repeat)
            result["readers"].append(row)
            log(f"    read  {name:22s} {_describe(row)}")
    if revenue is not None:
        scratch = Path(__file__).resolve().parent / "out" / "floor"
        scratch.mkdir(parents=True, exist_ok=True)
        for name in writers or WRITERS:
            row = measure("write", name, revenue, scratch / f"{name}.xlsx", timeout=timeout, repeat=repeat)
            result["writers"].append(row)
            log(f"    write {name:22s} {_describe(row)}")
    return result


def floor(measured: dict) -> dict:
    """The floor from measured candidates: fastest reader + fastest floor writer."""
    readers = [r for r in measured["readers"] if "seconds" in r]
    writers = [w for w in measured["writers"] if "seconds" in w and w["name"] in FLOOR_WRITERS]
    best_read = min(readers, key=lambda r: r["seconds"]) if readers else None
    best_write = min(writers, key=lambda w: w["seconds"]) if writers else None
    total = (best_read["seconds"] if best_read else 0) + (best_write["seconds"] if best_write else 0)
    return {
        "reader": best_read and best_read["name"],
        "read_seconds": best_read and best_read["seconds"],
        "writer": best_write and best_write["name"],
        "write_seconds": best_write and best_write["seconds"],
        "seconds": round(total, 3),
    }


def _describe(row: dict) -> str:
    if "skipped" in row:
        return f"skipped ({row['skipped']})"
    if "failed" in row:
        return f"FAILED ({row['failed']})"
    return f"{row['seconds']:8.2f} s  peak {row['peak_rss_mb']:7.0f} MB"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, kind, name, source, *target = sys.argv
        _child(kind, name, Path(source), Path(target[0]) if target else None)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=Path, help="folder with erp/web/liaison.xlsx")
    parser.add_argument("--revenue", type=Path, help="parquet of the report rows (for the writers)")
    parser.add_argument("--readers", help=f"comma-separated, among {', '.join(READERS)}")
    parser.add_argument("--writers", help=f"comma-separated, among {', '.join(WRITERS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per candidate (fastest kept)")
    args = parser.parse_args()
    measured = compare(
        args.inputs,
        args.revenue,
        args.readers and args.readers.split(","),
        args.writers and args.writers.split(","),
        repeat=args.repeat,
    )
    print(json.dumps({**measured, "floor": floor(measured)}, indent=1))


if __name__ == "__main__":
    main()
