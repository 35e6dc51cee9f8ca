"""The premium and ordinary CSV extracts: UTF-8 (with a byte-order mark so Excel shows the
accents), ';' separator, '.' decimal point, one row per wine, most expensive first.

Text cells are neutralised against CSV formula injection (OWASP): a value starting with '=', '+',
'-', '@', a tab or a carriage return would run as a formula when the file is opened in a
spreadsheet, so it is written with a leading single quote ("'=1+1"). Idempotent (the result starts
with a quote); the classify gates compare the extracts with the revenue table in this same form."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .labels_fr import CSV_SEPARATOR, EXTRACT_COLUMNS

TEXT_COLUMNS = ("product_id", "sku", "product_name")
FORMULA_START = r"^[=+\-@\t\r]"  # what a spreadsheet takes for the start of a formula

# pipeline column -> DuckDB type, to read an extract back exactly as it was meant
READ_TYPES = {"product_id": "VARCHAR", "sku": "VARCHAR", "product_name": "VARCHAR",
              "price_eur": "DECIMAL(18,2)", "z_score": "DOUBLE", "quantity_sold": "BIGINT",
              "revenue_eur": "DECIMAL(18,2)"}


def neutralise(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text that a spreadsheet would take for a formula, prefixed with a single quote."""
    return pc.if_else(pc.match_substring_regex(values, FORMULA_START),
                      pc.binary_join_element_wise("'", values, ""), values)


def neutralise_text(table: pa.Table) -> pa.Table:
    """The table with its text columns (ids, sku, wine name) neutralised, as the extracts hold them."""
    for name in TEXT_COLUMNS:
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, neutralise(table[name]))
    return table


def extract_table(classified: pa.Table, premium: bool) -> pa.Table:
    """The wines of one class, with the extract's French headers, by price then product_id."""
    rows = classified.filter(pc.equal(classified["is_premium"], premium))
    rows = rows.sort_by([("price_eur", "descending"), ("product_id", "ascending")])
    rows = neutralise_text(rows.select(list(EXTRACT_COLUMNS)))
    return rows.rename_columns(list(EXTRACT_COLUMNS.values()))


def write_extract(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(table, handle, pacsv.WriteOptions(delimiter=CSV_SEPARATOR))
    os.replace(tmp, path)


# pipeline column -> Arrow type when read back in Python (stated, so an empty extract, header only,
# reads with the same schema as a full one)
ARROW_TYPES = {"product_id": pa.string(), "sku": pa.string(), "product_name": pa.string(),
               "price_eur": pa.float64(), "z_score": pa.float64(), "quantity_sold": pa.int64(),
               "revenue_eur": pa.float64()}


def read_extract(path: Path) -> pa.Table:
    """An extract as written (French headers), ids as text, for whoever reads it back in Python."""
    types = {EXTRACT_COLUMNS[name]: kind for name, kind in ARROW_TYPES.items()}
    return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=CSV_SEPARATOR),
                          convert_options=pacsv.ConvertOptions(column_types=types))


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
