"""Every gate proven able to fail, and to fail alone (issue 13).

One case per registered gate (``checks.model.REGISTRY``) and per contract check of ingest
(``stages.ingest.CONTRACT_CHECKS``, for every table and column it applies to). The month built
here (MONTH, 20 wines, every figure computed by hand below) passes every gate; each case plants
exactly ONE defect in it and asserts that THIS gate fails, with the observed and expected values
written in the case, and that no other gate does. A few defects also raise a warning further down
the run (a link left dangling by a wine the cleaning removed, for instance): those warnings are
listed with the case, with the reason, and must be warnings. ``test_every_gate_has_a_case`` fails
when a gate is registered without a case.

Where a defect is planted:

- ``workbook``: in the month's workbooks, before the run (what a business user can get wrong);
- ``output:<stage>``: in the files a stage wrote, before its gate reads them (a bug of that stage:
  what the gates that guard against our own code are for; no workbook can provoke it);
- ``input:<stage>``: in the files a stage reads, after the previous gate passed them (the stage's
  Kestra subflow called alone by another team, on files no earlier gate saw).

Boundaries: the orphan ceiling at exactly 5 % and at the next possible share above it; the
lost-sales ceiling at exactly 1 % and just above, in units and in CA; a z-score of exactly 2 (not
premium) and of 2.05; join rows lost in the merge; an ERP duplicate that differs only in its stock.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pytest
from openpyxl import load_workbook

import bottleneck_pipeline
from bottleneck_pipeline import checks, extracts, pipeline
from bottleneck_pipeline.checks import REGISTRY, CheckContext, run_checks
from bottleneck_pipeline.checks.model import WARN, CheckResult
from bottleneck_pipeline.contracts import CONTRACTS, LIMITS
from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.history import PeriodFacts
from bottleneck_pipeline.stages.ingest import CONTRACT_CHECKS
from bottleneck_pipeline.storage import read_json, read_parquet, write_json, write_parquet
from conftest import REPO, write_workbook

for _module in pkgutil.iter_modules(checks.__path__):  # every gate module registers its gates
    importlib.import_module(f"{checks.__name__}.{_module.name}")

Tables = dict[str, tuple[list[str], list[list]]]
STAGES = ("ingest", "clean", "merge", "report", "classify")
Z = 2.0  # premium when z > 2 (README)
PERIOD = "2026-10"

# --- the month ------------------------------------------------------------------------------------
# The 20 wines sold online: (product_id, web sku, price in EUR, units sold). Prices: mean 100,
# population standard deviation 20 (deviations -40 -40 -37 -5 +2 x3 +3 x9 +4 x2 +40 +41: squares
# sum to 8,000, / 20 = 400), all exact in binary, so that the 140 EUR wine has z = 40 / 20 = 2
# exactly (ordinary: premium is z > 2) and the 141 EUR wine z = 2.05 (the month's premium wine).
# Units: 1,000 in all. CA: 98,000.00 EUR in all.
WINES = [
    (4001, "15001", 60, 11),  # 11 units: 1.1 % of the units (CA 660: 0.67 %)
    (4002, "15002", 60, 10),  # 10 units: exactly 1 % of the units (CA 600: 0.61 %)
    (4003, "15003", 63, 102),
    (4004, "15004", 95, 69),
    (4005, "15005", 102, 0),  # unsold
    (4006, "15006", 102, 0),  # unsold
    (4007, "15007", 102, 5),  # 0.5 % of the units, CA 510: 0.52 %
    *[(4008 + i, str(15008 + i), 103, 86) for i in range(9)],  # 4008 ... 4016
    (4017, "15017", 104, 7),
    (4018, "15018", 104, 8),
    (4019, "15019", 140, 7),  # z = 2 exactly; CA 980: exactly 1 % of the CA
    (4020, "15020", 141, 7),  # z = 2.05, premium; CA 987: 1.0071 % of the CA
]
UNITS, CA = 1000, 98_000
assert sum(w[3] for w in WINES) == UNITS and sum(w[2] * w[3] for w in WINES) == CA  # the arithmetic above

ERP_COLUMNS = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]
WEB_COLUMNS = ["sku", "total_sales", "post_type", "post_title"]
LINK_COLUMNS = ["product_id", "id_web"]


def month() -> Tables:
    """The month's three workbooks, clean. Excel rows: the header is row 1, data from row 2."""
    erp = [[pid, 1, price, 10 + i, "instock"] for i, (pid, _, price, _) in enumerate(WINES)]
    erp += [
        [4021, 0, 30, 0, "outofstock"],  # row 22: two products not sold online
        [4022, 0, 35, 0, "outofstock"],  # row 23
        list(erp[2]),
    ]  # row 24: an exact copy of 4003's row, which the cleaning drops
    web = [[sku, units, "product", f"Cuvée {pid}"] for pid, sku, _, units in WINES]
    web += [[sku, 0, "attachment", f"Cuvée {pid}"] for pid, sku, _, _ in (WINES[2], WINES[9], WINES[19])]
    links = [[pid, sku] for pid, sku, _, _ in WINES] + [[4021, None], [4022, None]]  # rows 2-21, 22-23
    return {"erp": (list(ERP_COLUMNS), erp), "web": (list(WEB_COLUMNS), web), "liaison": (list(LINK_COLUMNS), links)}


def unsold() -> Tables:
    """The same month with nothing sold: a month whose files hold no product at all then loses
    no sale, so that the lost-sales ceiling does not stop it first."""
    tables = month()
    for row in tables["web"][1]:
        row[1] = 0
    return tables


BASES = {"month": month, "unsold": unsold}


def row(t: Tables, table: str, key) -> list:
    """The first row of ``table`` whose first column is ``key`` (product_id, or web sku)."""
    return next(r for r in t[table][1] if r[0] == key)


def cell(t: Tables, table: str, key, column: str, value) -> None:
    row(t, table, key)[t[table][0].index(column)] = value


# --- running the month: the stages and their gates, as the runner chains them ------------------


def stage_inputs(stage: str, inputs: Path, work: Path) -> dict[str, Path]:
    if stage == "ingest":
        return {n: inputs / f"{n}.xlsx" for n in pipeline.TABLES}
    if stage in ("clean", "merge"):
        previous = "ingest" if stage == "clean" else "clean"
        return {n: work / previous / f"{n}.parquet" for n in pipeline.TABLES}
    return (
        {"products": work / "merge" / "products.parquet"}
        if stage == "report"
        else {"revenue": work / "report" / "revenue.parquet"}
    )


def run_stage(stage: str, inputs: dict[str, Path], out_dir: Path) -> None:
    if stage == "report":
        pipeline.report(**inputs, period=PERIOD, z_threshold=Z, out_dir=out_dir)
    elif stage == "classify":
        pipeline.classify(**inputs, z_threshold=Z, out_dir=out_dir)
    else:
        getattr(pipeline, stage)(**inputs, out_dir=out_dir)


@dataclass
class Where:
    """What a defect may edit: the tables before they are written, the workbooks, the stages' files."""

    tables: Tables
    inputs: Path
    work: Path

    def file(self, stage: str, name: str) -> Path:
        return self.work / stage / name


def run_month(
    where: Where, params: dict, start: str = "ingest", defect: Callable | None = None, at: str = "workbook"
) -> tuple[list[CheckResult], list[str]]:
    """The gates' results from ``start`` on, and the stages whose gate ran. Only the case's
    parameters are passed: the gates' own defaults (1 % of lost sales, 5 % of orphans) are those
    under test."""
    results, gated = [], []
    for stage in STAGES[STAGES.index(start) :]:
        inputs = stage_inputs(stage, where.inputs, where.work)
        if defect and at == f"input:{stage}":
            defect(where)
        if not (defect and at == f"output:{stage}"):  # else: the stage already wrote its files
            try:
                run_stage(stage, inputs, where.work / stage)
            except DataRejected as rejected:  # ingest's contract checks, while reading
                return results + rejected.results, gated + [stage]
        if defect and at == f"output:{stage}":
            defect(where)
        stage_results = pipeline.check_stage(stage, {} if stage == "ingest" else inputs, where.work / stage, params)
        results += stage_results
        gated.append(stage)
        if any(r.blocking for r in stage_results):
            break
    return results, gated


def write_tables(tables: Tables, folder: Path, names=pipeline.TABLES) -> None:
    for name in names:
        write_workbook(folder / f"{name}.xlsx", *tables[name])


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory) -> dict[str, tuple[Path, list[CheckResult]]]:
    """Each base month run once, every stage and gate: its folder (workbooks in ``in/``, stage
    files in ``work/``) and its results, for the cases planted after ingest to start from."""
    runs = {}
    for name, build in BASES.items():
        root = tmp_path_factory.mktemp(name)
        where = Where(build(), root / "in", root / "work")
        write_tables(where.tables, where.inputs)
        results, _ = run_month(where, {})
        runs[name] = (root, results)
    return runs


# --- editing the files the stages exchange --------------------------------------------------------


def edit_parquet(path: Path, edit: Callable[[list[dict]], list[dict] | None]) -> None:
    """Rewrite a stage's Parquet file with ``edit`` applied to its rows (dicts; edited in place, or
    returned), schema and provenance kept."""
    table, provenance = read_parquet(path)
    rows = table.to_pylist()
    rows = edit(rows) or rows
    write_parquet(pa.Table.from_pylist(rows, schema=table.schema), path, provenance)


def cast_parquet(path: Path, column: str, kind: pa.DataType) -> None:
    table, provenance = read_parquet(path)
    index = table.schema.get_field_index(column)
    write_parquet(table.set_column(index, column, table[column].cast(kind)), path, provenance)


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    data = read_json(path)
    edit(data)
    write_json(data, path)


def edit_extracts(folder: Path, edit: Callable[[list[dict], list[dict]], None], french_only: bool = False) -> None:
    """Edit the premium and ordinary extracts' rows (dicts with the machine headers), in every form
    the classify stage wrote them (the French deliverable, and machine/ when there), or in the
    French one only."""
    names = (pipeline.labels_fr.PREMIUM_FILE, pipeline.labels_fr.ORDINARY_FILE)
    copies = [
        [
            p
            for p in (folder / n, folder / "machine" / n)
            if p.is_file() and not (french_only and p.parent.name == "machine")
        ]
        for n in names
    ]
    tables = [extracts.read_extract(paths[0]) for paths in copies]
    rows = [t.to_pylist() for t in tables]
    edit(*rows)
    form = getattr(extracts, "extract_form", None)  # the extracts may come in two forms
    for paths, table, edited in zip(copies, tables, rows):
        for path in paths:
            new = pa.Table.from_pylist(edited, schema=table.schema)
            extracts.write_extract(path, new, *([form(path)] if form else []))


def by_id(rows: list[dict], product_id: str) -> dict:
    return next(r for r in rows if r["product_id"] == product_id)


# --- the cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    gate: str  # the id of the gate that must fail
    defect: Callable[[Where], None]  # plants the defect (commented where it is defined)
    observed: Any  # the gate's observed value, computed by hand (a dict: the keys given must match)
    expected: Any  # the gate's expected value
    at: str = "workbook"  # where the defect is planted (module docstring)
    name: str = ""  # when a gate has several cases: what this one shows
    also: tuple[str, ...] = ()  # warnings the defect also raises further down the run (said why)
    base: str = "month"
    params: dict = field(default_factory=dict)
    words: str = ""  # in the French message

    @property
    def id(self) -> str:
        return f"{self.gate}[{self.name}]" if self.name else self.gate


def on(edit: Callable[[Tables], Any]) -> Callable[[Where], None]:
    """A defect written as an edit of the tables (the workbooks edited are written again)."""

    def defect(w: Where) -> None:
        edit(w.tables)

    return defect


def each(table: str, column: str, value) -> Callable[[Where], None]:
    """``column`` set to ``value`` on every row of ``table`` holding a value there."""

    def edit(t: Tables) -> None:
        i = t[table][0].index(column)
        for r in t[table][1]:
            if r[i] is not None:
                r[i] = value(r[i]) if callable(value) else value

    return on(edit)


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


# Defects after ingest. Each function plants one; its comment says what a user or a bug did.


def tamper_rows(path_of: Callable[[Where], Path], edit: Callable[[list[dict]], list[dict] | None]):
    def defect(w: Where) -> None:
        edit_parquet(path_of(w), edit)

    return defect


def set_where(key: str, value, column: str, new) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        next(r for r in rows if r[key] == value)[column] = new

    return edit


def clean_file(name: str) -> Callable[[Where], Path]:
    return lambda w: w.file("clean", f"{name}.parquet")


def ingest_file(name: str) -> Callable[[Where], Path]:
    return lambda w: w.file("ingest", f"{name}.parquet")


def products_file(w: Where) -> Path:
    return w.file("merge", "products.parquet")


def revenue_file(w: Where) -> Path:
    return w.file("report", "revenue.parquet")


def swap_revenue(a: str, b: str) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        ra, rb = by_id(rows, a), by_id(rows, b)
        ra["revenue_eur"], rb["revenue_eur"] = rb["revenue_eur"], ra["revenue_eur"]

    return edit


def move(product_id: str, source: str) -> Callable[[Where], None]:
    """A wine written in the other extract (source: 'premium' or 'ordinary')."""

    def defect(w: Where) -> None:
        def edit(premium: list[dict], ordinary: list[dict]) -> None:
            take, give = (premium, ordinary) if source == "premium" else (ordinary, premium)
            wine = by_id(take, product_id)
            take.remove(wine)
            give.append(wine)

        edit_extracts(w.work / "classify", edit)

    return defect


def in_ordinary(edit: Callable[[list[dict]], None], french_only: bool = False) -> Callable[[Where], None]:
    def defect(w: Where) -> None:
        edit_extracts(w.work / "classify", lambda premium, ordinary: edit(ordinary), french_only)

    return defect


def swap_z(a: str, b: str) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        ra, rb = by_id(rows, a), by_id(rows, b)
        ra["z_score"], rb["z_score"] = rb["z_score"], ra["z_score"]

    return edit


def repriced(product_id: str, price: str, z: float) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        wine = by_id(rows, product_id)
        kind = Decimal if isinstance(wine["prix_eur"], Decimal) else float  # as the reader gives it
        wine["prix_eur"], wine["z_score"] = kind(price), z

    return edit


def delete_link(*product_ids: int) -> Callable[[Where], None]:
    def edit(t: Tables) -> None:
        t["liaison"][1][:] = [r for r in t["liaison"][1] if r[0] not in product_ids]

    return on(edit)


LOST_OVER = "Ventes perdues au-delà du plafond de 1 %"
LOST_UNDER = "Ventes hors rapport, sous le plafond de 1 %"
DANGLING = "merge.orphans.links_to_missing_web_product"  # the link of a web row the cleaning removed
UNLINKED = "merge.orphans.web_products_unlinked"

GATE_CASES = [
    # --- ingest, on the Parquet files it wrote (a bug of the stage, or a file altered after it)
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
    # --- clean
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
    # --- merge
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
    # --- report
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
    # --- classify
    # a wine under another product id in the ordinary extract: one absent, one unknown
    Case(
        "classify.partition.complete_and_disjoint",
        in_ordinary(lambda rows: by_id(rows, "4004").__setitem__("product_id", "4099")),
        2,
        0,
        at="output:classify",
    ),
    # the wine at z = 2 exactly written in the premium extract (premium is z > 2)
    Case("classify.premium.above_threshold", move("4019", "ordinary"), 1, 0, at="output:classify", words="4019"),
    # the wine at z = 2.05 written in the ordinary extract (which leaves no premium wine: the warning)
    Case(
        "classify.ordinary.at_or_below_threshold",
        move("4020", "premium"),
        1,
        0,
        at="output:classify",
        also=("classify.premium.not_empty",),
        words="4020",
    ),
    # the z-scores of the 60 and 63 EUR wines swapped: the set of z-scores is unchanged (2 wines, each
    # in both forms of the extract: 4 rows)
    Case("classify.zscore.recomputed", in_ordinary(swap_z("4001", "4003")), 4, 0, at="output:classify"),
    # a wine's name changed in the French extract only: the machine/ form, for other teams' programs,
    # no longer says the same
    Case(
        "classify.extracts.machine_form_matches",
        in_ordinary(lambda rows: by_id(rows, "4010").__setitem__("nom_du_vin", "Cuvée 4011"), french_only=True),
        1,
        0,
        at="output:classify",
        words="4010",
    ),
    # the 95 EUR wine (z = -0.25) written at 96 EUR with the z-score that goes with it, -0.2: each line
    # agrees with its own price, but the z-scores no longer average 0 (0.05 / 20 = 0.0025)
    Case(
        "classify.zscore.standardized",
        in_ordinary(repriced("4004", "96.00", -0.2)),
        {"moyenne": pytest.approx(0.0025)},
        {"moyenne": 0, "ecart_type": 1},
        at="output:classify",
    ),
    # the premium wine's price typed 14.10 instead of 141: no wine above the cut-off
    Case(
        "classify.premium.not_empty",
        on(lambda t: cell(t, "erp", 4020, "price", 14.1)),
        0,
        "> 0",
        words="aucun prix ne dépasse le prix seuil",
    ),
]


# --- the final step's gates, against the earlier published months (checks/compare.py) --------------
# Warnings computed from the comparison the final step builds (history.compare), called here on a
# comparison written by hand: this month (98,000.00 EUR, the 20 wines) against 2026-09.


def compare_params() -> dict:
    """The month against 2026-09: 75,384.62 EUR (this month is +30.00 %, exactly the CA drift
    limit) and 25 wines, these 20 and 5 no longer sold (20 %: exactly the products-lost limit)."""
    previous = {str(pid): (f"Cuvée {pid}", pid == 4020) for pid, *_ in WINES}
    previous |= {str(pid): (f"Cuvée {pid}", False) for pid in range(4101, 4106)}
    comparison = {
        "previous_period": "2026-09",
        "previous_ca_total": 75384.62,
        "ca_change": 22615.38,
        "ca_change_pct": 30.0,
        "products_lost": 5,
        "products_lost_share": 0.2,
        "products_lost_ids": [str(pid) for pid in range(4101, 4106)],
        "history_unreadable": {},
    }
    return {
        "comparison": comparison,
        "period": PERIOD,
        "ca_total": 98000.0,
        "previous": PeriodFacts("2026-09", Decimal("75384.62"), 25, 1, previous),
    }


def a_month_lower(params: dict) -> None:
    """2026-09 at 75,360.00 EUR: this month is +30.04 %."""
    params["comparison"].update(previous_ca_total=75360.0, ca_change=22640.0, ca_change_pct=30.04)


def one_more_wine_gone(params: dict) -> None:
    """2026-09 had a 26th wine, gone too: 6 of 26 (23.08 %)."""
    params["previous"].wines["4106"] = ("Cuvée 4106", False)
    params["comparison"].update(
        products_lost=6, products_lost_share=round(6 / 26, 4), products_lost_ids=[str(pid) for pid in range(4101, 4107)]
    )


COMPARE_CASES = [
    Case(
        "compare.ca.drift_within_limit",
        a_month_lower,
        {"mois_compare": "2026-09", "variation": 0.3004, "ca_precedent": 75360.0, "ca": 98000.0},
        "|variation| ≤ 30\u00a0%",
        at="compare",
        words="soit une hausse de 30,04\u00a0%",
    ),
    Case(
        "compare.products.lost_within_limit",
        one_more_wine_gone,
        {"mois_compare": "2026-09", "produits_perdus": 6, "produits_mois_compare": 26, "part": 0.2308},
        "part perdue ≤ 20\u00a0%",
        at="compare",
        words="6 des 26 produits",
    ),
    Case(
        "compare.history.readable",  # a month folder without its summary
        lambda params: params["comparison"]["history_unreadable"].update({"2026-08": "run_summary.json absent"}),
        {"2026-08": "run_summary.json absent"},
        {},
        at="compare",
        words="2026-08 (run_summary.json absent)",
    ),
]

CASES = contract_cases() + GATE_CASES + COMPARE_CASES


def registered_gates() -> dict[str, str]:
    """Every gate id a run can report, with its severity: the registry's, and each contract check
    of ingest for every table and column it applies to."""
    gates = {g.id: g.severity for stage_gates in REGISTRY.values() for g in stage_gates}
    for table, contract in CONTRACTS.items():
        for check, (severity, _, _) in CONTRACT_CHECKS.items():
            if "<column>" not in check:
                gates[f"ingest.{table}.{check}"] = severity
                continue
            for column in contract.columns:
                applies = {
                    "<column>.type": column.kind in LIMITS,
                    "<column>.range": column.kind in LIMITS,
                    "<column>.not_null": not column.nullable,
                    "<column>.allowed_values": bool(column.allowed),
                }[check]
                if applies:
                    gates[f"ingest.{table}.{check.replace('<column>', column.name)}"] = severity
    return gates


# --- the tests --------------------------------------------------------------------------------------


def test_the_package_under_test_is_this_checkout():
    """conftest.py puts this checkout's namespace_files first: a second clone tests its own code."""
    assert Path(bottleneck_pipeline.__file__).resolve().is_relative_to(REPO / "namespace_files")


def test_every_gate_has_a_case():
    gates = registered_gates()
    covered = {c.gate for c in CASES}
    assert sorted(set(gates) - covered) == [], "registered gates without a case in tests/test_gates.py"
    assert sorted(covered - set(gates)) == [], "cases for gates that are not registered"
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_base_months_pass_every_gate(base_runs):
    for name, (_, results) in base_runs.items():
        assert [r.id for r in results if not r.passed] == [], name
        assert {r.stage for r in results} == set(STAGES), name


def test_every_gate_a_run_reports_is_registered(base_runs):
    _, results = base_runs["month"]
    assert {r.id for r in results} <= set(registered_gates())


def test_the_base_month_is_classified_at_the_z_boundary(base_runs):
    """The 140 EUR wine has z = 2 exactly: ordinary; the 141 EUR wine, z = 2.05: premium."""
    root, _ = base_runs["month"]
    folder = root / "work" / "classify"
    premium = extracts.read_extract(folder / pipeline.labels_fr.PREMIUM_FILE).to_pylist()
    ordinary = extracts.read_extract(folder / pipeline.labels_fr.ORDINARY_FILE).to_pylist()
    assert [(w["product_id"], w["z_score"]) for w in premium] == [("4020", pytest.approx(2.05, abs=0.005))]
    assert by_id(ordinary, "4019")["z_score"] == pytest.approx(2.0, abs=0.005) and len(ordinary) == 19


def json_value(value):
    return json.loads(json.dumps(value, default=str))


def matches(actual, wanted) -> bool:
    """``wanted`` as written in the case: a dict gives the keys that must match."""
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return all(key in actual and matches(actual[key], value) for key, value in wanted.items())
    return actual == wanted


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_gate_fails_alone(case: Case, base_runs, tmp_path):
    severity = registered_gates()[case.gate]
    root, base_results = base_runs[case.base]
    stage = case.at.split(":")[1] if ":" in case.at else "ingest"
    if case.at == "compare":  # the final step's gates, on the comparison with the earlier months
        params = compare_params()
        case.defect(params)
        results, gated = run_checks("compare", CheckContext(None, {}, params)), ["compare"]
    elif case.at == "workbook":
        where = Where(BASES[case.base](), tmp_path / "in", tmp_path / "work")
        write_tables(where.tables, where.inputs)
        pristine = copy.deepcopy(where.tables)
        case.defect(where)
        write_tables(where.tables, where.inputs, [n for n in pipeline.TABLES if where.tables[n] != pristine[n]])
        results, gated = run_month(where, case.params)
    else:
        shutil.copytree(root, tmp_path / "copy")
        where = Where(BASES[case.base](), tmp_path / "copy" / "in", tmp_path / "copy" / "work")
        earlier = [r for r in base_results if STAGES.index(r.stage) < STAGES.index(stage)]
        results, gated = run_month(where, case.params, stage, case.defect, case.at)
        results = earlier + results

    failed = {r.id: r for r in results if not r.passed}
    assert sorted(failed) == sorted({case.gate, *case.also}), "other gates failed, or not this one"
    assert all(failed[g].severity == WARN for g in case.also)
    result = failed[case.gate]
    assert result.severity == severity and result.message
    assert matches(json_value(result.observed), case.observed), result.observed
    assert matches(json_value(result.expected), json_value(case.expected)), result.expected
    assert case.words in result.message
    if case.at == "compare":
        assert severity == WARN  # the comparison never stops a run
    elif severity == WARN:  # a warning does not stop the run: every stage ran and was gated
        assert gated == list(STAGES[STAGES.index(stage) :])
    else:
        assert result.blocking and gated[-1] == result.stage == stage_of(case.gate)


def stage_of(gate_id: str) -> str:
    return gate_id.split(".", 1)[0]


def test_the_compare_base_is_at_both_limits_and_passes():
    """Exactly +30 % of CA and exactly 20 % of the products lost: no warning (the limits are
    inclusive; one step above each, the cases above warn)."""
    results = run_checks("compare", CheckContext(None, {}, compare_params()))
    assert [r.id for r in results if not r.passed] == [] and len(results) == len(REGISTRY["compare"])


def test_the_run_defaults_are_the_documented_ceilings():
    """The runner and the command line pass these to the gates; the cases above check the gates'
    own defaults (1 % of the lost sales, 5 % of the products as orphans)."""
    from bottleneck_pipeline.runner import RunOptions

    options = RunOptions(Path("in"), Path("out"), PERIOD)
    assert (options.max_lost_share, options.max_orphan_share, options.z_threshold) == (0.01, 0.05, 2.0)
