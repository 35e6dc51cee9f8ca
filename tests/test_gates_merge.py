"""The merge gates (checks/merge.py), each shown failing alone (tests/test_gates.py says how), the
orphan ceiling at exactly 5 % and at the next possible share above it."""

from __future__ import annotations

from typing import Callable

import pytest

from gate_month import (
    DANGLING,
    UNLINKED,
    Case,
    Tables,
    Where,
    assert_fails_alone,
    base_months,
    cell,
    clean_file,
    each,
    on,
    products_file,
    run_case,
    set_where,
    tamper_rows,
)


def delete_link(*product_ids: int) -> Callable[[Where], None]:
    def edit(t: Tables) -> None:
        t["liaison"][1][:] = [r for r in t["liaison"][1] if r[0] not in product_ids]

    return on(edit)


CASES = [
    # a product row carrying another product's id (a join bug)
    Case(
        "merge.products.unique_product_id",
        tamper_rows(products_file, set_where("sku", "15009", "product_id", "4008")),
        1,
        0,
        at="output:merge",
    ),
    # the merge given a link table where a product not sold online shares a sku (the clean gate,
    # which refuses it, did not run)
    Case(
        "merge.products.unique_sku",
        tamper_rows(clean_file("liaison"), lambda rows: rows + [dict(rows[0], product_id="4021", sku="15013")]),
        1,
        0,
        at="input:merge",
    ),
    # join rows lost: one merged product dropped (its web product then has no match: 1 of 20)
    Case(
        "merge.products.rows_as_predicted",
        tamper_rows(products_file, lambda rows: [r for r in rows if r["product_id"] != "4012"]),
        19,
        20,
        at="output:merge",
        also=(UNLINKED,),
    ),
    # links from another file: no product matches, and both ceilings relaxed to 100 % (so neither
    # the lost sales nor the orphans stop it); the month's sales, products and links are listed
    Case(
        "merge.products.not_empty",
        each("liaison", "id_web", lambda sku: f"x{sku}"),
        0,
        "> 0",
        params={"max_lost_share": 1.0, "max_orphan_share": 1.0},
        also=("clean.web.lost_sales", UNLINKED, DANGLING),
    ),
    # the orphan ceiling: the links of the two unsold wines deleted: 2 of 20 web products (10 %: the
    # next share above 5 % with 20 products)
    Case(
        "merge.orphans.web_products_without_price",
        delete_link(4005, 4006),
        "2 (10.0%)",
        "<= 5%",
        name="just above 5 %",
        words="sku 15005, 15006",
    ),
    # ... one of them: 1 of 20, exactly 5 %: a warning
    Case(UNLINKED, delete_link(4005), 1, 0, name="exactly 5 %", words="sku 15005"),
    # a product not sold online linked to a sku the web export does not have
    Case(DANGLING, on(lambda t: cell(t, "liaison", 4021, "id_web", "15999")), 1, 0),
    # the link of an unsold wine names a product the ERP does not have (its web product is then unlinked)
    Case(
        "merge.orphans.links_to_missing_erp_product",
        on(lambda t: cell(t, "liaison", 4006, "product_id", 9006)),
        1,
        0,
        also=(UNLINKED,),
    ),
    # a sold product (1 unit) priced negative in the ERP: the clean gate warns, the merge stops it
    Case(
        "merge.products.no_negative_price",
        on(lambda t: cell(t, "erp", 4002, "price", -60)),
        1,
        0,
        also=("clean.erp.no_negative_price",),
    ),
    Case("merge.products.no_negative_quantity", on(lambda t: cell(t, "web", "15002", "total_sales", -1)), 1, 0),
    # the merge given an ERP table with a product without price (the clean gate did not run)
    Case(
        "merge.products.no_missing_values",
        tamper_rows(clean_file("erp"), set_where("product_id", "4005", "price_eur", None)),
        1,
        0,
        at="input:merge",
    ),
]


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory):
    return base_months(tmp_path_factory)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_gate_fails_alone(case: Case, base_runs, tmp_path):
    assert_fails_alone(case, *run_case(case, base_runs, tmp_path))
