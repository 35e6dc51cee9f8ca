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
from gate_runner import run_gate


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


# The month-over-month gates' exact findings on a comparison built in the test: the products a
# warning names, and a previous month whose CA was zero (no percentage to compare).


def test_a_previous_month_with_no_ca_gives_no_drift_alert():
    comparison = {"previous_period": "2026-09", "previous_ca_total": 0.0, "ca_change": 500.0, "ca_change_pct": None}
    result = run_gate("compare.ca.drift_within_limit", {}, comparison=comparison, period="2026-10", ca_total=500.0)
    assert (result.passed, result.offending_count) == (True, 0)


def test_the_lost_products_warning_names_ten_and_counts_the_others():
    previous = PeriodFacts(
        "2026-09", Decimal("1000.00"), 40, 0, {str(i): (f"Cuvée {i}", False) for i in range(100, 140)}
    )
    lost = [str(i) for i in range(100, 112)]  # 12 of 40: 30 % > 20 %
    comparison = {"previous_period": "2026-09", "products_lost": 12, "products_lost_share": 0.3}
    comparison["products_lost_ids"] = lost
    params = {"comparison": comparison, "previous": previous, "period": "2026-10"}
    result = run_gate("compare.products.lost_within_limit", {}, **params)
    assert (result.passed, result.offending_count) == (False, 12)
    assert result.observed == {
        "mois_compare": "2026-09",
        "produits_perdus": 12,
        "produits_mois_compare": 40,
        "part": 0.3,
    }
    assert (
        "100 (Cuvée 100) ; 101 (Cuvée 101)" in result.message and "109 (Cuvée 109) ; et 2 autre(s)." in result.message
    )
    assert "110 (Cuvée 110)" not in result.message
    assert [r["product_id"] for r in result.rows] == lost  # the whole list, the message names ten


def test_a_drift_alert_is_one_finding_with_its_figures():
    comparison = {"previous_period": "2026-09", "previous_ca_total": 1000.0, "ca_change_pct": 50.0}
    result = run_gate("compare.ca.drift_within_limit", {}, comparison=comparison, period="2026-10", ca_total=1500.0)
    assert (result.passed, result.offending_count, result.expected) == (False, 1, "|variation| ≤ 30\u00a0%")
    assert result.observed == {"mois_compare": "2026-09", "variation": 0.5, "ca_precedent": 1000.0, "ca": 1500.0}
    assert "soit une hausse de 50,00\u00a0%" in result.message


def lost_products(count: int, previous_period: str | None = "2026-09") -> dict:
    previous = PeriodFacts(
        "2026-09", Decimal("1000.00"), 40, 0, {str(i): (f"Cuvée {i}", False) for i in range(100, 140)}
    )
    lost = [str(i) for i in range(100, 100 + count)]
    comparison = {"previous_period": previous_period, "products_lost": count, "products_lost_share": count / 40}
    comparison["products_lost_ids"] = lost
    return {"comparison": comparison, "previous": previous, "period": "2026-10"}


def test_the_lost_products_warning_says_how_many_it_does_not_name():
    assert (
        "109 (Cuvée 109) ; et 1 autre(s)."
        in run_gate("compare.products.lost_within_limit", {}, **lost_products(11)).message
    )
    ten = run_gate("compare.products.lost_within_limit", {}, **lost_products(10)).message
    assert "109 (Cuvée 109). Vérifiez" in ten and "autre(s)" not in ten


def test_without_the_previous_extracts_the_products_are_not_compared_and_it_says_why():
    params = lost_products(0)
    params["comparison"]["products_lost"] = None
    result = run_gate("compare.products.lost_within_limit", {}, **params)
    assert result.passed
    assert result.observed == "extractions du mois comparé absentes de l'historique : pas de comparaison par produit"
    params["comparison"]["previous_period"] = None
    assert run_gate("compare.products.lost_within_limit", {}, **params).observed.startswith("aucun mois publié")
