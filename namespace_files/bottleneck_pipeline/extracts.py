"""The premium and ordinary CSV extracts, one row per wine, most expensive first, in two forms:

- **French** (the deliverables ``vins_premium.csv``, ``vins_ordinaires.csv``), for French Excel
  as a finance team opens it: UTF-8 with a byte-order mark (so Excel shows the accents), ';'
  separator, decimal comma, prices and CA with 2 decimals, the z-score rounded to 2 decimals,
  French headings (those of the Excel report). Numbers are written unquoted and without thousands
  separator, so that Excel reads them as numbers (sums work); text is always quoted.
- **machine** (``machine/vins_premium.csv``, ``machine/vins_ordinaires.csv``), for other teams'
  programs: the format the extracts always had: technical headers (``product_id;sku;nom_du_vin;
  prix_eur;z_score;quantite_vendue;ca_eur``), decimal point, the z-score in full precision.

Text cells are neutralised against CSV formula injection (OWASP) in both forms: a value starting
with '=', '+', '-', '@', a tab or a carriage return would run as a formula when the file is opened
in a spreadsheet, so it is written with a leading single quote ("'=1+1"). Idempotent (the result
starts with a quote); the classify gates compare the extracts with the revenue table in this same
form.

An extract table, in memory, has the machine headers as column names (``extract_table``); the
readers (``read_extract``, ``register_extract``) recognise the form of a file by its header line.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .failures import DataRejected
from .labels_fr import (
    CSV_SEPARATOR,
    DECIMAL_COMMA,
    EXTRACT_COLUMNS,
    EXTRACT_HEADINGS_FR,
    MACHINE_DIR,
    ORDINARY_FILE,
    PREMIUM_FILE,
)

TEXT_COLUMNS = ("product_id", "sku", "product_name")
MONEY_COLUMNS = ("price_eur", "revenue_eur")
FORMULA_START = r"^[=+\-@\t\r]"  # what a spreadsheet takes for the start of a formula
BOM = "\ufeff"
FRENCH, MACHINE = "fr", "machine"

# pipeline column -> DuckDB type, to read an extract back exactly as it was meant
READ_TYPES = {
    "product_id": "VARCHAR",
    "sku": "VARCHAR",
    "product_name": "VARCHAR",
    "price_eur": "DECIMAL(18,2)",
    "z_score": "DOUBLE",
    "quantity_sold": "BIGINT",
    "revenue_eur": "DECIMAL(18,2)",
}
HEADINGS = {FRENCH: EXTRACT_HEADINGS_FR, MACHINE: EXTRACT_COLUMNS}


def machine_path(folder: Path, name: str) -> Path:
    """Where the machine-readable form of the extract ``name`` sits in a stage or period folder."""
    return Path(folder) / MACHINE_DIR / name


EXTRACT_FILES = (PREMIUM_FILE, ORDINARY_FILE)
MACHINE_FILES = tuple(f"{MACHINE_DIR}/{name}" for name in EXTRACT_FILES)


def neutralise(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text that a spreadsheet would take for a formula, prefixed with a single quote."""
    return pc.if_else(
        pc.match_substring_regex(values, FORMULA_START), pc.binary_join_element_wise("'", values, ""), values
    )


def neutralise_text(table: pa.Table) -> pa.Table:
    """The table with its text columns (ids, sku, wine name) neutralised, as the extracts hold them."""
    for name in TEXT_COLUMNS:
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, neutralise(table[name]))
    return table


def extract_table(classified: pa.Table, premium: bool) -> pa.Table:
    """The wines of one class, with the machine headers as column names, by price then product_id."""
    rows = classified.filter(pc.equal(classified["is_premium"], premium))
    rows = rows.sort_by([("price_eur", "descending"), ("product_id", "ascending")])
    rows = neutralise_text(rows.select(list(EXTRACT_COLUMNS)))
    return rows.rename_columns(list(EXTRACT_COLUMNS.values()))


def write_extract(path: Path, table: pa.Table, form: str = FRENCH) -> None:
    """Write an extract table (``extract_table``) in one form, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as handle:
        handle.write(BOM.encode("utf-8"))
        if form == MACHINE:
            pacsv.write_csv(table, handle, pacsv.WriteOptions(delimiter=CSV_SEPARATOR))
        else:
            handle.write(_french_header())
            for chunk in _french_lines(table):
                handle.write(chunk)
    os.replace(tmp, path)


def write_extracts(out_dir: Path, premium: pa.Table, ordinary: pa.Table) -> None:
    """Both extracts in both forms: the French deliverables and ``machine/``."""
    for name, table in ((PREMIUM_FILE, premium), (ORDINARY_FILE, ordinary)):
        write_extract(Path(out_dir) / name, table, FRENCH)
        write_extract(machine_path(out_dir, name), table, MACHINE)


# --- the French form, built column-wise with Arrow (no per-cell Python) -----------------------

CHUNK_ROWS = 100_000


def _quoted(values: pa.Array) -> pa.Array:
    """A CSV text field: always quoted, inner quotes doubled (null stays null: an empty field)."""
    quote, empty = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    values = pc.replace_substring(values.cast(pa.large_string()), '"', '""')
    return pc.binary_join_element_wise(quote, values, quote, empty)


def _decimal_comma(values: pa.Array) -> pa.Array:
    """A number's text with a decimal comma (its exact decimal digits: '12.50' -> '12,50')."""
    return pc.replace_substring(pc.cast(values, pa.large_string()), ".", DECIMAL_COMMA)


def french_number_texts(name: str, values: pa.Array) -> pa.Array:
    """The text of a numeric column in the French extract: money with its 2 decimals, the z-score
    rounded to 2 decimals (from its exact binary value, half away from zero), integers as such."""
    if name == "z_score":
        values = pc.cast(values, pa.decimal128(18, 2))
    elif name in MONEY_COLUMNS:
        values = pc.cast(values, pa.decimal128(18, 2))
    return _decimal_comma(values)


def _french_header() -> bytes:
    fields = [f'"{heading}"' for heading in EXTRACT_HEADINGS_FR.values()]
    return (CSV_SEPARATOR.join(fields) + "\n").encode("utf-8")


def _french_lines(table: pa.Table):
    machine_to_pipeline = {v: k for k, v in EXTRACT_COLUMNS.items()}
    for start in range(0, table.num_rows, CHUNK_ROWS):
        part = table.slice(start, CHUNK_ROWS).combine_chunks()
        fields = []
        for column in part.column_names:
            name = machine_to_pipeline[column]
            values = part.column(column).combine_chunks()
            text = _quoted(values) if name in TEXT_COLUMNS else french_number_texts(name, values)
            fields.append(pc.fill_null(text, pa.scalar("", pa.large_string())))
        lines = pc.binary_join_element_wise(*fields, pa.scalar(CSV_SEPARATOR, pa.large_string()))
        lines = pc.binary_join_element_wise(lines, pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string()))
        _, offsets, data = lines.buffers()  # no nulls: the lines are one contiguous buffer
        offsets = memoryview(offsets).cast("q")  # large_string: 64-bit offsets
        yield memoryview(data)[offsets[lines.offset] : offsets[lines.offset + len(lines)]]


# --- reading back -----------------------------------------------------------------------------


def extract_form(path: Path) -> str:
    """FRENCH or MACHINE, from the header line of the file."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    first = header.split(CSV_SEPARATOR, 1)[0].strip().strip('"')
    if first == EXTRACT_HEADINGS_FR["product_id"]:
        return FRENCH
    if first == EXTRACT_COLUMNS["product_id"]:
        return MACHINE
    raise DataRejected(
        f"{Path(path).name} : en-tête inattendu ({header.strip()[:80]!r}) : ce fichier "
        "n'est pas une extraction de vins du pipeline.",
        stage="classify",
        hint="Relancez le mois : les extractions sont écrites par l'étape classify.",
    )


# pipeline column -> Arrow type when read back in Python (stated, so an empty extract, header only,
# reads with the same schema as a full one)
ARROW_TYPES = {
    "product_id": pa.string(),
    "sku": pa.string(),
    "product_name": pa.string(),
    "price_eur": pa.float64(),
    "z_score": pa.float64(),
    "quantity_sold": pa.int64(),
    "revenue_eur": pa.float64(),
}


def read_extract(path: Path) -> pa.Table:
    """An extract in either form, with the machine headers as column names and ids as text, for
    whoever reads it back in Python."""
    form = extract_form(path)
    headings = HEADINGS[form]
    types = {headings[name]: kind for name, kind in ARROW_TYPES.items()}
    convert = pacsv.ConvertOptions(column_types=types, decimal_point=DECIMAL_COMMA if form == FRENCH else ".")
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=CSV_SEPARATOR), convert_options=convert)
    return table.rename_columns([EXTRACT_COLUMNS[name] for name in headings])


def register_extract(con: duckdb.DuckDBPyConnection, view: str, path: Path) -> None:
    """Expose an extract read back from disk, in either form, under pipeline column names (for
    the gates)."""
    form = extract_form(path)
    headings = HEADINGS[form]
    columns = ", ".join(f"'{headings[name]}': '{kind}'" for name, kind in READ_TYPES.items())
    renames = ", ".join(f'"{headings[name]}" as {name}' for name in READ_TYPES)
    path_sql = str(path).replace("'", "''")
    decimal = f", decimal_separator = '{DECIMAL_COMMA}'" if form == FRENCH else ""
    # Quote and escape stated, not sniffed: DuckDB guesses them from the first rows only, and a
    # wine name with quotes further down ('Cuvée "D"') would then be misread.
    con.execute(
        f"create or replace temp view {view} as select {renames} from read_csv('{path_sql}', "
        f"delim = '{CSV_SEPARATOR}', quote = '\"', escape = '\"', header = true{decimal}, "
        f"columns = {{{columns}}})"
    )
