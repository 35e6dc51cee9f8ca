"""Input contracts: what each monthly workbook must contain, and how its columns are typed.

Ingest reads every contract column as text (so no id is ever turned into a float and no leading
zero is lost) and casts it explicitly with the SQL defined here; its contract checks
(checks/ingest.py) report, with the same SQL, the exact rows that do not fit.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds. Keys stay text: the link table holds ids such as "bon-cadeau-25-euros" and
# "13127-1" next to integers, so ERP ids and web skus are compared as text everywhere.
KEY = "key"  # text, trimmed
TEXT = "text"  # free text, trimmed, empty -> null
MONEY = "money"  # euros with at most 2 decimals -> DECIMAL(18,2)
INTEGER = "integer"  # whole number -> BIGINT

# Largest magnitude accepted for a number (exclusive), checked at ingest. Excel stores numbers as
# doubles: below 1e8 a price keeps its cents exactly. And 1e8 x 1e8 = 1e16 is the first value
# DECIMAL(18,2) cannot hold, so the CA of a line (price x quantity) always fits its type.
# Anything larger is a typing error (a pasted barcode, 1e15 sales), never a real figure.
LIMITS = {MONEY: 10**8, INTEGER: 10**8}
LIMITS_FR = {MONEY: "moins de 100 000 000 € en valeur absolue", INTEGER: "moins de 100 000 000 en valeur absolue"}

# Stripped from both ends of every cell's text: all Unicode whitespace (str.isspace(): tabs, line
# breaks, no-break and thin spaces...) and the zero-width characters a copy-paste brings along,
# invisible in Excel. One definition for Python (normalise_key) and DuckDB (key_sql).
STRIP_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
)

# What people type in a key cell to mean "no value" (compared in lower case, after stripping).
# A key such as "N/A" must count as missing (the not_null rules apply), never join as a real key.
KEY_PLACEHOLDERS = ("", "-", "--", "n/a", "#n/a", "na", "nan", "null", "none")


def normalise_key(text: object) -> str | None:
    """A key as the pipeline compares it: stripped of invisible characters at both ends, and
    None when empty or a placeholder."""
    if text is None:
        return None
    key = str(text).strip(STRIP_CHARS)
    return None if key.lower() in KEY_PLACEHOLDERS else key


_STRIP_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in STRIP_CHARS) + "]"


def strip_sql(expr: str) -> str:
    """DuckDB: ``expr`` (text) stripped like STRIP_CHARS."""
    return f"regexp_replace({expr}, '^{_STRIP_CLASS}+|{_STRIP_CLASS}+$', '', 'g')"


def key_sql(expr: str) -> str:
    """DuckDB: normalise_key(expr), the same rule in SQL."""
    placeholders = ", ".join(f"'{p}'" for p in KEY_PLACEHOLDERS)
    return f"(case when lower({strip_sql(expr)}) in ({placeholders}) then null else {strip_sql(expr)} end)"


def header_key(text: str) -> str:
    """How headers are matched: case and every space (around or inside) ignored, so 'price',
    ' PRICE' and 'pri ce' name the same column."""
    return "".join(c for c in str(text) if c not in STRIP_CHARS).casefold()


KIND_LABELS_FR = {
    KEY: "un identifiant",
    TEXT: "du texte",
    MONEY: "un montant en euros (au plus 2 décimales)",
    INTEGER: "un nombre entier",
}


@dataclass(frozen=True)
class Column:
    source: str  # header in the workbook
    name: str  # name in the pipeline (identical across stages)
    kind: str
    nullable: bool = True  # False: an empty cell rejects the file at ingest
    allowed: tuple[str, ...] = ()  # known values; others are reported (warn)


@dataclass(frozen=True)
class WorkbookContract:
    table: str  # erp | web | liaison
    file_name: str  # expected file name in the input folder
    label_fr: str  # how a business reader calls it
    columns: tuple[Column, ...]
    # Headers the export is known to carry but the analysis does not use: read past silently.
    # Anything else is reported as schema drift (warn).
    known_unused: tuple[str, ...] = ()

    @property
    def source_columns(self) -> list[str]:
        return [column.source for column in self.columns]


ERP = WorkbookContract(
    table="erp",
    file_name="erp.xlsx",
    label_fr="catalogue ERP",
    columns=(
        Column("product_id", "product_id", KEY, nullable=False),
        Column("onsale_web", "onsale_web", INTEGER),
        Column("price", "price_eur", MONEY),
        Column("stock_quantity", "stock_quantity", INTEGER),
        Column("stock_status", "stock_status", TEXT, allowed=("instock", "outofstock")),
    ),
)

WEB = WorkbookContract(
    table="web",
    file_name="web.xlsx",
    label_fr="export du site web (CMS)",
    columns=(
        Column("sku", "sku", KEY),
        Column("total_sales", "quantity_sold", INTEGER),
        Column("post_type", "post_type", TEXT, allowed=("product", "attachment")),
        Column("post_title", "product_name", TEXT),
    ),
    known_unused=(
        "virtual",
        "downloadable",
        "rating_count",
        "average_rating",
        "tax_status",
        "tax_class",
        "post_author",
        "post_date",
        "post_date_gmt",
        "post_content",
        "post_excerpt",
        "post_status",
        "comment_status",
        "ping_status",
        "post_password",
        "post_name",
        "post_modified",
        "post_modified_gmt",
        "post_content_filtered",
        "post_parent",
        "guid",
        "menu_order",
        "post_mime_type",
        "comment_count",
    ),
)

LIAISON = WorkbookContract(
    table="liaison",
    file_name="liaison.xlsx",
    label_fr="table de liaison ERP / web",
    columns=(
        Column("product_id", "product_id", KEY, nullable=False),
        # An ERP product that is not sold on the web has no sku: empty is legitimate here.
        Column("id_web", "sku", KEY),
    ),
)

CONTRACTS: dict[str, WorkbookContract] = {c.table: c for c in (ERP, WEB, LIAISON)}
TABLES = tuple(CONTRACTS)  # the month's three workbooks, in the order every stage handles them


# --- the contract in SQL: a column's text, its typed value, the text that does not fit ----------
# On a table of the cells' text, one column per contract column (named after its header), as the
# ingest stage reads it. The stage types with these; its contract checks (checks/ingest.py) report
# with them: one definition for both.


def cleaned_text_sql(column: Column) -> str:
    """The cell's text, stripped of invisible characters; empty -> null, and for a key, a
    placeholder ('N/A', '-', 'null'...) too (normalise_key)."""
    source = f'"{column.source}"'
    return key_sql(source) if column.kind == KEY else f"nullif({strip_sql(source)}, '')"


def text_column(column: Column) -> str:
    """Where the cleaned text of a column is kept, computed once per cell (cleaned_text_sql)."""
    return f"text_{column.name}"


def _number_sql(column: Column) -> str:
    return f"try_cast({text_column(column)} as double)"


def typed_sql(column: Column) -> str:
    """The typed value of a column, from its cleaned text."""
    if column.kind in (KEY, TEXT):
        return text_column(column)
    if column.kind == MONEY:
        return f"cast(round({_number_sql(column)}, 2) as decimal(18, 2))"
    if column.kind == INTEGER:
        return f"cast({_number_sql(column)} as bigint)"
    raise ValueError(column.kind)


def out_of_range_sql(column: Column) -> str | None:
    """Rows holding a number too large for the contract (LIMITS)."""
    if column.kind not in LIMITS:
        return None
    number = _number_sql(column)
    return f"isfinite({number}) and abs({number}) >= {LIMITS[column.kind]}"


def invalid_sql(column: Column) -> str | None:
    """Rows whose text does not fit the column's kind (never rounded or dropped silently). Numbers
    out of range are out_of_range_sql's: their decimals mean nothing in a double."""
    if column.kind not in LIMITS:
        return None
    number = _number_sql(column)
    not_a_number = f"{text_column(column)} is not null and ({number} is null or not isfinite({number}))"
    in_range = f"abs({number}) < {LIMITS[column.kind]}"
    if column.kind == MONEY:
        # 1e-4 of a cent: above a double's error below 1e8 EUR, far below any third decimal
        return f"{not_a_number} or ({in_range} and abs({number} * 100 - round({number} * 100)) > 1e-4)"
    return f"{not_a_number} or ({in_range} and {number} <> floor({number}))"
