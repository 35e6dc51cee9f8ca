"""Quality gates, one module per stage, and the check model. Importing this package registers
every gate.

The gate modules take their helpers from ``context`` and ``model``, never from this package: the
package imports them (to register their gates), so they must not import it back.
"""

from __future__ import annotations

from ..contracts import CONTRACTS

# The gate modules in the method's order, then the final step's: the registry keeps this order,
# which is the catalogue's (a test compares it with pipeline.STAGES).
from . import ingest, clean, merge, report, classify, compare  # noqa: F401  (registration)
from .context import CheckContext, quote  # noqa: F401  (the gates' helpers, for their callers)
from .ingest import CONTRACT_CHECKS
from .model import REGISTRY, CheckResult, evaluate


def run_checks(stage: str, ctx: CheckContext) -> list[CheckResult]:
    """Every registered gate of a stage (``compare``: the final step's), in declaration order."""
    return [evaluate(g, g.func(ctx)) for g in REGISTRY.get(stage, [])]


def catalogue_markdown() -> str:
    """Every check as a Markdown table (README's check catalogue is this text, tested)."""
    tables = ", ".join(CONTRACTS)
    lines = ["| id | severity | family | what it guards |", "|---|---|---|---|"]
    for check, (severity, family, description) in CONTRACT_CHECKS.items():
        lines.append(f"| `ingest.<table>.{check}` | {severity} | {family} | {description} (<table>: {tables}) |")
    for gates in REGISTRY.values():
        for g in gates:
            lines.append(f"| `{g.id}` | {g.severity} | {g.family} | {g.description} |")
    return "\n".join(lines)
