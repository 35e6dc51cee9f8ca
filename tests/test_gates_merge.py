"""The merge gates (checks/merge.py), each shown failing alone (tests/test_gates.py says how), the
orphan ceiling at exactly 5 % and at the next possible share above it."""

from __future__ import annotations

from typing import Callable


from gate_month import (
    Case,
    DANGLING,
    Tables,
    UNLINKED,
    Where,
    cell,
    clean_file,
    each,
    fails_alone_test,
    on,
    products_file,
    set_where,
    tamper_rows,
)
from gate_runner import run_gate


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


# Each case: the base month with its one defect; this gate and no other fails.
test_the_gate_fails_alone = fails_alone_test(CASES)


# The merge gates' exact findings on a few keys built in the test.


def test_the_predicted_volume_counts_each_link_once_even_written_twice():
    tables = {
        "clean_erp": [{"product_id": "1", "price_eur": 5.0}, {"product_id": "2", "price_eur": 6.0}],
        "clean_liaison": [
            {"product_id": "1", "sku": "a"},
            {"product_id": "1", "sku": "a"},
            {"product_id": "2", "sku": "z"},
        ],
        "clean_web": [{"sku": "a", "quantity_sold": 3}],
        "products": [{"product_id": "1", "sku": "a", "price_eur": 5.0, "quantity_sold": 3}],
    }
    result = run_gate("merge.products.rows_as_predicted", tables)
    assert (result.passed, result.observed, result.expected) == (True, 1, 1)
    tables["products"] = tables["products"] * 2  # the join fanned out on the duplicated link
    result = run_gate("merge.products.rows_as_predicted", tables)
    assert (result.passed, result.observed, result.expected) == (False, 2, 1)


def test_a_product_linked_to_several_skus_counts_each_sku_once():
    products = [{"product_id": "1", "sku": s, "price_eur": 5.0, "quantity_sold": 1} for s in ("a", "b", "a")]
    result = run_gate("merge.products.unique_product_id", {"products": products})
    assert [(r["product_id"], r["nombre"], sorted(r["valeurs"])) for r in result.rows] == [("1", 2, ["a", "b"])]


def test_web_orphans_are_listed_best_sellers_first():
    tables = {
        "clean_web": [
            {"sku": s, "product_name": f"Cuvée {s}", "quantity_sold": q} for s, q in (("a", 3), ("b", 7), ("c", 1))
        ],
        "products": [{"product_id": "1", "sku": "c"}],
    }
    result = run_gate("merge.orphans.web_products_without_price", tables, max_orphan_share=0.5)
    assert [r["sku"] for r in result.rows] == ["b", "a"]
    assert (result.passed, result.offending_count, result.observed) == (False, 2, "2 (66.7%)")


def test_an_empty_web_export_has_no_orphan_share():
    tables = {
        "clean_web": "select 'a' as sku, 'x' as product_name, 1 as quantity_sold where false",
        "products": "select 'a' as sku where false",
    }
    result = run_gate("merge.orphans.web_products_without_price", tables)
    assert (result.passed, result.observed) == (True, "0 (0.0%)")


def test_a_free_product_is_not_a_negative_price_and_every_missing_value_counts():
    products = [
        {"product_id": "1", "sku": "a", "price_eur": 0.0, "quantity_sold": 1},
        {"product_id": "2", "sku": "b", "price_eur": -0.01, "quantity_sold": 1},
    ]
    assert [r["product_id"] for r in run_gate("merge.products.no_negative_price", {"products": products}).rows] == ["2"]
    incomplete = [
        {"product_id": None, "sku": "a", "price_eur": 1.0, "quantity_sold": 1},
        {"product_id": "2", "sku": None, "price_eur": 1.0, "quantity_sold": 1},
        {"product_id": "3", "sku": "c", "price_eur": None, "quantity_sold": 1},
        {"product_id": "4", "sku": "d", "price_eur": 1.0, "quantity_sold": None},
        {"product_id": "5", "sku": "e", "price_eur": 1.0, "quantity_sold": 1},
    ]
    result = run_gate("merge.products.no_missing_values", {"products": incomplete})
    assert (result.passed, result.offending_count) == (False, 4)
