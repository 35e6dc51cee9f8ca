"""The report gates (checks/report.py), each shown failing alone (tests/test_gates.py says how)."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable


from gate_month import Case, by_id, edit_json, fails_alone_test, products_file, revenue_file, set_where, tamper_rows
from gate_runner import run_gate


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


# Each case: the base month with its one defect; this gate and no other fails.
test_the_gate_fails_alone = fails_alone_test(CASES)


# The report gates' exact findings on a few lines built in the test.


def test_a_product_reported_twice_is_one_finding_and_a_missing_one_another():
    products = [{"product_id": p, "price_eur": 2.0, "quantity_sold": 1} for p in ("1", "2", "3")]
    revenue = [{"product_id": p, "revenue_eur": 2.0} for p in ("1", "1", "3", "9")]
    result = run_gate("report.revenue.one_line_per_product", {"products": products, "revenue": revenue})
    found = sorted((r["product_id"], r["ecart"]) for r in result.rows)
    assert found == [("1", "en double ou en trop"), ("2", "absent du rapport"), ("9", "en double ou en trop")]


def test_a_report_of_no_product_totals_zero():
    tables = {
        "products": "select '1' as product_id, 1.00::decimal(18, 2) as price_eur, 1 as quantity_sold where false",
        "revenue": "select '1' as product_id, 1.00::decimal(18, 2) as revenue_eur where false",
    }
    result = run_gate("report.revenue.total_is_sum_of_lines", tables, manifest={"ca_total": "0.00"})
    assert (result.passed, result.observed) == (True, {"rapport": "0.00", "sql": "0.00", "python": "0.00"})


def test_each_negative_value_is_named_and_zero_is_not_negative():
    revenue = [
        {"product_id": "1", "price_eur": 0.0, "quantity_sold": 0, "revenue_eur": 0.0},
        {"product_id": "2", "price_eur": -1.0, "quantity_sold": 1, "revenue_eur": 1.0},
        {"product_id": "3", "price_eur": 1.0, "quantity_sold": -1, "revenue_eur": 1.0},
        {"product_id": "4", "price_eur": 1.0, "quantity_sold": 1, "revenue_eur": -1.0},
    ]
    result = run_gate("report.revenue.no_negative_values", {"revenue": revenue})
    assert [r["product_id"] for r in result.rows] == ["2", "3", "4"]


def test_a_missing_workbook_is_one_finding(tmp_path):
    revenue = [{"product_id": "1", "revenue_eur": 2.0}]
    result = run_gate(
        "report.workbook.matches_revenue", {"revenue": revenue}, report_xlsx=str(tmp_path / "absent.xlsx")
    )
    assert (result.passed, result.offending_count, result.observed) == (False, 1, "absent")


def test_one_total_out_of_three_that_differs_is_caught():
    products = [{"product_id": "1", "price_eur": Decimal("2.00"), "quantity_sold": 1}]
    revenue = [{"product_id": "1", "revenue_eur": Decimal("2.00")}]
    tables = {"products": products, "revenue": revenue}
    result = run_gate("report.revenue.total_is_sum_of_lines", tables, manifest={"ca_total": "3.00"})
    assert (result.passed, result.observed) == (False, {"rapport": "3.00", "sql": "2.00", "python": "2.00"})


def test_a_workbook_of_no_line_matches_an_empty_report(tmp_path, monkeypatch):
    """The gate's comparison alone: the workbook is read back as an empty report would be."""
    from bottleneck_pipeline import report_workbook

    (tmp_path / "rapport_ca.xlsx").write_bytes(b"")
    monkeypatch.setattr(report_workbook, "read_back", lambda path: (0, Decimal("0.00")))
    revenue = "select '1' as product_id, 1.00::decimal(18, 2) as revenue_eur where false"
    result = run_gate(
        "report.workbook.matches_revenue", {"revenue": revenue}, report_xlsx=str(tmp_path / "rapport_ca.xlsx")
    )
    assert (result.passed, result.expected) == (True, {"lignes": 0, "total": "0.00"})
