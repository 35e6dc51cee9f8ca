"""Clean, merge, report and classify on small hand-built tables, with exact expected values."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from bottleneck_pipeline.stages import classify, clean, merge, report
from bottleneck_pipeline.storage import connect

D = Decimal
ERP_SCHEMA = pa.schema(
    [
        ("product_id", pa.string()),
        ("onsale_web", pa.int64()),
        ("price_eur", pa.decimal128(18, 2)),
        ("stock_quantity", pa.int64()),
        ("stock_status", pa.string()),
        ("source_row", pa.int64()),
    ]
)
WEB_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("quantity_sold", pa.int64()),
        ("post_type", pa.string()),
        ("product_name", pa.string()),
        ("source_row", pa.int64()),
    ]
)
LINK_SCHEMA = pa.schema([("product_id", pa.string()), ("sku", pa.string()), ("source_row", pa.int64())])


def table(schema: pa.Schema, rows: list[tuple]) -> pa.Table:
    rows = [row + (i + 2,) for i, row in enumerate(rows)]  # source_row = Excel row
    return pa.Table.from_pylist([dict(zip(schema.names, row)) for row in rows], schema=schema)


def erp(*rows):
    return table(ERP_SCHEMA, list(rows))


def web(*rows):
    return table(WEB_SCHEMA, list(rows))


def links(*rows):
    return table(LINK_SCHEMA, list(rows))


# --- clean ----------------------------------------------------------------------------------------


def test_clean_erp_removes_exact_duplicates_and_missing_prices():
    kept, removed = clean.clean_table(
        connect(),
        "erp",
        erp(
            ("1", 1, D("10.00"), 3, "instock"),
            ("1", 1, D("10.00"), 3, "instock"),  # exact copy
            ("2", 1, None, 0, "outofstock"),  # no price
            (None, None, None, None, None),  # empty row
            ("3", 0, D("-8.00"), 0, "outofstock"),  # kept: a warning, not a removal
        ),
    )
    assert kept.column("product_id").to_pylist() == ["1", "3"]
    assert kept.column("source_row").to_pylist() == [2, 6]  # the first copy survives
    assert removed == {"exact_duplicate": 1, "missing_price": 1, "empty_row": 1}


def test_clean_erp_keeps_conflicting_prices_for_the_gate_to_reject():
    kept, removed = clean.clean_table(
        connect(), "erp", erp(("1", 1, D("10.00"), 3, "instock"), ("1", 1, D("12.00"), 3, "instock"))
    )
    assert kept.num_rows == 2 and removed == {}


def test_clean_web_keeps_the_product_row_whatever_the_file_order():
    product = ("15075", 3, "product", "Parés Baltà 2017")
    attachment = ("15075", 30, "attachment", "Parés Baltà 2017")  # the image row, other sales
    for rows in ((product, attachment), (attachment, product)):
        kept, removed = clean.clean_table(connect(), "web", web(*rows))
        assert kept.column("quantity_sold").to_pylist() == [3]
        assert removed == {"not_a_product": 1}


def test_clean_web_reasons():
    kept, removed = clean.clean_table(
        connect(),
        "web",
        web(
            ("1", 5, "product", "A"),
            ("1", 5, "product", "A"),  # exact copy
            (None, 2, "product", "B"),  # no sku
            ("3", None, "product", "C"),  # no sales figure
            (None, None, None, None),  # empty row
            ("4", 1, None, "D"),  # no type: not a product row
        ),
    )
    assert kept.column("sku").to_pylist() == ["1"]
    assert removed == {
        "exact_duplicate": 1,
        "missing_sku": 1,
        "missing_quantity": 1,
        "empty_row": 1,
        "not_a_product": 1,
    }


def test_clean_liaison_drops_products_not_on_the_web():
    kept, removed = clean.clean_table(connect(), "liaison", links(("1", "a"), ("2", None), ("1", "a")))
    assert kept.column("sku").to_pylist() == ["a"]
    assert removed == {"not_on_web": 1, "exact_duplicate": 1}


def test_clean_decodes_the_html_entities_of_web_titles():
    cleaned, _ = clean.clean(
        connect(),
        {
            "erp": erp(("1", 1, D("10.00"), 3, "instock")),
            "web": web(
                ("1", 5, "product", "Champagne Petit Lebrun &amp; Fils"),
                ("2", 1, "product", "L&#039;Avizoise"),
                ("3", 1, "product", "Roc & Roll"),
                ("4", 1, "product", None),
            ),
            "liaison": links(("1", "1")),
        },
    )
    assert cleaned["web"].column("product_name").to_pylist() == [
        "Champagne Petit Lebrun & Fils",
        "L'Avizoise",
        "Roc & Roll",
        None,
    ]


# --- merge ----------------------------------------------------------------------------------------


def test_merge_joins_through_the_link_table_with_text_keys():
    products = merge.merge(
        connect(),
        {
            "erp": erp(
                ("4954", 1, D("25.00"), 1, "instock"),
                ("7247", 1, D("44.00"), 2, "instock"),
                ("9999", 1, D("5.00"), 1, "instock"),
            ),
            "liaison": links(("4954", "bon-cadeau-25-euros"), ("7247", "13127-1"), ("8888", "12")),
            "web": web(
                ("bon-cadeau-25-euros", 4, "product", "Bon cadeau"),
                ("13127-1", 2, "product", "Clos"),
                ("12", 9, "product", "Orphelin"),
            ),
        },
    )
    rows = products.select(["product_id", "sku", "product_name", "price_eur", "quantity_sold"]).to_pylist()
    assert rows == [
        {
            "product_id": "4954",
            "sku": "bon-cadeau-25-euros",
            "product_name": "Bon cadeau",
            "price_eur": D("25.00"),
            "quantity_sold": 4,
        },
        {"product_id": "7247", "sku": "13127-1", "product_name": "Clos", "price_eur": D("44.00"), "quantity_sold": 2},
    ]


def test_merge_does_not_match_an_integer_key_with_a_suffixed_text_key():
    products = merge.merge(
        connect(),
        {
            "erp": erp(("7247", 1, D("44.00"), 2, "instock")),
            "liaison": links(("7247", "13127")),
            "web": web(("13127-1", 2, "product", "Clos")),
        },
    )
    assert products.num_rows == 0


# --- report ---------------------------------------------------------------------------------------


def products_table(rows):
    return pa.Table.from_pylist(
        [
            {"product_id": p, "sku": s, "product_name": n, "price_eur": price, "quantity_sold": q}
            for p, s, n, price, q in rows
        ],
        schema=pa.schema(
            [
                ("product_id", pa.string()),
                ("sku", pa.string()),
                ("product_name", pa.string()),
                ("price_eur", pa.decimal128(18, 2)),
                ("quantity_sold", pa.int64()),
            ]
        ),
    )


def test_revenue_is_exact_and_sorted_by_revenue_then_id():
    revenue = report.revenue_per_product(
        connect(),
        products_table(
            [
                ("2", "b", "B", D("24.20"), 3),
                ("1", "a", "A", D("0.10"), 3),
                ("3", "c", "C", D("36.30"), 2),
                ("0", "z", "Z", D("19.99"), 0),
            ]
        ),
    )
    assert revenue.column("product_id").to_pylist() == ["2", "3", "1", "0"]  # 72.60 twice: by id
    assert revenue.column("revenue_eur").to_pylist() == [D("72.60"), D("72.60"), D("0.30"), D("0.00")]
    assert report.total_revenue(revenue) == D("145.50")  # exact: 0.1 x 3 is 0.30, not 0.30000000000000004


def test_total_of_nothing_is_zero():
    assert report.total_revenue(report.revenue_per_product(connect(), products_table([]))) == D("0.00")


# --- classify -------------------------------------------------------------------------------------


def revenue_table(prices):
    return products_table([(str(i), f"s{i}", f"W{i}", D(p), 1) for i, p in enumerate(prices)]).append_column(
        "revenue_eur", pa.array([D(p) for p in prices], pa.decimal128(18, 2))
    )


def test_zscore_steps():
    prices = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    stats = classify.price_stats(prices)
    assert stats.mean == 30.0
    assert stats.std == pytest.approx(np.sqrt(200.0))  # population std: sqrt(mean of squared gaps)
    z = classify.z_scores(prices, stats)
    assert z.tolist() == pytest.approx(
        [-1.4142135623730951, -0.7071067811865476, 0.0, 0.7071067811865476, 1.4142135623730951]
    )
    assert classify.premium_flags(z, 0.7).tolist() == [False, False, False, True, True]
    assert classify.premium_cutoff_price(stats, 2.0) == pytest.approx(30 + 2 * np.sqrt(200.0))


def test_premium_is_strictly_above_the_threshold():
    # nine wines at 10 EUR and one at 100: its z is exactly 3, so a threshold of 3 keeps it ordinary
    classified, stats = classify.classify(revenue_table(["10"] * 9 + ["100"]), 3.0)
    assert classified.column("z_score").to_pylist()[-1] == pytest.approx(3.0)
    assert classified.column("is_premium").to_pylist().count(True) == 0
    classified, _ = classify.classify(revenue_table(["10"] * 9 + ["100"]), 2.0)
    assert classified.column("is_premium").to_pylist() == [False] * 9 + [True]


def test_identical_prices_give_no_premium_and_no_division_by_zero():
    classified, stats = classify.classify(revenue_table(["12.50"] * 4), 2.0)
    assert stats.std == 0.0
    assert classified.column("z_score").to_pylist() == [0.0] * 4
    assert classified.column("is_premium").to_pylist() == [False] * 4


def test_extracts_read_back_exactly_with_quotes_far_down_the_file(tmp_path):
    """DuckDB sniffs CSV quoting from the first rows: a name with quotes after them must still
    read back as written (a real title holds '""D""')."""
    from bottleneck_pipeline.extracts import extract_table, register_extract, write_extract

    n = 30_000
    names = [f"Vin {i}" for i in range(n)]
    names[25_000] = 'Domaine "D" ; cuvée "Les ""Hauts"""'
    classified = revenue_table(["10.00"] * n).set_column(2, "product_name", pa.array(names))
    classified = classified.append_column("z_score", pa.array([0.0] * n)).append_column(
        "is_premium", pa.array([False] * n)
    )
    path = tmp_path / "vins_ordinaires.csv"
    write_extract(path, extract_table(classified, False))
    con = connect()
    register_extract(con, "ordinary", path)
    assert con.execute("select count(*) from ordinary").fetchone()[0] == n
    assert con.execute("select product_name from ordinary where product_id = '25000'").fetchone()[0] == names[25_000]


# The classify and report stage functions at their edges: the default threshold, a month of one
# wine or of none, and the CA's exact decimal type.


def test_the_default_threshold_is_two():
    # nine wines at 10 EUR and one at 100: its z is exactly 3, premium at the default z > 2
    classified, _ = classify.classify(revenue_table(["10"] * 9 + ["100"]))
    assert classified.column("is_premium").to_pylist() == [False] * 9 + [True]
    assert classify.DEFAULT_Z_THRESHOLD == 2.0


def test_price_statistics_of_no_wine_and_of_one_wine():
    assert classify.price_stats(np.array([])) == classify.PriceStats(mean=0.0, std=0.0, count=0)
    assert classify.price_stats(np.array([40.0])) == classify.PriceStats(mean=40.0, std=0.0, count=1)
    assert classify.price_stats(np.array([10.0, 30.0])) == classify.PriceStats(mean=20.0, std=10.0, count=2)


def test_the_ca_is_an_exact_decimal_with_two_decimals():
    revenue = report.revenue_per_product(connect(), products_table([("1", "a", "A", Decimal("0.10"), 3)]))
    assert revenue.schema.field("revenue_eur").type == pa.decimal128(18, 2)
    assert revenue.column("revenue_eur").to_pylist() == [Decimal("0.30")]


# The cleaning's removal reasons at their edges: a row is "empty" only when every column is, so a
# row that lacks only some values is kept for the gates to name, or removed for its own reason.


def test_an_erp_row_is_empty_only_when_every_column_is():
    kept, removed = clean.clean_table(
        connect(),
        "erp",
        erp(
            (None, None, None, None, None),  # row 2: empty
            ("5", None, Decimal("10.00"), None, None),  # row 3: a price and nothing else: kept
            (None, 1, Decimal("12.00"), 3, "instock"),  # row 4: no product_id: kept, the gate names it
            ("6", 1, None, 3, "instock"),  # row 5: no price
        ),
    )
    assert kept.column("source_row").to_pylist() == [3, 4]
    assert removed == {"empty_row": 1, "missing_price": 1}


def test_a_web_row_with_a_sku_and_sales_but_no_type_is_not_a_product_row_rather_than_empty():
    kept, removed = clean.clean_table(
        connect(), "web", web(("4", 1, None, None), (None, None, None, None), ("5", 2, "product", "E"))
    )
    assert kept.column("sku").to_pylist() == ["5"]
    assert removed == {"not_a_product": 1, "empty_row": 1}


def test_a_link_without_product_id_is_kept_for_the_gate_to_name():
    kept, removed = clean.clean_table(connect(), "liaison", links((None, "a"), (None, None), ("2", "b")))
    assert kept.column("sku").to_pylist() == ["a", "b"]
    assert removed == {"empty_row": 1}
