"""The clean gates (checks/clean.py), each shown failing alone (tests/test_gates.py says how),
the lost-sales ceiling at exactly 1 % and just above, in units and in CA."""

from __future__ import annotations


from gate_month import (
    Case,
    DANGLING,
    UNLINKED,
    cell,
    clean_file,
    each,
    edit_json,
    fails_alone_test,
    on,
    set_where,
    tamper_rows,
)
import pyarrow as pa
from gate_runner import run_gate

LOST_OVER = "Ventes perdues au-delà du plafond de 1 %"
LOST_UNDER = "Ventes hors rapport, sous le plafond de 1 %"

CASES = [
    # the same ERP product twice, the second row differing ONLY in its stock (99 instead of 19)
    Case(
        "clean.erp.unique_product_id",
        on(lambda t: t["erp"][1].append([4010, 1, 103, 99, "instock"])),
        1,
        0,
        words="4010 (lignes 11, 25)",
    ),
    # the same web product twice with other sales: counted twice
    Case(
        "clean.web.unique_sku",
        on(lambda t: t["web"][1].append(["15012", 70, "product", "Cuvée 4012"])),
        1,
        0,
        words="15012 (lignes 13, 25)",
    ),
    # one ERP product linked to a second sku
    Case(
        "clean.liaison.unique_product_id",
        on(lambda t: t["liaison"][1].append([4011, "15999"])),
        1,
        0,
        words="4011 (lignes 12, 24)",
    ),
    # a product not sold online linked to the sku of another one
    Case(
        "clean.liaison.unique_sku",
        on(lambda t: t["liaison"][1].append([4021, "15013"])),
        1,
        0,
        words="15013 (lignes 14, 24)",
    ),
    # the cleaning kept rows without the value the analysis needs (a bug of its SQL)
    Case(
        "clean.erp.no_missing_values",
        tamper_rows(clean_file("erp"), set_where("product_id", "4005", "price_eur", None)),
        1,
        0,
        at="output:clean",
        words="lignes 6",
    ),
    Case(
        "clean.web.no_missing_values",
        tamper_rows(clean_file("web"), set_where("sku", "15005", "quantity_sold", None)),
        1,
        0,
        at="output:clean",
        words="lignes 6",
    ),
    Case(
        "clean.liaison.no_missing_values",
        tamper_rows(clean_file("liaison"), set_where("product_id", "4005", "sku", None)),
        1,
        0,
        at="output:clean",
        words="lignes 6",
    ),
    # the cleaning kept an image row
    Case(
        "clean.web.only_product_rows",
        tamper_rows(clean_file("web"), set_where("sku", "15005", "post_type", "attachment")),
        1,
        0,
        at="output:clean",
    ),
    # every product row of the web export typed as an image (nothing sold: no sale is lost)
    Case(
        "clean.web.has_products",
        each("web", "post_type", "attachment"),
        0,
        "> 0",
        base="unsold",
        words="Types trouvés : attachment : 23",
    ),
    # every ERP price emptied
    Case("clean.erp.has_rows", each("erp", "price", None), 0, "> 0", base="unsold"),
    # every web sku of the link table emptied
    Case("clean.liaison.has_rows", each("liaison", "id_web", None), 0, "> 0", base="unsold"),
    # the cleaning's count of removed rows does not add up: the ERP's one exact copy counted twice
    Case(
        "clean.rows_accounted_for",
        lambda w: edit_json(
            w.file("clean", "clean_manifest.json"), lambda m: m["removed"]["erp"].__setitem__("exact_duplicate", 2)
        ),
        [{"table": "erp", "lues": 23, "gardees": 22, "retirees": 2}],
        "lues = gardées + retirées",
        at="output:clean",
    ),
    # a product not sold online with a negative price (its stock says nothing else)
    Case("clean.erp.no_negative_price", on(lambda t: cell(t, "erp", 4021, "price", -30)), 1, 0),
    Case(
        "clean.erp.stock_status_consistent",  # 21 bottles in stock, said out of stock
        on(lambda t: cell(t, "erp", 4012, "stock_status", "outofstock")),
        1,
        0,
    ),
    Case("clean.web.product_name_present", on(lambda t: cell(t, "web", "15014", "post_title", None)), 1, 0),
    # lost sales, in units: the sku of the 11-unit product row emptied: 11 of 1,000 units (1.1 %)
    Case(
        "clean.web.lost_sales_within_ceiling",
        on(lambda t: cell(t, "web", "15001", "sku", None)),
        {
            "lignes": 1,
            "unites_perdues": 11,
            "part_unites": 0.011,
            "part_ca": 0.0,
            "lignes_sans_prix": 1,
            "unites_au_rapport": 989,
            "plafond": 0.01,
        },
        "<= 1 % des unités et du CA",
        name="units just above 1 %",
        words=f"{LOST_OVER} : 11 unité(s) vendue(s) sur 1 000 (1,10 %)",
    ),
    # ... the sku of the 10-unit product row emptied: exactly 1 % of the units, under the ceiling
    Case(
        "clean.web.lost_sales",
        on(lambda t: cell(t, "web", "15002", "sku", None)),
        {"lignes": 1, "unites_perdues": 10, "part_unites": 0.01, "unites_au_rapport": 990, "plafond": 0.01},
        0,
        name="units exactly 1 %",
        also=(DANGLING,),
        words=f"{LOST_UNDER} : 10 unité(s) vendue(s) sur 1 000 (1,00 %)",
    ),
    # lost sales, in CA: the 141 EUR wine's product row typed as an image: 987 of 98,000 EUR (1.0071 %)
    Case(
        "clean.web.lost_sales_within_ceiling",
        on(lambda t: cell(t, "web", "15020", "post_type", "attachment")),
        {
            "lignes": 1,
            "unites_perdues": 7,
            "part_unites": 0.007,
            "ca_perdu_eur": "987.00",
            "part_ca": round(987 / 98_000, 6),
            "ca_au_rapport_eur": "97013.00",
        },
        "<= 1 % des unités et du CA",
        name="CA just above 1 %",
        words="987,00 € de CA chiffrable sur 98 000,00 € (1,01 %)",
    ),
    # ... the 140 EUR wine's: 980 of 98,000 EUR, exactly 1 %, under the ceiling
    Case(
        "clean.web.lost_sales",
        on(lambda t: cell(t, "web", "15019", "post_type", "attachment")),
        {"lignes": 1, "unites_perdues": 7, "ca_perdu_eur": "980.00", "part_ca": 0.01, "ca_au_rapport_eur": "97020.00"},
        0,
        name="CA exactly 1 %",
        also=(DANGLING,),
        words="980,00 € de CA chiffrable sur 98 000,00 € (1,00 %)",
    ),
    # a product row whose sales are unknown: 1 unit would be under the ceiling, but it cannot be weighed
    Case(
        "clean.web.lost_sales_within_ceiling",
        on(lambda t: cell(t, "web", "15002", "total_sales", None)),
        {"lignes": 1, "lignes_sans_ventes": 1, "unites_perdues": 0},
        "<= 1 % des unités et du CA",
        name="unknown sales",
        words="1 ligne(s) produit sans ventes (total_sales vide)",
    ),
    # the link of a sold product (5 units) written with a leading zero: its sales are lost (under the
    # ceiling, hence also the warning that lists them)
    Case(
        "clean.keys.near_match_with_sales",
        on(lambda t: cell(t, "liaison", 4007, "id_web", "015007")),
        1,
        0,
        also=("clean.web.lost_sales",),
        words="sku '015007' (liaison.xlsx ligne 8, colonne id_web) ≈ '15007'",
    ),
    # ... the link of an unsold product: a warning; the merge then finds its link dangling and
    # the web product unlinked (1 of 20: 5 %, at the orphan ceiling)
    Case(
        "clean.keys.near_match",
        on(lambda t: cell(t, "liaison", 4005, "id_web", "015005")),
        1,
        0,
        also=(DANGLING, UNLINKED),
    ),
]


# Each case: the base month with its one defect; this gate and no other fails.
test_the_gate_fails_alone = fails_alone_test(CASES)


# The clean gates' exact findings on a few rows: what they name and in which order, at the edges
# the month-sized cases of test_gates.py do not reach.


WEB = pa.schema([("sku", pa.string()), ("quantity_sold", pa.int64()), ("post_type", pa.string())])


def web_rows(*rows: tuple) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(WEB.names, r)) for r in rows], schema=WEB)


def test_a_web_export_without_product_rows_lists_its_row_types_most_frequent_first():
    ingested = web_rows(("1", 0, "produit"), ("1", 0, "attachment"), ("2", 0, "attachment"), ("3", 0, None))
    result = run_gate("clean.web.has_products", {"ingest_web": ingested, "web": web_rows()})
    assert (result.passed, result.observed, result.expected) == (False, 0, "> 0")
    assert "Types trouvés : attachment : 2, " in result.message
    assert result.message.index("attachment : 2") < result.message.index("produit : 1")


def erp_rows(*rows: tuple) -> list[dict]:
    columns = ("source_row", "product_id", "price_eur", "stock_quantity", "stock_status")
    return [dict(zip(columns, r)) for r in rows]


def test_a_free_product_is_not_a_negative_price():
    erp = erp_rows((2, "10", 0.0, 1, "instock"), (3, "11", -0.01, 1, "instock"), (4, "12", 0.5, 1, "instock"))
    result = run_gate("clean.erp.no_negative_price", {"erp": erp})
    assert result.rows == [{"ligne": 3, "product_id": "11", "price_eur": -0.01}]


def test_stock_status_must_agree_with_the_quantity_from_one_unit():
    erp = erp_rows(
        (2, "10", 5.0, 0, "instock"),  # in stock with nothing: flagged
        (3, "11", 5.0, 1, "instock"),
        (4, "12", 5.0, 0, "outofstock"),
        (5, "13", 5.0, 1, "outofstock"),  # out of stock with one unit: flagged
        (6, "14", 5.0, 2, "onbackorder"),  # another status: not judged
    )
    result = run_gate("clean.erp.stock_status_consistent", {"erp": erp})
    rows = sorted(result.rows, key=lambda r: r["ligne"])
    assert [r["product_id"] for r in rows] == ["10", "13"]
    assert rows[1] == {"ligne": 5, "product_id": "13", "stock_quantity": 1, "stock_status": "outofstock"}


def month_tables(web: list[tuple], links: list[tuple], prices: list[tuple]) -> dict:
    """The clean gate's tables for a small month: web rows (row, sku, units, post_type, title),
    links (product_id, sku) and ERP prices (product_id, price), the cleaned tables keeping what the
    cleaning keeps (product rows with a sku and a sales figure; links and prices with both keys)."""
    web_columns = ("source_row", "sku", "quantity_sold", "post_type", "product_name")
    ingest_web = [dict(zip(web_columns, r)) for r in web]
    kept_web = [r for r in ingest_web if r["post_type"] == "product" and r["sku"] and r["quantity_sold"] is not None]
    liaison = [{"product_id": p, "sku": s} for p, s in links]
    erp = [{"product_id": p, "price_eur": price} for p, price in prices]
    return {
        "ingest_web": pa.Table.from_pylist(ingest_web),
        "web": pa.Table.from_pylist(kept_web),
        "ingest_liaison": pa.Table.from_pylist(liaison),
        "liaison": pa.Table.from_pylist([r for r in liaison if r["product_id"] and r["sku"]]),
        "ingest_erp": pa.Table.from_pylist(erp),
        "erp": pa.Table.from_pylist([r for r in erp if r["price_eur"] is not None]),
    }


def test_an_unlinked_product_counts_its_sales_once_not_again_on_its_image():
    tables = month_tables(
        web=[
            (2, "1", 90, "product", "Cuvée 10"),
            (3, "2", 5, "product", "Cuvée 20"),  # not in liaison.xlsx: lost
            (4, "2", 5, "attachment", "Cuvée 20"),  # its image: the same sales, not counted twice
            (5, "1", 90, "attachment", "Cuvée 10"),
        ],
        links=[("10", "1")],
        prices=[("10", 10.0), ("20", 4.0)],
    )
    result = run_gate("clean.web.lost_sales_within_ceiling", tables)
    assert result.passed is False  # 5 units of 95: 5.26 % > 1 %
    observed = result.observed
    assert (observed["lignes"], observed["unites_perdues"], observed["unites_au_rapport"]) == (1, 5, 90)
    assert observed["part_unites"] == round(5 / 95, 6)
    assert [(r["ligne"], r["sku"], r["unites"], r["colonne"]) for r in result.rows] == [(3, "2", 5, "id_web")]


def test_an_image_counts_only_for_a_sku_without_product_row_and_without_a_namesake_row_lacking_its_sku():
    tables = month_tables(
        web=[
            (2, "1", 90, "product", "Cuvée 10"),
            (3, None, 6, "product", "Cuvée 40"),  # its sku left empty: lost, column sku
            (4, "40", 6, "attachment", "Cuvée 40"),  # its image: the same sale, already counted
            (5, "3", 4, "attachment", "Cuvée 10"),  # a sku seen only on an image: its product row is missing
        ],
        links=[("10", "1")],
        prices=[("10", 10.0)],
    )
    result = run_gate("clean.web.lost_sales_within_ceiling", tables)
    assert [(r["ligne"], r["sku"], r["unites"], r["colonne"]) for r in result.rows] == [
        (3, None, 6, "sku"),
        (5, "3", 4, "post_type"),
    ]
    assert (result.observed["unites_perdues"], result.observed["lignes_sans_prix"]) == (10, 2)


def test_a_single_unit_sold_is_a_lost_sale_and_an_unsold_product_is_not():
    tables = month_tables(
        web=[
            (2, "1", 99, "product", "Cuvée 10"),
            (3, "5", 1, "product", "Cuvée 50"),
            (4, "6", 0, "product", "Cuvée 60"),
        ],
        links=[("10", "1")],
        prices=[("10", 10.0)],
    )
    result = run_gate("clean.web.lost_sales", tables)  # 1 unit of 100: exactly 1 %, a warning
    assert (result.passed, result.severity, result.observed["part_unites"]) == (False, "warn", 0.01)
    assert (result.observed["part_ca"], result.observed["lignes_sans_prix"]) == (0.0, 1)  # no price: no CA weighed
    assert [(r["ligne"], r["unites"]) for r in result.rows] == [(3, 1)]


def test_each_lost_sale_names_the_column_to_fix_biggest_loss_first():
    tables = month_tables(
        web=[
            (2, "1", 50, "product", "Cuvée 10"),
            (3, "2", 3, "product", "Cuvée 20"),  # linked as '02': sku written otherwise in liaison.xlsx
            (4, "3", 2, "product", "Cuvée 30"),  # linked to '030', which erp.xlsx writes '30'
            (5, "4", 1, "product", "Cuvée 40"),  # linked, but erp.xlsx has no price for it
            (6, "5", None, "product", "Cuvée 50"),  # sales unknown: the loss cannot be weighed
        ],
        links=[("10", "1"), ("20", "02"), ("030", "3"), ("40", "4")],
        prices=[("10", 10.0), ("20", 2.0), ("30", 4.0), ("40", None)],
    )
    result = run_gate("clean.web.lost_sales_within_ceiling", tables, max_lost_share=0.5)
    assert result.passed is False  # unknown sales stop the run whatever the ceiling
    assert [(r["ligne"], r["unites"], r["ca"], r["colonne"]) for r in result.rows] == [
        (6, None, None, "total_sales"),
        (4, 2, 8.0, "near_product_id"),
        (3, 3, 6.0, "near_sku"),
        (5, 1, None, "price"),
    ]
    observed = result.observed
    assert (observed["lignes_sans_ventes"], observed["lignes_sans_prix"], observed["unites_perdues"]) == (1, 2, 6)
    assert (observed["unites_au_rapport"], float(observed["ca_au_rapport_eur"])) == (50, 500.0)
    assert (float(observed["ca_perdu_eur"]), observed["part_ca"]) == (14.0, round(14 / 514, 6))
    assert "aucune vente ne relie" not in result.message and "autre(s) ligne(s)" not in result.message  # all 4 listed


def test_a_month_where_no_sale_reaches_the_report_reports_zero_kept():
    tables = month_tables(web=[(2, "1", 5, "product", "Cuvée 10")], links=[("10", "9")], prices=[("10", 10.0)])
    observed = run_gate("clean.web.lost_sales_within_ceiling", tables).observed
    assert (observed["unites_au_rapport"], float(observed["ca_au_rapport_eur"])) == (0, 0.0)
    assert (observed["unites_perdues"], observed["part_unites"]) == (5, 1.0)
    result = run_gate("clean.web.lost_sales_within_ceiling", tables)
    assert "(aucune vente ne relie l'ERP et le site web : vérifiez que les trois fichiers" in result.message


def test_keys_equal_but_for_case_or_leading_zeros_are_paired_sold_ones_first():
    liaison = [("10", "0001"), ("020", "2"), ("030", "3"), ("40", "4"), ("070", "7"), ("60", None), (None, "8")]
    web = [("1", 5), ("2", 3), ("3", 0), ("4", 8), ("04", 0), (None, 1)]  # '4' links exactly: '04' is no pair
    tables = {
        "liaison": [{"source_row": n, "product_id": p, "sku": s} for n, (p, s) in enumerate(liaison, 2)],
        "web": [{"source_row": n, "sku": s, "quantity_sold": q} for n, (s, q) in enumerate(web, 2)],
        # '040' is no pair either: '40' links exactly; an empty product_id is the no_missing gate's business
        "erp": [
            {"source_row": n, "product_id": p}
            for n, p in enumerate(["10", "20", "30", "40", "70", "60", "040", None], 2)
        ],
    }
    sold = run_gate("clean.keys.near_match_with_sales", tables)
    assert [
        (r["cle"], r["valeur_liaison"], r["ligne_liaison"], r["valeur"], r["ligne"], r["unites"]) for r in sold.rows
    ] == [
        ("sku", "0001", 2, "1", 2, 5),
        ("product_id", "020", 3, "20", 3, 3),
    ]
    unsold = run_gate("clean.keys.near_match", tables)  # '070': its sku is not on the web at all
    assert [(r["cle"], r["valeur_liaison"], r["valeur"], r["unites"]) for r in unsold.rows] == [
        ("product_id", "030", "30", 0),
        ("product_id", "070", "70", None),
    ]


def test_a_month_that_loses_nothing_reports_zero_shares():
    tables = month_tables(web=[(2, "1", 5, "product", "Cuvée 10")], links=[("10", "1")], prices=[("10", 10.0)])
    for gate_id in ("clean.web.lost_sales_within_ceiling", "clean.web.lost_sales"):
        result = run_gate(gate_id, tables)
        assert result.passed and result.rows == []
        assert {k: result.observed[k] for k in ("lignes", "unites_perdues", "part_unites", "part_ca")} == {
            "lignes": 0,
            "unites_perdues": 0,
            "part_unites": 0.0,
            "part_ca": 0.0,
        }
