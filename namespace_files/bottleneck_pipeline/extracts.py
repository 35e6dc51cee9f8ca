"""The premium and ordinary CSV extracts: UTF-8 (with a byte-order mark so Excel shows the
accents), ';' separator, '.' decimal point, one row per wine, most expensive first."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .labels_fr import CSV_SEPARATOR, EXTRACT_COLUMNS

# pipeline column -> DuckDB type, to read an extract back exactly as it was meant
READ_TYPES = {"product_id": "VARCHAR", "sku": "VARCHAR", "product_name": "VARCHAR",
              "price_eur": "DECIMAL(18,2)", "z_score": "DOUBLE", "quantity_sold": "BIGINT",
              "revenue_eur": "DECIMAL(18,2)"}


def extract_table(classified: pa.Table, premium: bool) -> pa.Table:
    """The wines of one class, with the extract's French headers, by price then product_id."""
    rows = classified.filter(pc.equal(classified["is_premium"], premium))
    rows = rows.sort_by([("price_eur", "descending"), ("product_id", "ascending")])
    rows = rows.select(list(EXTRACT_COLUMNS))
    return rows.rename_columns(list(EXTRACT_COLUMNS.values()))


def write_extract(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(table, handle, pacsv.WriteOptions(delimiter=CSV_SEPARATOR))
    os.replace(tmp, path)


def read_extract(path: Path) -> pa.Table:
    """An extract as written (French headers), ids as text, for whoever reads it back in Python."""
    return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=CSV_SEPARATOR),
                          convert_options=pacsv.ConvertOptions(column_types={
                              EXTRACT_COLUMNS["product_id"]: pa.string(),
                              EXTRACT_COLUMNS["sku"]: pa.string()}))


def register_extract(con: duckdb.DuckDBPyConnection, view: str, path: Path) -> None:
    """Expose an extract read back from disk under pipeline column names (for the gates)."""
    columns = ", ".join(f"'{EXTRACT_COLUMNS[name]}': '{kind}'" for name, kind in READ_TYPES.items())
    renames = ", ".join(f'"{EXTRACT_COLUMNS[name]}" as {name}' for name in READ_TYPES)
    path_sql = str(path).replace("'", "''")
    # Quote and escape stated, not sniffed: DuckDB guesses them from the first rows only, and a
    # wine name with quotes further down ('Cuvée "D"') would then be misread.
    con.execute(f"create or replace temp view {view} as select {renames} from read_csv('{path_sql}', "
                f"delim = '{CSV_SEPARATOR}', quote = '\"', escape = '\"', header = true, "
                f"columns = {{{columns}}})")
