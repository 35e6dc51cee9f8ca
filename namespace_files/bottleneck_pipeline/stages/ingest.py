"""Stage 1, ingest: read the three workbooks against their contract and type every column.

Only reads, renames and casts: no row is removed here (cleaning is the next stage's job), so
the row counts of the typed tables equal the workbooks' data rows. Before the reader runs,
xlsx_scan says which sheet to read, where its header is (so row numbers are Excel's) and which
contract cells the reader would read empty although Excel shows a value: those reject the file.
The contract checks themselves (what is wrong, in French) are checks/ingest.py's; the SQL that
types a column and finds the text that does not fit is contracts.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fastexcel
import pyarrow as pa

from .. import xlsx_scan
from ..checks.ingest import (
    cell_results,
    check_header,
    file_present_result,
    file_readable_result,
    sheet_not_empty_result,
    sheet_read_result,
    value_results,
)
from ..checks.model import CheckResult
from ..contracts import WorkbookContract, cleaned_text_sql, header_key, text_column, typed_sql
from ..storage import query_arrow


@dataclass
class RawSheet:
    """The contract columns of a workbook, as text, with their Excel row numbers."""

    table: pa.Table  # one string column per contract column present, plus source_row
    headers: list[str]
    results: list[CheckResult] = field(default_factory=list)
    sheet: str = ""  # the sheet read
    letters: dict[str, str] = field(default_factory=dict)  # contract header -> column letter


def candidates(path: Path) -> list[Path]:
    """The files of the folder named like ``path`` whatever the case ('ERP.xlsx' for erp.xlsx):
    a drop folder on Windows or a Mac does not tell them apart, so neither do we."""
    folder = Path(path).parent
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.lower() == Path(path).name.lower() and p.is_file())


def resolve(path: Path) -> Path:
    """The workbook to read for ``path``: itself, or its only namesake in another case."""
    found = candidates(path)
    return found[0] if len(found) == 1 else Path(path)


def read_raw(path: Path, contract: WorkbookContract) -> RawSheet:
    """Read the contract columns as text (exact ids, no float conversion) with row numbers."""
    found = candidates(path)
    if len(found) != 1:
        return RawSheet(pa.table({}), [], [file_present_result(contract, path, found)])
    path = found[0]
    keys = {header_key(c.source) for c in contract.columns}
    try:
        # One streaming pass over the sheet's XML: which sheet, the header row, and the cells the
        # reader would read empty although Excel shows a value (xlsx_scan.py).
        scan = xlsx_scan.scan(path, lambda text: header_key(text) in keys)
    except OSError:
        raise  # the file system, not the file: infrastructure
    except Exception as err:  # a broken zip or XML raises many types: report them all alike
        return RawSheet(pa.table({}), [], [file_readable_result(contract, err)])
    letters = [letter for letter, _ in scan.headers]
    headers = [text for _, text in scan.headers]
    raw = RawSheet(
        pa.table({}),
        headers,
        [sheet_read_result(scan, contract)],
        scan.sheet.name,
        {
            c.source: letter
            for c in contract.columns
            for letter, h in scan.headers
            if header_key(h) == header_key(c.source)
        },
    )
    raw.results += check_header(headers, contract, letters, scan.sheet.name, scan.header_row)
    if any(r.blocking for r in raw.results):
        return raw
    header_row = scan.header_row
    assert header_row is not None, "a sheet without a header row fails required_columns (blocking) above"
    raw.results += cell_results(scan, contract, raw.letters)
    if any(r.blocking for r in raw.results):
        return raw
    # The reader is told where the header is: rows above it (blank, a title) are skipped and the
    # data row i is Excel row header_row + 1 + i, whatever stands above. Eager: straight to Arrow.
    names = {header_key(h): h for h in headers}
    wanted = [names[header_key(c.source)] for c in contract.columns]
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(
            scan.sheet.name,
            header_row=header_row - 1,
            use_columns=lambda col: col.name in wanted,
            dtypes="string",
            eager=True,
        )
    except Exception as err:  # the reader's errors carry no stable type
        raw.results.append(file_readable_result(contract, err))
        return raw
    table = pa.Table.from_batches([sheet]) if isinstance(sheet, pa.RecordBatch) else sheet.to_arrow()
    table = table.select(wanted).rename_columns([c.source for c in contract.columns])
    first = header_row + 1
    raw.table = table.append_column("source_row", pa.array(range(first, first + table.num_rows), pa.int64()))
    raw.results.append(sheet_not_empty_result(contract, raw.sheet, table.num_rows, header_row))
    return raw


def type_table(con: duckdb.DuckDBPyConnection, contract: WorkbookContract) -> pa.Table:
    """Typed, renamed columns of the raw table registered as ``raw``."""
    columns = ", ".join(f"{typed_sql(c)} as {c.name}" for c in contract.columns)
    return query_arrow(con, f"select {columns}, source_row from raw order by source_row")


def ingest_workbook(
    con: duckdb.DuckDBPyConnection, path: Path, contract: WorkbookContract
) -> tuple[pa.Table | None, list[CheckResult]]:
    """Read, check and type one workbook. Returns no table when a blocking check failed.

    ``con`` is scratch space: the cells' text is registered as ``raw_cells`` and copied, with each
    column's cleaned text, into the temp table ``raw`` that the checks and the typing query; both
    are gone when this returns."""
    raw = read_raw(path, contract)
    if any(r.blocking for r in raw.results):
        return None, raw.results
    con.register("raw_cells", raw.table)
    cleaned = ", ".join(f"{cleaned_text_sql(c)} as {text_column(c)}" for c in contract.columns)
    con.execute(f"create or replace temp table raw as select *, {cleaned} from raw_cells")
    try:
        results = raw.results + value_results(con, contract, raw.sheet, raw.letters)
        if any(r.blocking for r in results):
            return None, results
        return type_table(con, contract), results
    finally:
        con.execute("drop table if exists raw")
        con.unregister("raw_cells")
