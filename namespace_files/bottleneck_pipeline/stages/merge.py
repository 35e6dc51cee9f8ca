"""Stage 3, merge: ERP -> link table -> web, keys compared as text. The only stage with joins."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ..storage import query_arrow, sql_text


def merge(con: duckdb.DuckDBPyConnection, cleaned: dict[str, pa.Table]) -> pa.Table:
    for name, table in cleaned.items():
        con.register(f"clean_{name}", table)
    try:
        return query_arrow(con, sql_text("merge/products"))
    finally:
        for name in cleaned:
            con.unregister(f"clean_{name}")
