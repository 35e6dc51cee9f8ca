"""The report gates (checks/report.py), each shown failing alone (tests/test_gates.py says how)."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pytest

from gate_month import (
    Case,
    assert_fails_alone,
    base_months,
    by_id,
    edit_json,
    products_file,
    revenue_file,
    run_case,
    set_where,
    tamper_rows,
)


def swap_revenue(a: str, b: str) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        ra, rb = by_id(rows, a), by_id(rows, b)
        ra["revenue_eur"], rb["revenue_eur"] = rb["revenue_eur"], ra["revenue_eur"]

    return edit


CASES = [
    # two lines' CA swapped (63 x 102 = 6,426.00 and 95 x 69 = 6,555.00): each line wrong, the totals right
    Case(
        "report.revenue.line_is_price_times_quantity",
        tamper_rows(revenue_file, swap_revenue("4003", "4004")),
        2,
        0,
        at="output:report",
    ),
    # a line under another product's id: one product absent, one unknown
    Case(
        "report.revenue.one_line_per_product",
        tamper_rows(revenue_file, set_where("product_id", "4004", "product_id", "4099")),
        2,
        0,
        at="output:report",
    ),
    Case(
        "report.revenue.total_is_sum_of_lines",  # the reported total one cent off
        lambda w: edit_json(w.file("report", "report_manifest.json"), lambda m: m.__setitem__("ca_total", "98000.01")),
        {"rapport": "98000.01", "sql": "98000.00", "python": "98000.00"},
        "trois totaux égaux",
        at="output:report",
    ),
    # the report given products with a negative price (the merge gate did not run)
    Case(
        "report.revenue.no_negative_values",
        tamper_rows(products_file, set_where("product_id", "4002", "price_eur", Decimal("-60.00"))),
        1,
        0,
        at="input:report",
    ),
    Case(
        "report.workbook.matches_revenue",
        lambda w: w.file("report", "rapport_ca.xlsx").unlink(),
        "absent",
        "rapport_ca.xlsx",
        at="output:report",
    ),
]


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory):
    return base_months(tmp_path_factory)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_gate_fails_alone(case: Case, base_runs, tmp_path):
    assert_fails_alone(case, *run_case(case, base_runs, tmp_path))
