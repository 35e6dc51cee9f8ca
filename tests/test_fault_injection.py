"""Fault injection: each defect is planted by the test in a copy of the sample workbooks, and the
run must stop at the right gate, with exit status 3 and a message a business user can act on,
publish nothing and leave the earlier run of the same period byte-for-byte intact."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Callable

import pytest

from bottleneck_pipeline.cli import main
from conftest import REAL_FIGURES, SAMPLE, read_workbook, write_workbook

PERIOD = "2026-10"
Tables = dict[str, tuple[list[str], list[list]]]


def load_sample() -> Tables:
    return {name: read_workbook(SAMPLE / f"{name}.xlsx") for name in ("erp", "web", "liaison")}


def col(tables: Tables, table: str, name: str) -> int:
    return tables[table][0].index(name)


def linked_product(tables: Tables, offset: int = 0) -> tuple[list, list, list]:
    """An ERP row, its link row and its web product row (a product that is sold)."""
    web_rows = {r[col(tables, "web", "sku")]: r for r in tables["web"][1]
                if r[col(tables, "web", "post_type")] == "product"}
    erp_rows = {r[0]: r for r in tables["erp"][1]}
    found = [(erp_rows[link[0]], link, web_rows[link[1]]) for link in tables["liaison"][1]
             if link[1] in web_rows and link[0] in erp_rows]
    return found[offset]


# --- the defects: each edits the tables (or the files) and names the gate that must fire ------

def missing_column(t: Tables, d: Path):
    columns, rows = t["erp"]
    i = columns.index("price")
    t["erp"] = (columns[:i] + columns[i + 1:], [r[:i] + r[i + 1:] for r in rows])


def renamed_column(t: Tables, d: Path):
    t["web"][0][col(t, "web", "total_sales")] = "ventes_totales"


def text_in_numeric_column(t: Tables, d: Path):
    t["erp"][1][5][col(t, "erp", "price")] = "N/A"


def price_with_three_decimals(t: Tables, d: Path):
    t["erp"][1][8][col(t, "erp", "price")] = 12.345


def fractional_sales(t: Tables, d: Path):
    erp, link, product = linked_product(t)
    product[col(t, "web", "total_sales")] = 2.5


def empty_sheet(t: Tables, d: Path):
    t["liaison"] = (t["liaison"][0], [])


def corrupt_file(t: Tables, d: Path):
    (d / "web.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)


def csv_renamed_to_xlsx(t: Tables, d: Path):
    (d / "liaison.xlsx").write_text("product_id,id_web\n1,2\n")


def missing_file(t: Tables, d: Path):
    (d / "erp.xlsx").unlink()


def null_key(t: Tables, d: Path):
    t["erp"][1][3][0] = None


def conflicting_duplicate_prices(t: Tables, d: Path):
    erp, link, product = linked_product(t)
    twin = list(erp)
    twin[col(t, "erp", "price")] = float(erp[col(t, "erp", "price")]) + 5
    t["erp"][1].append(twin)


def conflicting_duplicate_sales(t: Tables, d: Path):
    erp, link, product = linked_product(t)
    twin = list(product)
    twin[col(t, "web", "total_sales")] = product[col(t, "web", "total_sales")] + 7
    t["web"][1].append(twin)


def link_fan_out(t: Tables, d: Path):
    (_, link_a, _), (erp_b, _, _) = linked_product(t, 0), linked_product(t, 1)
    t["liaison"][1].append([erp_b[0], link_a[1]])  # one web sku now linked to two ERP products


def product_linked_to_two_skus(t: Tables, d: Path):
    (erp_a, _, _), (_, link_b, _) = linked_product(t, 0), linked_product(t, 1)
    t["liaison"][1].append([erp_a[0], link_b[1]])


def web_without_product_rows(t: Tables, d: Path):
    for row in t["web"][1]:
        if row[col(t, "web", "post_type")] == "product":
            row[col(t, "web", "post_type")] = "attachment"


def negative_price_on_sold_product(t: Tables, d: Path):
    erp, link, product = linked_product(t, 2)
    erp[col(t, "erp", "price")] = -12.0


def negative_sales(t: Tables, d: Path):
    erp, link, product = linked_product(t, 3)
    product[col(t, "web", "total_sales")] = -4


def every_row_orphaned(t: Tables, d: Path):
    for row in t["liaison"][1]:
        if row[1] is not None:
            row[1] = f"x-{row[1]}"


def too_many_unlinked_web_products(t: Tables, d: Path):
    rows = t["liaison"][1]
    linked = [r for r in rows if r[1] is not None]
    for row in linked[: len(linked) // 5]:  # a fifth of the sold products lose their link
        row[1] = None


DEFECTS: list[tuple[Callable, str, str]] = [
    # (defect, check that must fire, words the message must contain)
    (missing_column, "ingest.erp.required_columns", "colonne(s) obligatoire(s) absente(s) : 'price'"),
    (renamed_column, "ingest.web.required_columns", "renommée en 'ventes_totales'"),
    (text_in_numeric_column, "ingest.erp.price_eur.type", "'N/A'"),
    (price_with_three_decimals, "ingest.erp.price_eur.type", "au plus 2 décimales"),
    (fractional_sales, "ingest.web.quantity_sold.type", "nombre entier"),
    (empty_sheet, "ingest.liaison.sheet_not_empty", "ne contient aucune ligne"),
    (corrupt_file, "ingest.web.file_readable", "illisible"),
    (csv_renamed_to_xlsx, "ingest.liaison.file_readable", "illisible"),
    (missing_file, "ingest.erp.file_present", "introuvable"),
    (null_key, "ingest.erp.product_id.not_null", "colonne 'product_id' vide"),
    (conflicting_duplicate_prices, "clean.erp.unique_product_id", "valeurs différentes"),
    (conflicting_duplicate_sales, "clean.web.unique_sku", "valeurs différentes"),
    (link_fan_out, "clean.liaison.unique_sku", "plusieurs produits pour un sku"),
    (product_linked_to_two_skus, "clean.liaison.unique_product_id", "plusieurs sku pour un produit"),
    (web_without_product_rows, "clean.web.has_products", "aucune ligne produit"),
    (negative_price_on_sold_product, "merge.products.no_negative_price", "prix négatif"),
    (negative_sales, "merge.products.no_negative_quantity", "ventes négatives"),
    (every_row_orphaned, "merge.products.not_empty", "Aucun produit ne relie"),
    (too_many_unlinked_web_products, "merge.orphans.web_products_without_price", "plafond"),
]


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_defect_stops_the_run(defect: Callable, check_id: str, words: str, published: Path,
                                tmp_path: Path, capsys, rewrite: bool = True) -> str:
    """Plant ``defect`` in a copy of the sample, run, and check the whole rejection contract:
    exit 3, the check id and the words in the message, no traceback, nothing published, the
    earlier run of the period byte-for-byte intact, the evidence in ``_failed/``. ``rewrite``
    False when the defect edits the files itself (after they were written). Returns stderr."""
    tables = load_sample()
    inputs = tmp_path / "in"
    for name, (columns, rows) in tables.items():
        write_workbook(inputs / f"{name}.xlsx", columns, rows)
    defect(tables, inputs)
    for name, (columns, rows) in tables.items():  # rewrite what the defect edited in memory
        if rewrite and (inputs / f"{name}.xlsx").exists():
            write_workbook(inputs / f"{name}.xlsx", columns, rows)
    output = tmp_path / "out"
    shutil.copytree(published, output)
    before = tree_digest(output / PERIOD)
    capsys.readouterr()

    status = main(["run", "--input", str(inputs), "--output", str(output), "--period", PERIOD,
                   "--retry-delay", "0"])

    err = capsys.readouterr().err
    assert status == 3, err
    assert "FAILED (data)" in err and words in err and check_id in err, err
    assert "Traceback" not in err
    assert tree_digest(output / PERIOD) == before  # the earlier run of the period is intact
    assert sorted(p.name for p in output.iterdir()) == [PERIOD, "_failed"]  # nothing else published
    failure = next((output / "_failed").iterdir())
    report = json.loads((failure / "quality_report.json").read_text())
    fired = [r["id"] for r in report["results"] if not r["passed"] and r["severity"] == "error"]
    assert check_id in fired
    assert json.loads((failure / "error.json").read_text())["kind"] == "data"
    return err


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """An output folder holding a good run of the same period, published before the bad one."""
    out = tmp_path_factory.mktemp("published")
    assert main(["run", "--input", str(SAMPLE), "--output", str(out), "--period", PERIOD]) == 0
    return out


@pytest.mark.parametrize("defect, check_id, words", DEFECTS, ids=[d[0].__name__ for d in DEFECTS])
def test_defect_stops_the_run(defect, check_id, words, published, tmp_path, capsys):
    assert_defect_stops_the_run(defect, check_id, words, published, tmp_path, capsys,
                                rewrite=defect not in (corrupt_file, csv_renamed_to_xlsx))


def test_at_least_fifteen_distinct_defects():
    assert len({check for _, check, _ in DEFECTS}) >= 15
    assert len(DEFECTS) >= 15


def test_absorbed_defects_keep_the_reference_figures(real_dir, tmp_path, capsys):
    """Exact duplicate rows and shuffled rows are what the method legitimately absorbs."""
    rng = random.Random(3)
    inputs = tmp_path / "in"
    for name in ("erp", "web", "liaison"):
        columns, rows = read_workbook(real_dir / f"{name}.xlsx")
        rows = rows + [list(r) for r in rng.sample(rows, 25)]  # 25 exact duplicates per file
        rng.shuffle(rows)
        write_workbook(inputs / f"{name}.xlsx", columns, rows)
    assert main(["run", "--input", str(inputs), "--output", str(tmp_path / "out"), "--period", PERIOD]) == 0
    summary = json.loads((tmp_path / "out" / PERIOD / "run_summary.json").read_text())
    assert {k: summary[k] for k in REAL_FIGURES} == REAL_FIGURES
    assert summary["removed_rows"]["erp"]["exact_duplicate"] == 25
