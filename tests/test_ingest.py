"""Ingest: the input contract, exact typing, and a clear rejection for each malformed workbook."""

from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import Workbook

from bottleneck_pipeline import pipeline
from bottleneck_pipeline.contracts import ERP, KEY_PLACEHOLDERS, LIAISON, STRIP_CHARS, WEB, key_sql, normalise_key
from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.stages.ingest import ingest_workbook
from bottleneck_pipeline.storage import connect
from conftest import write_workbook
from bottleneck_pipeline.stages import ingest
from bottleneck_pipeline.stages.ingest import check_header

ERP_COLUMNS = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]


def ingest_erp(tmp_path, rows, columns=ERP_COLUMNS):
    path = write_workbook(tmp_path / "erp.xlsx", columns, rows)
    return ingest_workbook(connect(), path, ERP)


def failed(results):
    return {r.id: r for r in results if not r.passed}


def test_values_are_typed_exactly(tmp_path):
    table, results = ingest_erp(
        tmp_path,
        [
            [3847, 1, 24.2, 0, "outofstock"],
            ["00123", 1, 19.99, 5, "instock"],  # a text id keeps its leading zeros
            [4039.0, 0, 46, 3, "instock"],  # a whole float id is the integer's text
        ],
    )
    assert not failed(results)
    assert table.column("product_id").to_pylist() == ["3847", "00123", "4039"]
    assert table.column("price_eur").to_pylist() == [Decimal("24.20"), Decimal("19.99"), Decimal("46.00")]
    assert table.column("stock_quantity").to_pylist() == [0, 5, 3]
    assert table.column("source_row").to_pylist() == [2, 3, 4]  # Excel row numbers


def test_text_keys_and_empty_sku_are_kept_as_they_are(tmp_path):
    path = write_workbook(
        tmp_path / "liaison.xlsx",
        ["product_id", "id_web"],
        [[4954, "bon-cadeau-25-euros"], [7247, "13127-1"], [4100, None], [4101, 15298]],
    )
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
    table, results = ingest_erp(
        tmp_path, [[1, 1, 10.0, 1, "instock"], [2, 1, "douze", 1, "instock"], [3, 1, "24,5", 1, "instock"]]
    )
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
    path = write_workbook(
        tmp_path / "web.xlsx", ["sku", "total_sales", "post_type", "post_title"], [[1, 2.5, "product", "Vin"]]
    )
    table, results = ingest_workbook(connect(), path, WEB)
    assert table is None
    assert failed(results)["ingest.web.quantity_sold.type"].offending_count == 1


def test_empty_key_on_a_filled_row_is_rejected(tmp_path):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock"], [None, 1, 12.0, 1, "instock"]])
    assert table is None
    finding = failed(results)["ingest.erp.product_id.not_null"]
    assert finding.rows == [{"ligne": 3, "valeur": None}]


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
        pipeline.ingest(tmp_path / "erp.xlsx", tmp_path / "web.xlsx", tmp_path / "liaison.xlsx", tmp_path / "out")
    ids = {r.id for r in caught.value.results if not r.passed}
    assert {"ingest.erp.file_present", "ingest.web.file_readable"} <= ids
    assert "introuvable" in caught.value.message and "illisible" in caught.value.message
    assert not (tmp_path / "out").exists()  # nothing written for a rejected ingest


# --- cells Excel shows with a value that the reader would read empty (issue 12) ----------------


def erp_workbook(tmp_path, rows, edit=None, name="erp.xlsx"):
    """An ERP workbook built with openpyxl, then ``edit(sheet)`` for what only raw cells can say."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Catalogue"
    sheet.append(ERP_COLUMNS)
    for row in rows:
        sheet.append(row)
    if edit:
        edit(workbook, sheet)
    workbook.save(tmp_path / name)
    return tmp_path / name


GOOD_ROWS = [[1, 1, 10.0, 1, "instock"], [2, 1, 12.5, 0, "outofstock"], [3, 1, 8.0, 2, "instock"]]


def test_a_formula_saved_without_its_value_is_rejected_with_its_cell(tmp_path):
    def formula(workbook, sheet):
        sheet["C3"] = "=C2*2"  # openpyxl stores no computed value: the reader sees an empty cell

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, formula), ERP)
    assert table is None
    finding = failed(results)["ingest.erp.uncomputed_formulas"]
    assert finding.severity == "error"
    assert finding.rows == [{"cellule": "C3", "colonne": "price", "valeur": "=C2*2"}]
    assert "feuille 'Catalogue' : 1 formule(s) enregistrée(s) sans leur valeur calculée" in finding.message
    assert "C3 (colonne 'price', =C2*2)" in finding.message
    assert "Ouvrez le fichier dans Excel, recalculez (F9) et enregistrez-le" in finding.message


def test_a_formula_with_its_computed_value_is_read(tmp_path):
    import xlsxwriter

    path = tmp_path / "erp.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ERP_COLUMNS)
    sheet.write_row(1, 0, [1, 1, 10.0, 1, "instock"])
    sheet.write_row(2, 0, [2, 1])
    sheet.write_formula(2, 2, "=C2*2", None, 20.0)  # as Excel saves it: formula and value
    sheet.write_row(2, 3, [0, "outofstock"])
    workbook.close()
    table, results = ingest_workbook(connect(), path, ERP)
    assert not failed(results)
    assert table.column("price_eur").to_pylist() == [Decimal("10.00"), Decimal("20.00")]


@pytest.mark.parametrize("error", ["#N/A", "#REF!", "#DIV/0!", "#VALUE!"])
def test_error_cells_are_rejected_with_their_cell_and_error(tmp_path, error):
    def error_cell(workbook, sheet):
        sheet["A4"] = error
        sheet["A4"].data_type = "e"

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, error_cell), ERP)
    assert table is None
    finding = failed(results)["ingest.erp.error_cells"]
    assert finding.rows == [{"cellule": "A4", "colonne": "product_id", "valeur": error}]
    assert (
        f"1 cellule(s) en erreur, qui n'ont pas de valeur et seraient lues vides : A4 = {error} "
        "(colonne 'product_id')" in finding.message
    )
    assert "Corrigez la formule ou la valeur de ces cellules dans Excel" in finding.message


def test_merged_cells_in_contract_columns_are_rejected(tmp_path):
    def merge(workbook, sheet):
        sheet.merge_cells("C3:C4")  # Excel shows 12.5 over both rows; the reader, only on row 3
        sheet.merge_cells("A2:B2")  # onsale_web of row 2 is hidden under product_id

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, merge), ERP)
    assert table is None
    finding = failed(results)["ingest.erp.merged_cells"]
    assert finding.rows == [{"plage": "C3:C4", "colonnes": ["price"]}, {"plage": "A2:B2", "colonnes": ["onsale_web"]}]
    assert "C3:C4 (colonne 'price')" in finding.message
    assert "supprimez la fusion de cellules, recopiez la valeur sur chaque ligne" in finding.message


def test_merges_outside_the_contract_cells_are_harmless(tmp_path):
    def merge(workbook, sheet):
        sheet["G2"] = "note"
        sheet.merge_cells("G2:H4")  # columns the contract does not read
        sheet.merge_cells("E4:F4")  # first cell in a contract column, the rest outside

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, merge), ERP)
    assert failed(results).keys() <= {"ingest.erp.unexpected_columns"}
    assert table.num_rows == 3


# --- ambiguous headers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "twin, letters",
    [
        ("price", "C 'price' et F 'price'"),
        (" PRICE ", "C 'price' et F ' PRICE '"),
        ("Pri ce", "C 'price' et F 'Pri ce'"),
    ],
)
def test_a_contract_column_twice_in_the_header_is_rejected(tmp_path, twin, letters):
    columns = ERP_COLUMNS + [twin]
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock", 99.0]], columns)
    assert table is None
    finding = failed(results)["ingest.erp.unique_headers"]
    assert finding.severity == "error" and finding.observed == ["price"]
    assert f"la colonne 'price' apparaît 2 fois (colonnes {letters})" in finding.message
    assert "supprimez ou renommez la colonne en trop" in finding.message


def test_header_names_ignore_case_and_spaces(tmp_path):
    columns = ["Product_ID", " price ", "onsale_web", "STOCK_QUANTITY", "stock_status\u00a0"]
    table, results = ingest_erp(tmp_path, [[1, 10.0, 1, 1, "instock"]], columns)
    assert not failed(results)
    assert table.column("price_eur").to_pylist() == [Decimal("10.00")]


# --- numbers beyond what the types hold --------------------------------------------------------


def test_numbers_out_of_range_name_the_cell_and_the_value(tmp_path):
    table, results = ingest_erp(
        tmp_path,
        [
            [1, 1, 10.0, 1, "instock"],
            [2, 1, 1e20, 1, "instock"],
            [3, 1, 12.0, 999999999999999, "instock"],
            [4, 1, 99999999.99, 99999999, "instock"],
        ],
    )  # the largest accepted
    assert table is None
    price = failed(results)["ingest.erp.price_eur.range"]
    assert price.rows == [{"ligne": 3, "cellule": "C3", "valeur": "100000000000000000000"}]
    assert (
        "erp.xlsx (catalogue ERP), feuille 'Sheet', colonne 'price' (C) : 1 nombre(s) hors limites (attendu : "
        "moins de 100 000 000 € en valeur absolue) : cellule C3 = 100000000000000000000"
    ) in price.message
    stock = failed(results)["ingest.erp.stock_quantity.range"]
    assert stock.rows == [{"ligne": 4, "cellule": "D4", "valeur": "999999999999999"}]
    assert "ingest.erp.price_eur.type" not in failed(results)  # not reported twice


def test_a_quantity_near_1e15_stops_at_ingest_not_in_the_report(tmp_path):
    path = write_workbook(
        tmp_path / "web.xlsx",
        ["sku", "total_sales", "post_type", "post_title"],
        [[1, 999999999999999, "product", "Vin"], [2, -2e8, "product", "Vin"]],
    )
    table, results = ingest_workbook(connect(), path, WEB)
    assert table is None
    finding = failed(results)["ingest.web.quantity_sold.range"]
    assert [r["cellule"] for r in finding.rows] == ["B2", "B3"]
    assert "cellule B2 = 999999999999999, cellule B3 = -200000000" in finding.message


# --- row numbers, sheets, file names, placeholder keys -----------------------------------------


def test_row_numbers_are_excel_rows_whatever_stands_above_the_header(tmp_path):
    def move_down(workbook, sheet):
        sheet.insert_rows(1, 3)  # three blank rows: the header is now on row 4
        sheet["A2"] = "Export ERP du mois"  # and a title above it

    path = erp_workbook(tmp_path, [[1, 1, 10.0, 1, "instock"], [2, 1, "douze", 1, "instock"]], move_down)
    table, results = ingest_workbook(connect(), path, ERP)
    finding = failed(results)["ingest.erp.price_eur.type"]
    assert finding.rows == [{"ligne": 6, "valeur": "douze"}]
    assert (
        "colonne 'price' (C) : 1 valeur(s) qui ne sont pas un montant en euros (au plus 2 "
        "décimales) (lignes 6 ; ex. 'douze')" in finding.message
    )


def test_blank_rows_and_columns_before_the_table_keep_rows_and_letters(tmp_path):
    def move(workbook, sheet):
        sheet.insert_rows(1, 2)
        sheet.insert_cols(1, 2)  # the table now starts in C3

    path = erp_workbook(tmp_path, GOOD_ROWS, move)
    table, results = ingest_workbook(connect(), path, ERP)
    assert not failed(results)
    assert table.column("source_row").to_pylist() == [4, 5, 6]
    assert table.column("product_id").to_pylist() == ["1", "2", "3"]


def test_the_first_visible_sheet_is_read_and_named(tmp_path):
    def hidden_first(workbook, sheet):
        old = workbook.create_sheet("Ancien", 0)  # an old copy, hidden, before the real sheet
        old.append(ERP_COLUMNS)
        old.append([9, 1, 99.0, 1, "instock"])
        old.sheet_state = "hidden"
        workbook.active = 1
        workbook.create_sheet("Notes").append(["à relire"])

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, hidden_first), ERP)
    assert table.column("product_id").to_pylist() == ["1", "2", "3"]
    warning = failed(results)["ingest.erp.sheet_read"]
    assert warning.severity == "warn" and warning.observed == "Catalogue"
    assert (
        "le classeur a 3 feuilles ; seule la feuille 'Catalogue' (la première feuille visible) "
        "est lue, les autres sont ignorées : 'Ancien' (masquée), 'Notes'"
    ) in warning.message


def test_a_single_sheet_gives_no_sheet_warning(tmp_path):
    _, results = ingest_erp(tmp_path, GOOD_ROWS)
    assert not failed(results)


def test_file_names_are_matched_whatever_their_case(tmp_path):
    erp_workbook(tmp_path, GOOD_ROWS, name="ERP.xlsx")
    write_workbook(
        tmp_path / "Web.XLSX", ["sku", "total_sales", "post_type", "post_title"], [[11, 2, "product", "Vin"]]
    )
    write_workbook(tmp_path / "liaison.xlsx", ["product_id", "id_web"], [[1, 11]])
    manifest = pipeline.ingest(
        tmp_path / "erp.xlsx", tmp_path / "web.xlsx", tmp_path / "liaison.xlsx", tmp_path / "out"
    )
    assert manifest["sources"]["erp"]["file"] == "ERP.xlsx"
    assert manifest["sources"]["web"]["file"] == "Web.XLSX"


def test_two_files_differing_only_by_case_are_ambiguous(tmp_path):
    erp_workbook(tmp_path, GOOD_ROWS, name="ERP.xlsx")
    erp_workbook(tmp_path, GOOD_ROWS[:1], name="erp.xlsx")
    table, results = ingest_workbook(connect(), tmp_path / "erp.xlsx", ERP)
    finding = failed(results)["ingest.erp.file_present"]
    assert "plusieurs fichiers portent ce nom (ERP.xlsx, erp.xlsx)" in finding.message


# ("#N/A" typed in a cell is an error cell for openpyxl and for Excel: error_cells covers it)
@pytest.mark.parametrize(
    "placeholder", ["N/A", "n/a", "#n/a", "-", "null", "NULL", "none", "\u00a0", " \t", "\u200b", " N/A\u00a0"]
)
def test_placeholder_keys_count_as_missing(tmp_path, placeholder):
    table, results = ingest_erp(tmp_path, [[1, 1, 10.0, 1, "instock"], [placeholder, 1, 12.0, 1, "instock"]])
    assert table is None
    finding = failed(results)["ingest.erp.product_id.not_null"]
    assert finding.rows == [{"ligne": 3, "valeur": placeholder}]
    assert "colonne 'product_id' (A) vide sur 1 ligne(s) (lignes 3 ; 'N/A', '-', 'null'" in finding.message


def test_keys_are_stripped_of_invisible_characters(tmp_path):
    path = write_workbook(
        tmp_path / "liaison.xlsx",
        ["product_id", "id_web"],
        [["\u00a04954\u200b", "\tbon-cadeau\u00a0"], [4100, "N/A"], [4101, "n/a "]],
    )
    table, results = ingest_workbook(connect(), path, LIAISON)
    assert not failed(results)
    assert table.column("product_id").to_pylist() == ["4954", "4100", "4101"]
    assert table.column("sku").to_pylist() == ["bon-cadeau", None, None]


def test_normalise_key_is_the_same_rule_in_python_and_in_duckdb():
    texts = (
        [f"{c}k{c}" for c in STRIP_CHARS]
        + [f" {p.upper()}\u00a0" for p in KEY_PLACEHOLDERS]
        + ["a b", "13127-1", "", "x\u200by"]
    )
    in_sql = connect().execute(f"select {key_sql('t')} from unnest(?) as u(t)", [texts]).fetchall()
    assert [normalise_key(t) for t in texts] == [r[0] for r in in_sql]
    assert normalise_key("\u00a0 15298\u200b\t") == "15298" and normalise_key(" #n/a ") is None
    assert set(STRIP_CHARS) >= {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_the_scan_reads_prefixed_xml_as_well(tmp_path):
    """Some writers (.NET Open XML SDK) prefix every tag ('<x:c>'): the scan finds the same cells."""
    import re
    import zipfile

    from bottleneck_pipeline import xlsx_scan

    def defects(workbook, sheet):
        sheet.insert_rows(1, 2)
        sheet["C6"] = "=C5*2"
        sheet["A5"] = "#REF!"
        sheet["A5"].data_type = "e"
        sheet.merge_cells("D4:D5")

    plain = erp_workbook(tmp_path, GOOD_ROWS, defects)
    prefixed = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(prefixed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<(/?)(?=[a-zA-Z])", rb"<\1x:", data).replace(
                    b"<x:worksheet xmlns=", b"<x:worksheet xmlns:x="
                )
                assert b"<x:c " in data and b"<c " not in data
            target.writestr(item, data)
    for path in (plain, prefixed):
        scan = xlsx_scan.scan(path, lambda text: text == "product_id")
        assert (scan.sheet.name, scan.header_row) == ("Catalogue", 3)
        assert [letter for letter, _ in scan.headers] == ["A", "B", "C", "D", "E"]
        assert [(c.ref, c.value) for c in scan.uncomputed] == [("C6", "=C5*2")]
        assert [(c.ref, c.value) for c in scan.errors] == [("A5", "#REF!")]
        assert scan.merges == ["D4:D5"]


# Ingest at its edges: a workbook that is not there, a header checked without its column letters,
# a formula outside the contract columns, the reader failing after the scan.


def test_a_missing_workbook_is_one_finding_whether_or_not_its_folder_exists(tmp_path):
    for path in (tmp_path / "erp.xlsx", tmp_path / "no_such_folder" / "erp.xlsx"):
        table, results = ingest_workbook(connect(), path, ERP)
        assert table is None
        (result,) = results
        assert (result.id, result.passed, result.offending_count, result.observed) == (
            "ingest.erp.file_present",
            False,
            1,
            "absent",
        )
        assert "introuvable" in result.message


def test_a_header_checked_without_its_column_letters_still_names_the_twin_columns():
    results = {r.id: r for r in check_header(["product_id", "price", " PRICE", "stock_status"], ERP)}
    twins = results["ingest.erp.unique_headers"]
    assert (twins.passed, twins.rows) == (False, [{"colonne": "price", "en_tete": [" 'price'", " ' PRICE'"]}])
    assert results["ingest.erp.required_columns"].observed == ["onsale_web", "stock_quantity"]


def test_a_formula_without_value_outside_the_contract_columns_is_harmless(tmp_path):
    def note(workbook, sheet):
        sheet["G3"] = "=C3*2"  # no computed value, in a column the contract does not read

    table, results = ingest_workbook(connect(), erp_workbook(tmp_path, GOOD_ROWS, note), ERP)
    assert {r.id for r in results if not r.passed} <= {"ingest.erp.unexpected_columns"}
    assert table.num_rows == 3


def test_a_reader_failure_after_the_scan_is_an_unreadable_file(tmp_path, monkeypatch):
    path = erp_workbook(tmp_path, GOOD_ROWS)

    def broken(*args, **kwargs):
        raise ValueError("calamine: unexpected end of sheet")

    monkeypatch.setattr(ingest.fastexcel, "read_excel", broken)
    table, results = ingest_workbook(connect(), path, ERP)
    assert table is None
    unreadable = [r for r in results if not r.passed]
    assert [r.id for r in unreadable] == ["ingest.erp.file_readable"]
    assert "calamine: unexpected end of sheet" in unreadable[0].message
