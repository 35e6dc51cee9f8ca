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
from openpyxl import load_workbook

from bottleneck_pipeline.cli import main
from conftest import REAL_FIGURES, SAMPLE, read_workbook, write_workbook

PERIOD = "2026-10"
Tables = dict[str, tuple[list[str], list[list]]]
pytestmark = pytest.mark.slow  # a whole run per defect


def load_sample() -> Tables:
    return {name: read_workbook(SAMPLE / f"{name}.xlsx") for name in ("erp", "web", "liaison")}


def col(tables: Tables, table: str, name: str) -> int:
    return tables[table][0].index(name)


def linked_product(tables: Tables, offset: int = 0) -> tuple[list, list, list]:
    """An ERP row, its link row and its web product row (a product that is sold)."""
    web_rows = {
        r[col(tables, "web", "sku")]: r for r in tables["web"][1] if r[col(tables, "web", "post_type")] == "product"
    }
    erp_rows = {r[0]: r for r in tables["erp"][1]}
    found = [
        (erp_rows[link[0]], link, web_rows[link[1]])
        for link in tables["liaison"][1]
        if link[1] in web_rows and link[0] in erp_rows
    ]
    return found[offset]


# --- the defects: each edits the tables (or the files) and names the gate that must fire ------


def missing_column(t: Tables, d: Path):
    columns, rows = t["erp"]
    i = columns.index("price")
    t["erp"] = (columns[:i] + columns[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


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


def edits_files(defect: Callable) -> Callable:
    """Marks a defect that edits the written workbooks itself (raw cells: formulas, errors,
    merges, sheets...): the test must not rewrite them from the tables afterwards."""
    defect.rewrite = False
    return defect


def write_then_edit(t: Tables, d: Path, name: str, edit: Callable) -> None:
    """Write table ``name`` as the test does, then ``edit(workbook, sheet)`` it with openpyxl."""
    write_workbook(d / f"{name}.xlsx", *t[name])
    workbook = load_workbook(d / f"{name}.xlsx")
    edit(workbook, workbook.active)
    workbook.save(d / f"{name}.xlsx")


@edits_files
def corrupt_file(t: Tables, d: Path):
    (d / "web.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)


@edits_files
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


# --- issue 12: cells read empty, ambiguous headers, numbers out of range, misleading positions --


def error_cell(ref: str, error: str) -> Callable:
    def edit(workbook, sheet):
        sheet[ref] = error
        sheet[ref].data_type = "e"  # an error cell, as Excel saves #N/A or #REF!

    return edit


@edits_files
def formula_without_its_value(t: Tables, d: Path):
    def edit(workbook, sheet):
        sheet["C6"] = "=C5*2"  # saved by a tool that does not compute: no cached value

    write_then_edit(t, d, "erp", edit)


@edits_files
def na_error_in_a_price(t: Tables, d: Path):
    write_then_edit(t, d, "erp", error_cell("C9", "#N/A"))


@edits_files
def ref_error_in_the_sales(t: Tables, d: Path):
    write_then_edit(t, d, "web", error_cell("F12", "#REF!"))


@edits_files
def div0_error_in_a_link(t: Tables, d: Path):
    write_then_edit(t, d, "liaison", error_cell("B7", "#DIV/0!"))


@edits_files
def value_error_in_a_product_id(t: Tables, d: Path):
    write_then_edit(t, d, "erp", error_cell("A15", "#VALUE!"))


@edits_files
def merged_prices(t: Tables, d: Path):
    write_then_edit(t, d, "erp", lambda workbook, sheet: sheet.merge_cells("C20:C22"))


@edits_files
def merged_link_keys(t: Tables, d: Path):
    write_then_edit(t, d, "liaison", lambda workbook, sheet: sheet.merge_cells("A5:A6"))


@edits_files
def merged_sales_cells(t: Tables, d: Path):
    write_then_edit(t, d, "web", lambda workbook, sheet: sheet.merge_cells("E30:F30"))


def price_column_twice(t: Tables, d: Path):
    columns, rows = t["erp"]
    t["erp"] = (columns + ["price"], [r + [r[2] * 2 if isinstance(r[2], (int, float)) else None] for r in rows])


def sales_column_twice_up_to_case_and_spaces(t: Tables, d: Path):
    columns, rows = t["web"]
    t["web"] = (columns + [" TOTAL_SALES "], [r + [0] for r in rows])


def quantity_near_1e15(t: Tables, d: Path):
    erp, link, product = linked_product(t, 4)
    product[col(t, "web", "total_sales")] = 999_999_999_999_999


def price_beyond_the_decimal_type(t: Tables, d: Path):
    t["erp"][1][10][col(t, "erp", "price")] = 1e20


def stock_beyond_bigint(t: Tables, d: Path):
    t["erp"][1][11][col(t, "erp", "stock_quantity")] = -1e19


@edits_files
def blank_rows_above_the_header(t: Tables, d: Path):
    t["erp"][1][5][col(t, "erp", "price")] = "douze"  # data row 6: Excel row 7, then 10 below
    write_then_edit(t, d, "erp", lambda workbook, sheet: sheet.insert_rows(1, 3))


@edits_files
def title_above_the_header(t: Tables, d: Path):
    t["liaison"][1][7][0] = None  # data row 8: Excel row 9, then 11 under a title and a blank row

    def edit(workbook, sheet):
        sheet.insert_rows(1, 2)
        sheet["A1"] = "Table de liaison ERP / web - octobre"

    write_then_edit(t, d, "liaison", edit)


@edits_files
def the_data_on_a_hidden_first_sheet(t: Tables, d: Path):
    def edit(workbook, sheet):
        sheet.sheet_state = "hidden"  # the month's table hidden; Excel opens on the notes
        notes = workbook.create_sheet("Notes")
        notes.append(["Remarques"])
        notes.append(["export vérifié"])
        workbook.active = 1

    write_then_edit(t, d, "web", edit)


@edits_files
def an_old_copy_on_a_hidden_first_sheet(t: Tables, d: Path):
    t["erp"][1][3][col(t, "erp", "price")] = "vingt"

    def edit(workbook, sheet):
        sheet.title = "Octobre"
        old = workbook.copy_worksheet(sheet)  # last month's copy, fixed, hidden in front
        old.title = "Septembre"
        old["C5"] = 20.0
        old.sheet_state = "hidden"
        workbook.move_sheet(old, -1)
        workbook.active = 1

    write_then_edit(t, d, "erp", edit)


def placeholder_product_id(t: Tables, d: Path):
    t["erp"][1][12][0] = "N/A"


def no_break_space_product_id(t: Tables, d: Path):
    t["liaison"][1][20][0] = "\u00a0 \u200b"


def null_text_product_id(t: Tables, d: Path):
    t["liaison"][1][21][0] = " NULL "


def two_erp_files_differing_by_case(t: Tables, d: Path):
    write_workbook(d / "ERP.xlsx", *t["erp"])  # a corrected copy dropped next to the old one


DEFECTS: list[tuple[Callable, str, str | tuple[str, ...]]] = [
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
    (null_key, "ingest.erp.product_id.not_null", "colonne 'product_id' (A) vide"),
    (conflicting_duplicate_prices, "clean.erp.unique_product_id", "valeurs différentes"),
    (conflicting_duplicate_sales, "clean.web.unique_sku", "valeurs différentes"),
    (link_fan_out, "clean.liaison.unique_sku", "plusieurs produits pour un sku"),
    (product_linked_to_two_skus, "clean.liaison.unique_product_id", "plusieurs sku pour un produit"),
    (web_without_product_rows, "clean.web.has_products", "aucune ligne produit"),
    (negative_price_on_sold_product, "merge.products.no_negative_price", "prix négatif"),
    (negative_sales, "merge.products.no_negative_quantity", "ventes négatives"),
    # every sale lost, or a fifth of them: the clean gate's lost-sales ceiling now stops these
    # before the merge (issue 12, revenue-loss gate)
    (every_row_orphaned, "clean.web.lost_sales_within_ceiling", "Ventes perdues au-delà du plafond"),
    (too_many_unlinked_web_products, "clean.web.lost_sales_within_ceiling", "Ventes perdues au-delà du plafond"),
    # issue 12: (file, column or cell, what to do) named in each message
    (
        formula_without_its_value,
        "ingest.erp.uncomputed_formulas",
        ("erp.xlsx (catalogue ERP), feuille 'Sheet'", "C6 (colonne 'price', =C5*2)", "recalculez (F9)"),
    ),
    (
        na_error_in_a_price,
        "ingest.erp.error_cells",
        ("erp.xlsx (catalogue ERP), feuille 'Sheet'", "C9 = #N/A (colonne 'price')"),
    ),
    (ref_error_in_the_sales, "ingest.web.error_cells", ("web.xlsx", "F12 = #REF! (colonne 'total_sales')")),
    (div0_error_in_a_link, "ingest.liaison.error_cells", ("liaison.xlsx", "B7 = #DIV/0! (colonne 'id_web')")),
    (value_error_in_a_product_id, "ingest.erp.error_cells", ("erp.xlsx", "A15 = #VALUE! (colonne 'product_id')")),
    (
        merged_prices,
        "ingest.erp.merged_cells",
        ("erp.xlsx", "C20:C22 (colonne 'price')", "supprimez la fusion de cellules"),
    ),
    (merged_link_keys, "ingest.liaison.merged_cells", ("liaison.xlsx", "A5:A6 (colonne 'product_id')")),
    (merged_sales_cells, "ingest.web.merged_cells", ("web.xlsx", "E30:F30 (colonne 'total_sales')")),
    (
        price_column_twice,
        "ingest.erp.unique_headers",
        ("erp.xlsx", "la colonne 'price' apparaît 2 fois (colonnes C 'price' et F 'price')"),
    ),
    (
        sales_column_twice_up_to_case_and_spaces,
        "ingest.web.unique_headers",
        ("web.xlsx", "la colonne 'total_sales' apparaît 2 fois (colonnes F 'total_sales' et AC ' TOTAL_SALES ')"),
    ),
    (
        quantity_near_1e15,
        "ingest.web.quantity_sold.range",
        ("web.xlsx", "colonne 'total_sales' (F)", "= 999999999999999"),
    ),
    (
        price_beyond_the_decimal_type,
        "ingest.erp.price_eur.range",
        ("erp.xlsx", "colonne 'price' (C)", "cellule C12 = 100000000000000000000"),
    ),
    (
        stock_beyond_bigint,
        "ingest.erp.stock_quantity.range",
        ("erp.xlsx", "colonne 'stock_quantity' (D)", "cellule D13 = -10000000000000000000"),
    ),
    (
        blank_rows_above_the_header,
        "ingest.erp.price_eur.type",
        ("erp.xlsx", "colonne 'price' (C)", "(lignes 10 ; ex. 'douze')"),
    ),
    (
        title_above_the_header,
        "ingest.liaison.product_id.not_null",
        ("liaison.xlsx", "colonne 'product_id' (A) vide sur 1 ligne(s) (lignes 11 ;"),
    ),
    (
        the_data_on_a_hidden_first_sheet,
        "ingest.web.required_columns",
        ("web.xlsx", "'sku'", "Colonnes trouvées sur la ligne 1 de la feuille 'Notes' : Remarques"),
    ),
    (
        an_old_copy_on_a_hidden_first_sheet,
        "ingest.erp.price_eur.type",
        ("erp.xlsx (catalogue ERP), feuille 'Octobre', colonne 'price' (C)", "(lignes 5 ; ex. 'vingt')"),
    ),
    (
        placeholder_product_id,
        "ingest.erp.product_id.not_null",
        ("erp.xlsx", "colonne 'product_id' (A) vide sur 1 ligne(s) (lignes 14 ;"),
    ),
    (
        no_break_space_product_id,
        "ingest.liaison.product_id.not_null",
        ("liaison.xlsx", "colonne 'product_id' (A) vide sur 1 ligne(s) (lignes 22 ;"),
    ),
    (
        null_text_product_id,
        "ingest.liaison.product_id.not_null",
        ("liaison.xlsx", "colonne 'product_id' (A) vide sur 1 ligne(s) (lignes 23 ;"),
    ),
    (
        two_erp_files_differing_by_case,
        "ingest.erp.file_present",
        ("erp.xlsx", "plusieurs fichiers portent ce nom (ERP.xlsx, erp.xlsx)"),
    ),
]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_defect_stops_the_run(
    defect: Callable, check_id: str, words: str, published: Path, tmp_path: Path, capsys, rewrite: bool = True
) -> str:
    """Plant ``defect`` in a copy of the sample, run, and check the whole rejection contract:
    exit 3, the check id and the words (one text or several) in the message, no traceback, nothing published, the
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

    status = main(["run", "--input", str(inputs), "--output", str(output), "--period", PERIOD, "--retry-delay", "0"])

    err = capsys.readouterr().err
    assert status == 3, err
    words = (words,) if isinstance(words, str) else words
    assert "FAILED (data)" in err and check_id in err and all(w in err for w in words), err
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
    assert_defect_stops_the_run(
        defect, check_id, words, published, tmp_path, capsys, rewrite=getattr(defect, "rewrite", True)
    )


def test_at_least_forty_distinct_defects_each_stopped_by_a_registered_gate():
    """Counted with the revenue suite's defects (tests/test_fault_injection_revenue.py) when it
    is there. Each names a gate a run can report (tests/test_gates.py lists them from the
    registry and the contracts), so that no defect is "stopped" by a gate that does not exist."""
    from test_gates import registered_gates

    try:
        from test_fault_injection_revenue import REVENUE_DEFECTS
    except ImportError:
        REVENUE_DEFECTS = []
    defects = DEFECTS + list(REVENUE_DEFECTS)
    assert len({d[0].__name__ for d in defects}) == len(defects) >= 40
    assert len({d[1] for d in defects}) >= 25
    gates = registered_gates()
    assert sorted({d[1] for d in defects} - set(gates)) == []
    assert {gates[d[1]] for d in defects} == {"error"}  # each stops the run


@pytest.mark.real_data
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
