"""Stage 2, clean: remove exact duplicates, non-product web rows and rows missing a value the
analysis needs, counting what was removed and why. Works per source table; no joins here."""

from __future__ import annotations

import html

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..contracts import TABLES
from ..storage import query_arrow, sql_text


def clean_table(con: duckdb.DuckDBPyConnection, name: str, ingested: pa.Table) -> tuple[pa.Table, dict]:
    """Kept rows of one table, and the count of removed rows per reason."""
    con.register(f"ingest_{name}", ingested)
    try:
        con.execute(f"create or replace temp table tagged as {sql_text(f'clean/{name}')}")
    finally:
        con.unregister(f"ingest_{name}")
    kept = query_arrow(
        con, "select * exclude (removal_reason) from tagged where removal_reason is null order by source_row"
    )
    removed = dict(
        con.execute(
            "select removal_reason, count(*) from tagged where removal_reason is not null group by all order by 1"
        ).fetchall()
    )
    con.execute("drop table tagged")
    return kept, removed


def decode_html_entities(names: pa.ChunkedArray) -> pa.Array:
    """WordPress stores titles HTML-escaped ('Petit Lebrun &amp; Fils'): show them as written.
    Only the values holding an '&' go through Python."""
    values = names.to_pylist()
    has_entity = pc.match_substring(names, "&").to_pylist()
    return pa.array([html.unescape(v) if flag else v for v, flag in zip(values, has_entity)], pa.string())


def clean(con: duckdb.DuckDBPyConnection, ingested: dict[str, pa.Table]) -> tuple[dict[str, pa.Table], dict]:
    cleaned, removed = {}, {}
    for name in TABLES:
        cleaned[name], removed[name] = clean_table(con, name, ingested[name])
    web = cleaned["web"]
    column = web.schema.get_field_index("product_name")
    cleaned["web"] = web.set_column(column, "product_name", decode_html_entities(web["product_name"]))
    return cleaned, removed
