"""The final step's gates (checks/compare.py), each shown failing alone (tests/test_gates.py says
how), one step above each drift limit; the limits themselves pass.

Warnings computed from the comparison the final step builds (history.compare), called here on a
comparison written by hand: this month (98,000.00 EUR, the 20 wines) against 2026-09."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bottleneck_pipeline.checks import REGISTRY, CheckContext, run_checks
from bottleneck_pipeline.history import PeriodFacts
from gate_month import PERIOD, WINES, Case, assert_fails_alone


def compare_params() -> dict:
    """The month against 2026-09: 75,384.62 EUR (this month is +30.00 %, exactly the CA drift
    limit) and 25 wines, these 20 and 5 no longer sold (20 %: exactly the products-lost limit)."""
    previous = {str(pid): (f"Cuvée {pid}", pid == 4020) for pid, *_ in WINES}
    previous |= {str(pid): (f"Cuvée {pid}", False) for pid in range(4101, 4106)}
    comparison = {
        "previous_period": "2026-09",
        "previous_ca_total": 75384.62,
        "ca_change": 22615.38,
        "ca_change_pct": 30.0,
        "products_lost": 5,
        "products_lost_share": 0.2,
        "products_lost_ids": [str(pid) for pid in range(4101, 4106)],
        "history_unreadable": {},
    }
    return {
        "comparison": comparison,
        "period": PERIOD,
        "ca_total": 98000.0,
        "previous": PeriodFacts("2026-09", Decimal("75384.62"), 25, 1, previous),
    }


def a_month_lower(params: dict) -> None:
    """2026-09 at 75,360.00 EUR: this month is +30.04 %."""
    params["comparison"].update(previous_ca_total=75360.0, ca_change=22640.0, ca_change_pct=30.04)


def one_more_wine_gone(params: dict) -> None:
    """2026-09 had a 26th wine, gone too: 6 of 26 (23.08 %)."""
    params["previous"].wines["4106"] = ("Cuvée 4106", False)
    params["comparison"].update(
        products_lost=6, products_lost_share=round(6 / 26, 4), products_lost_ids=[str(pid) for pid in range(4101, 4107)]
    )


CASES = [
    Case(
        "compare.ca.drift_within_limit",
        a_month_lower,
        {"mois_compare": "2026-09", "variation": 0.3004, "ca_precedent": 75360.0, "ca": 98000.0},
        "|variation| ≤ 30\u00a0%",
        at="compare",
        words="soit une hausse de 30,04\u00a0%",
    ),
    Case(
        "compare.products.lost_within_limit",
        one_more_wine_gone,
        {"mois_compare": "2026-09", "produits_perdus": 6, "produits_mois_compare": 26, "part": 0.2308},
        "part perdue ≤ 20\u00a0%",
        at="compare",
        words="6 des 26 produits",
    ),
    Case(
        "compare.history.readable",  # a month folder without its summary
        lambda params: params["comparison"]["history_unreadable"].update({"2026-08": "run_summary.json absent"}),
        {"2026-08": "run_summary.json absent"},
        {},
        at="compare",
        words="2026-08 (run_summary.json absent)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_gate_fails_alone(case: Case):
    params = compare_params()
    case.defect(params)
    assert_fails_alone(case, run_checks("compare", CheckContext(None, {}, params)), ["compare"])


def test_the_compare_base_is_at_both_limits_and_passes():
    """Exactly +30 % of CA and exactly 20 % of the products lost: no warning (the limits are
    inclusive; one step above each, the cases above warn)."""
    results = run_checks("compare", CheckContext(None, {}, compare_params()))
    assert [r.id for r in results if not r.passed] == [] and len(results) == len(REGISTRY["compare"])
