"""The check model: every gate has a stable id, a stage, a severity, and a French message.

A check is a function that returns what it found (offending rows, observed vs expected); an
empty finding means the check passed. ``error`` stops the run before anything is published;
``warn`` is recorded in the quality report.

Where the queries live. A check specific to one assertion keeps its query in a SQL file next to
the transformations of the stage it guards, ``sql/<stage>/checks/<assertion>.sql`` (loaded by
``check_sql``), with a header saying which gate uses it, why it matters, its grain and inputs;
it returns the offending rows. The gate module keeps what is Python: the French message, the
severity, the id, the observed and expected values, and a ceiling or a threshold. Runtime values
a query needs (the z threshold) reach it as DuckDB variables (``getvariable``), so the file's
text never changes. Two kinds of query stay in Python, on purpose:
- a standard shape applied to several tables (key unique at the grain, not null, the table has
  rows, rows read = kept + removed: clean's ``_conflicts``, ``_missing``, ``_not_empty``,
  ``rows_accounted_for``; merge's ``_fan_out``; ingest's per-table checks): one small function
  named after the shape, called once per table. A file per table would repeat the shape three or
  four times, or need a templating layer over the SQL, which is not worth it at our size;
- a scalar probe (a row count, a sum, a mean) feeding a comparison that the gate makes in Python:
  the rule is the comparison (three totals equal to the cent, z-scores of mean 0 and standard
  deviation 1, the merged rows against the prediction), not the one-line aggregate.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable

ERROR = "error"
WARN = "warn"
MAX_ROWS = 10  # offending rows a message or an alert quotes: enough to act on, short enough to read
# Offending rows kept per check in the quality report and the HTML page, behind a fold: the whole
# list of a month's defects (a real month has at most a few dozen), bounded for a broken file.
LISTED_ROWS = 200

# The five families the brief requires, plus schema (the input contract) and business rules.
FAMILIES = ("schema", "duplicates", "missing_values", "volumes", "revenue", "zscore", "business")
SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def check_sql(stage: str, assertion: str) -> str:
    """The query of a check, ``sql/<stage>/checks/<assertion>.sql`` (read once per process)."""
    return (SQL_DIR / stage / "checks" / f"{assertion}.sql").read_text(encoding="utf-8")


@dataclass
class Finding:
    """What a check saw. ``count == 0`` means the check passed."""

    count: int
    observed: Any
    expected: Any
    message: str = ""  # French, for a business reader; required when count > 0
    rows: list[dict] = field(default_factory=list)


@dataclass
class CheckResult:
    id: str
    stage: str
    severity: str
    family: str
    description: str
    passed: bool
    observed: Any
    expected: Any
    message: str
    offending_count: int
    rows: list[dict]

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == ERROR

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        return cls(**data)


@dataclass(frozen=True)
class Gate:
    id: str
    stage: str
    severity: str
    family: str
    description: str  # French: what it detects and why it matters to the business
    func: Callable[..., Finding]


REGISTRY: dict[str, list[Gate]] = {}


def gate(stage: str, check_id: str, severity: str, family: str, description: str):
    """Register a check function for a stage (declared next to the stage it guards)."""
    assert severity in (ERROR, WARN) and family in FAMILIES

    def register(func: Callable[..., Finding]) -> Callable[..., Finding]:
        REGISTRY.setdefault(stage, []).append(Gate(f"{stage}.{check_id}", stage, severity, family, description, func))
        return func

    return register


def evaluate(g: Gate, finding: Finding) -> CheckResult:
    passed = finding.count == 0
    return CheckResult(
        id=g.id,
        stage=g.stage,
        severity=g.severity,
        family=g.family,
        description=g.description,
        passed=passed,
        observed=finding.observed,
        expected=finding.expected,
        message="" if passed else finding.message,
        offending_count=finding.count,
        rows=finding.rows[:LISTED_ROWS],
    )


def blocking(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.blocking]


def summary_fr(results: list[CheckResult]) -> str:
    """A short French summary for logs, alerts and the run output."""
    failed_errors = [r for r in results if r.blocking]
    warnings = [r for r in results if not r.passed and r.severity == WARN]
    passed = sum(r.passed for r in results)
    head = f"{passed}/{len(results)} contrôles réussis"
    if failed_errors:
        head += f", {len(failed_errors)} bloquant(s)"
    if warnings:
        head += f", {len(warnings)} avertissement(s)"
    lines = [head + "."]
    for r in failed_errors:
        lines.append(f"BLOQUANT [{r.id}] {r.message}")
    for r in warnings:
        lines.append(f"Avertissement [{r.id}] {r.message}")
    return "\n".join(lines)
