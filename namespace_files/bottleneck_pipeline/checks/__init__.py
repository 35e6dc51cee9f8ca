"""Quality gates, one module per stage. Importing this package registers every check."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ..storage import query_rows
from .model import MAX_ROWS, REGISTRY, CheckResult, Finding, evaluate


@dataclass
class CheckContext:
    """What a stage's checks look at: its input and output tables registered in DuckDB under
    fixed names, the stage manifest and the run parameters."""

    con: duckdb.DuckDBPyConnection
    manifest: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def count(self, sql: str) -> int:
        return self.con.execute(f"select count(*) from ({sql})").fetchone()[0]

    def scalar(self, sql: str):
        return self.con.execute(sql).fetchone()[0]

    def offending(self, sql: str, message, observed=None, expected=0) -> Finding:
        """A check written as a query that returns the offending rows (empty = pass).
        ``message`` may be a function of (count, first rows) to quote keys and rows."""
        count = self.count(sql)
        rows = query_rows(self.con, sql, limit=MAX_ROWS) if count else []
        text = message(count, rows) if callable(message) else message
        return Finding(count, count if observed is None else observed, expected, text, rows)


GATED = ("ingest", "clean", "merge", "report", "classify", "compare")  # compare: the final step


def run_checks(stage: str, ctx: CheckContext) -> list[CheckResult]:
    from . import classify, clean, compare, ingest, merge, report  # noqa: F401  (registration)

    return [evaluate(g, g.func(ctx)) for g in REGISTRY.get(stage, [])]


def quote(rows: list[dict], key: str, count: int) -> str:
    """'a, b, c…': the first offending keys of a finding, for a message."""
    text = ", ".join(str(r[key]) for r in rows)
    return text + ("…" if count > len(rows) else "")


def catalogue_markdown() -> str:
    """Every check as a Markdown table (README's check catalogue is this text, tested)."""
    from ..contracts import CONTRACTS
    from ..stages.ingest import CONTRACT_CHECKS
    from . import classify, clean, compare, ingest, merge, report  # noqa: F401  (registration)

    tables = ", ".join(CONTRACTS)
    lines = ["| id | severity | family | what it guards |", "|---|---|---|---|"]
    for check, (severity, family, description) in CONTRACT_CHECKS.items():
        lines.append(f"| `ingest.<table>.{check}` | {severity} | {family} | {description} (<table>: {tables}) |")
    for stage in GATED:
        for g in REGISTRY.get(stage, []):
            lines.append(f"| `{g.id}` | {g.severity} | {g.family} | {g.description} |")
    return "\n".join(lines)
