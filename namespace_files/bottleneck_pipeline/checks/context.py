"""What a check looks at (``CheckContext``) and how a message quotes offending keys.

Apart from the package's ``__init__`` so that the gate modules, which the package imports to
register their gates, never import the package back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ..storage import aggregate_row, query_rows
from .model import LISTED_ROWS, MAX_ROWS, Finding


@dataclass
class CheckContext:
    """What a stage's checks look at: its input and output tables registered in DuckDB under
    fixed names, the stage manifest and the run parameters. No connection for the final step's
    comparison gates: they read only the parameters."""

    con: duckdb.DuckDBPyConnection | None
    manifest: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """The connection holding the stage's tables (every gate but the comparison's has one)."""
        if self.con is None:
            raise RuntimeError("this check queries tables but its context has no DuckDB connection")
        return self.con

    def count(self, sql: str) -> int:
        return aggregate_row(self.db, f"select count(*) from ({sql})")[0]

    def aggregate(self, sql: str) -> tuple:
        """The one row of an aggregate query (no ``group by``)."""
        return aggregate_row(self.db, sql)

    def scalar(self, sql: str):
        """The one value of an aggregate query (no ``group by``)."""
        return self.aggregate(sql)[0]

    def offending(self, sql: str, message, observed=None, expected=0) -> Finding:
        """A check written as a query that returns the offending rows (empty = pass).
        ``message`` may be a function of (count, first MAX_ROWS rows) to quote keys and rows; the
        finding keeps up to LISTED_ROWS rows for the report's complete lists."""
        count = self.count(sql)
        rows = query_rows(self.db, sql, limit=LISTED_ROWS) if count else []
        text = message(count, rows[:MAX_ROWS]) if callable(message) else message
        return Finding(count, count if observed is None else observed, expected, text, rows)


def quote(rows: list[dict], key: str, count: int) -> str:
    """'a, b, c…': the first offending keys of a finding, for a message."""
    text = ", ".join(str(r[key]) for r in rows)
    return text + ("…" if count > len(rows) else "")
