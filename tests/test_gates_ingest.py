"""The ingest gates, each shown failing alone (tests/test_gates.py says how): the contract checks
made while reading the workbooks (checks/ingest.py's CONTRACT_CHECKS, for every table and column
they apply to), then the gates on the Parquet files ingest wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pyarrow as pa
from openpyxl import load_workbook

from bottleneck_pipeline import pipeline
from gate_month import (
    Case,
    Tables,
    Where,
    cast_parquet,
    cell,
    fails_alone_test,
    ingest_file,
    on,
    set_where,
    tamper_rows,
)


def on_file(table: str, edit: Callable[[Path], None]) -> Callable[[Where], None]:
    """A defect written as an edit of one workbook on disk (after it was written)."""

    def defect(w: Where) -> None:
        edit(w.inputs / f"{table}.xlsx")

    return defect


def with_openpyxl(edit: Callable) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        workbook = load_workbook(path)
        edit(workbook, workbook.active)
        workbook.save(path)

    return apply


def error_cell(ref: str, value: str) -> Callable[[Path], None]:
    def edit(workbook, sheet):
        sheet[ref] = value
        sheet[ref].data_type = "e"  # an error cell, as Excel saves #N/A

    return with_openpyxl(edit)


def add_column(table: str, header: str, value) -> Callable[[Where], None]:
    def edit(t: Tables) -> None:
        columns, rows = t[table]
        columns.append(header)
        for r in rows:
            r.append(value(r) if callable(value) else value)

    return on(edit)


def drop_column(table: str, header: str) -> Callable[[Where], None]:
    def edit(t: Tables) -> None:
        columns, rows = t[table]
        i = columns.index(header)
        del columns[i]
        for r in rows:
            del r[i]

    return on(edit)


def second_sheet(workbook, sheet):
    notes = workbook.create_sheet("Notes")
    notes.append(["Remarques"])
    notes.append(["export vérifié"])


# The contract checks of ingest, per table: (table, the column the cell edits use, a data row's
# Excel row). ERP: A product_id, B onsale_web, C price, D stock_quantity, E stock_status.
# web: A sku, B total_sales, C post_type, D post_title. liaison: A product_id, B id_web.
DROPPED = {"erp": "price", "web": "total_sales", "liaison": "id_web"}
TWIN = {"erp": " PRICE ", "web": "Total_Sales", "liaison": "ID_WEB"}  # the same column, other case
CONTRACT_CELL = {"erp": "C5", "web": "B5", "liaison": "B5"}
MERGED = {"erp": "C20:C21", "web": "B20:B21", "liaison": "A20:A21"}
MERGED_COLUMN = {"erp": "price", "web": "total_sales", "liaison": "product_id"}


def contract_cases() -> list[Case]:
    cases = []
    for t in pipeline.TABLES:
        file = f"{t}.xlsx"
        cases += [
            Case(
                f"ingest.{t}.file_present", on_file(t, Path.unlink), "absent", "présent", words=f"Fichier {file}"
            ),  # the workbook is not in the folder
            Case(
                f"ingest.{t}.file_readable",  # not a workbook: a few bytes of a broken zip
                on_file(t, lambda p: p.write_bytes(b"PK\x03\x04" + bytes(range(64)))),
                "illisible",
                "xlsx lisible",
            ),
            Case(
                f"ingest.{t}.sheet_read",
                on_file(t, with_openpyxl(second_sheet)),  # a notes sheet after it
                "Sheet",
                "une seule feuille",
                words="'Notes'",
            ),
            Case(f"ingest.{t}.required_columns", drop_column(t, DROPPED[t]), [DROPPED[t]], "aucune"),
            Case(
                f"ingest.{t}.unique_headers",  # the column twice, once in another case
                add_column(t, TWIN[t], lambda r: r[1]),
                [DROPPED[t]],
                "aucune",
            ),
            Case(f"ingest.{t}.unexpected_columns", add_column(t, "commentaire", "vu"), ["commentaire"], "aucune"),
            Case(
                f"ingest.{t}.uncomputed_formulas",  # a formula saved without its value (no cache)
                on_file(t, with_openpyxl(lambda wb, s, ref=CONTRACT_CELL[t]: s.__setitem__(ref, "=1+1"))),
                [CONTRACT_CELL[t]],
                "aucune",
            ),
            Case(f"ingest.{t}.error_cells", on_file(t, error_cell(CONTRACT_CELL[t], "#N/A")), ["#N/A"], "aucune"),
            Case(
                f"ingest.{t}.merged_cells",
                on_file(t, with_openpyxl(lambda wb, s, ref=MERGED[t]: s.merge_cells(ref))),
                [MERGED[t]],
                "aucune",
                words=f"{MERGED[t]} (colonne '{MERGED_COLUMN[t]}')",
            ),
            Case(
                f"ingest.{t}.sheet_not_empty",  # the header only
                on(lambda tables, t=t: tables[t][1].clear()),
                0,
                "> 0",
            ),
        ]
    integer, money = "un nombre entier", "un montant en euros (au plus 2 décimales)"
    integer_limit, money_limit = ("moins de 100 000 000 en valeur absolue", "moins de 100 000 000 € en valeur absolue")
    cases += [
        Case(
            "ingest.erp.onsale_web.type",
            on(lambda t: cell(t, "erp", 4003, "onsale_web", "oui")),
            "1 valeur(s) invalide(s)",
            integer,
        ),
        Case(
            "ingest.erp.onsale_web.range",
            on(lambda t: cell(t, "erp", 4003, "onsale_web", 10**9)),
            ["1000000000"],
            integer_limit,
        ),
        Case(
            "ingest.erp.price_eur.type",  # a third decimal: never rounded silently
            on(lambda t: cell(t, "erp", 4003, "price", 63.005)),
            "1 valeur(s) invalide(s)",
            money,
        ),
        Case(
            "ingest.erp.price_eur.range",  # exactly the limit: out
            on(lambda t: cell(t, "erp", 4021, "price", 10**8)),
            ["100000000"],
            money_limit,
            words="cellule C22 = 100000000",
        ),
        Case(
            "ingest.erp.stock_quantity.type",
            on(lambda t: cell(t, "erp", 4003, "stock_quantity", 2.5)),
            "1 valeur(s) invalide(s)",
            integer,
        ),
        Case(
            "ingest.erp.stock_quantity.range",
            on(lambda t: cell(t, "erp", 4003, "stock_quantity", -(10**8))),
            ["-100000000"],
            integer_limit,
        ),
        Case(
            "ingest.web.quantity_sold.type",
            on(lambda t: cell(t, "web", "15003", "total_sales", 2.5)),
            "1 valeur(s) invalide(s)",
            integer,
        ),
        Case(
            "ingest.web.quantity_sold.range",
            on(lambda t: cell(t, "web", "15003", "total_sales", 999_999_999_999_999)),
            ["999999999999999"],
            integer_limit,
        ),
        Case(
            "ingest.erp.product_id.not_null",  # a placeholder is no key
            on(lambda t: cell(t, "erp", 4003, "product_id", "N/A")),
            "1 ligne(s) sans product_id",
            "0",
            words="lignes 4",
        ),
        Case(
            "ingest.liaison.product_id.not_null",
            on(lambda t: cell(t, "liaison", 4003, "product_id", None)),
            "1 ligne(s) sans product_id",
            "0",
            words="lignes 4",
        ),
        Case(
            "ingest.erp.stock_status.allowed_values",
            on(lambda t: cell(t, "erp", 4021, "stock_status", "backorder")),
            ["backorder"],
            ["instock", "outofstock"],
        ),
        Case(
            "ingest.web.post_type.allowed_values",  # an unsold image row typed as a WordPress revision
            on(lambda t: t["web"][1][20].__setitem__(2, "revision")),
            ["revision"],
            ["product", "attachment"],
        ),
    ]
    return cases


# The gates on the files ingest wrote (a bug of the stage, or a file altered after it).
CASES = contract_cases() + [
    Case(
        "ingest.erp.typed_columns",
        lambda w: cast_parquet(w.file("ingest", "erp.parquet"), "price_eur", pa.float64()),
        [{"colonne": "price_eur", "type": "DOUBLE", "attendu": "DECIMAL(18,2)"}],
        "colonnes typées selon le contrat",
        at="output:ingest",
    ),
    Case(
        "ingest.web.typed_columns",
        lambda w: cast_parquet(w.file("ingest", "web.parquet"), "quantity_sold", pa.string()),
        [{"colonne": "quantity_sold", "type": "VARCHAR", "attendu": "BIGINT"}],
        "colonnes typées selon le contrat",
        at="output:ingest",
    ),
    Case(
        "ingest.liaison.typed_columns",
        lambda w: cast_parquet(w.file("ingest", "liaison.parquet"), "product_id", pa.int64()),
        [{"colonne": "product_id", "type": "BIGINT", "attendu": "VARCHAR"}],
        "colonnes typées selon le contrat",
        at="output:ingest",
    ),
    # a row lost between the workbook and the file: 23 ERP rows read, 22 typed
    Case(
        "ingest.erp.rows_match_source",
        tamper_rows(ingest_file("erp"), lambda rows: rows[:-1]),
        22,
        23,
        at="output:ingest",
    ),
    Case(
        "ingest.web.rows_match_source",
        tamper_rows(ingest_file("web"), lambda rows: rows[:-1]),
        22,
        23,
        at="output:ingest",
    ),
    Case(
        "ingest.liaison.rows_match_source",
        tamper_rows(ingest_file("liaison"), lambda rows: rows[:-1]),
        21,
        22,
        at="output:ingest",
    ),
    # a key lost in the file (the workbook had it: the contract check passed)
    Case(
        "ingest.erp.product_id_present",
        tamper_rows(ingest_file("erp"), set_where("product_id", "4002", "product_id", None)),
        1,
        0,
        at="output:ingest",
        words="lignes 3",
    ),
    Case(
        "ingest.liaison.product_id_present",
        tamper_rows(ingest_file("liaison"), set_where("product_id", "4002", "product_id", None)),
        1,
        0,
        at="output:ingest",
        words="lignes 3",
    ),
]


# Each case: the base month with its one defect; this gate and no other fails.
test_the_gate_fails_alone = fails_alone_test(CASES)
