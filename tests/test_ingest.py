"""Ingest: the input contract, exact typing, and a clear rejection for each malformed workbook."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bottleneck_pipeline import pipeline
from bottleneck_pipeline.contracts import ERP, LIAISON, WEB
from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.stages.ingest import ingest_workbook
from bottleneck_pipeline.storage import connect
from conftest import write_workbook

ERP_COLUMNS = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]


def ingest_erp(tmp_path, rows, columns=ERP_COLUMNS):
    path = write_workbook(tmp_path / "erp.xlsx", columns, rows)
    return ingest_workbook(connect(), path, ERP)


def failed(results):
    return {r.id: r for r in results if not r.passed}


def test_values_are_typed_exactly(tmp_path):
    table, results = ingest_erp(tmp_path, [
        [3847, 1, 24.2, 0, "outofstock"],
        ["00123", 1, 19.99, 5, "instock"],  # a text id keeps its leading zeros
        [4039.0, 0, 46, 3, "instock"],  # a whole float id is the integer's text
    ])
    assert not failed(results)
    assert table.column("product_id").to_pylist() == ["3847", "00123", "4039"]
    assert table.column("price_eur").to_pylist() == [Decimal("24.20"), Decimal("19.99"), Decimal("46.00")]
    assert table.column("stock_quantity").to_pylist() == [0, 5, 3]
    assert table.column("source_row").to_pylist() == [2, 3, 4]  # Excel row numbers


def test_text_keys_and_empty_sku_are_kept_as_they_are(tmp_path):
    path = write_workbook(tmp_path / "liaison.xlsx", ["product_id", "id_web"],
                          [[4954, "bon-cadeau-25-euros"], [7247, "13127-1"], [4100, None], [4101, 15298]])
    table, results = ingest_workbook(connect(), path, LIAISON)
    assert not failed(results)
    assert table.column("sku").to_pylist() == ["bon-cadeau-25-euros", "13127-1", None, "15298"]


def test_blank_rows_are_read_not_rejected(tmp_path):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock"], [None] * 5, [2, 1, 12.5, 0, "outofstock"]])
    assert not failed(results)
    assert table.num_rows == 3
    assert table.column("product_id").to_pylist() == ["1", None, "2"]


def test_missing_column_names_the_column_and_suggests_the_rename(tmp_path):
    columns = ["product_id", "onsale_web", "prix", "stock_quantity", "stock_status"]
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock"]], columns)
    assert table is None
    finding = failed(results)["ingest.erp.required_columns"]
    assert finding.observed == ["price"]
    assert "'price'" in finding.message and "renommée en 'prix'" in finding.message
    # the unknown header is also reported as schema drift
    assert failed(results)["ingest.erp.unexpected_columns"].observed == ["prix"]


def test_text_in_a_numeric_column_lists_the_rows(tmp_path):
    table, results = ingest_erp(tmp_path, [
        [1, 1, 10.0, 1, "instock"], [2, 1, "douze", 1, "instock"], [3, 1, "24,5", 1, "instock"]])
    assert table is None
    finding = failed(results)["ingest.erp.price_eur.type"]
    assert finding.offending_count == 2
    assert [r["ligne"] for r in finding.rows] == [3, 4]
    assert "colonne 'price'" in finding.message and "lignes 3, 4" in finding.message


def test_price_with_more_than_two_decimals_is_not_rounded_silently(tmp_path):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.005, 1, "instock"]])
    assert table is None
    assert failed(results)["ingest.erp.price_eur.type"].rows == [{"ligne": 2, "valeur": "10.005"}]


def test_fractional_quantity_is_rejected(tmp_path):
    path = write_workbook(tmp_path / "web.xlsx", ["sku", "total_sales", "post_type", "post_title"],
                          [[1, 2.5, "product", "Vin"]])
    table, results = ingest_workbook(connect(), path, WEB)
    assert table is None
    assert failed(results)["ingest.web.quantity_sold.type"].offending_count == 1


def test_empty_key_on_a_filled_row_is_rejected(tmp_path):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock"], [None, 1, 12.0, 1, "instock"]])
    assert table is None
    finding = failed(results)["ingest.erp.product_id.not_null"]
    assert finding.rows == [{"ligne": 3}]


def test_unknown_category_values_are_a_warning(tmp_path):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "backorder"]])
    assert table is not None
    warning = failed(results)["ingest.erp.stock_status.allowed_values"]
    assert warning.severity == "warn" and warning.observed == ["backorder"]


def test_header_only_sheet_is_empty(tmp_path):
    table, results = ingest_erp(tmp_path, [])
    assert table is None
    assert "ne contient aucune ligne" in failed(results)["ingest.erp.sheet_not_empty"].message


def test_missing_and_unreadable_files(tmp_path):
    (tmp_path / "web.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    write_workbook(tmp_path / "liaison.xlsx", ["product_id", "id_web"], [[1, 2]])
    with pytest.raises(DataRejected) as caught:
        pipeline.ingest(tmp_path / "erp.xlsx", tmp_path / "web.xlsx", tmp_path / "liaison.xlsx",
                        tmp_path / "out")
    ids = {r.id for r in caught.value.results if not r.passed}
    assert {"ingest.erp.file_present", "ingest.web.file_readable"} <= ids
    assert "introuvable" in caught.value.message and "illisible" in caught.value.message
    assert not (tmp_path / "out").exists()  # nothing written for a rejected ingest
