"""Stage 4, report: revenue (CA) per product = price x quantity sold, and the total."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..storage import query_arrow, sql_text


def revenue_per_product(con: duckdb.DuckDBPyConnection, products: pa.Table) -> pa.Table:
    con.register("merged_products", products)
    try:
        return query_arrow(con, sql_text("report/revenue"))
    finally:
        con.unregister("merged_products")


def total_revenue(revenue: pa.Table) -> Decimal:
    """Sum of the per-product lines, exact (decimal arithmetic, no float)."""
    total = pc.sum(revenue["revenue_eur"]).as_py()
    return total if total is not None else Decimal("0.00")
