"""The month every gate test starts from, how it runs, and how a case plants its defect.

Shared by tests/test_gates.py (the meta-tests: every gate has a case, every check SQL file is
used) and the per-stage case files tests/test_gates_<stage>.py, which it mirrors the package's
checks/<stage>.py with. tests/test_gates.py's docstring says how the cases are built.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pytest

from bottleneck_pipeline import checks, extracts, pipeline
from bottleneck_pipeline.checks import REGISTRY
from bottleneck_pipeline.checks.ingest import CONTRACT_CHECKS
from bottleneck_pipeline.checks.model import WARN, CheckResult
from bottleneck_pipeline.contracts import CONTRACTS, LIMITS
from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.storage import read_json, read_parquet, write_json, write_parquet
from conftest import write_workbook

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


_BASE_RUNS: dict[str, tuple[Path, list[CheckResult]]] = {}


def base_months(tmp_path_factory) -> dict[str, tuple[Path, list[CheckResult]]]:
    """Each base month run once per test session, every stage and gate: its folder (workbooks in
    ``in/``, stage files in ``work/``) and its results, for the cases planted after ingest to
    start from. Every case file's ``base_runs`` fixture returns these (cases copy them, never
    edit them)."""
    if not _BASE_RUNS:
        for name, build in BASES.items():
            root = tmp_path_factory.mktemp(name)
            where = Where(build(), root / "in", root / "work")
            write_tables(where.tables, where.inputs)
            results, _ = run_month(where, {})
            _BASE_RUNS[name] = (root, results)
    return _BASE_RUNS


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


DANGLING = "merge.orphans.links_to_missing_web_product"  # the link of a web row the cleaning removed
UNLINKED = "merge.orphans.web_products_unlinked"


# --- checking a case ------------------------------------------------------------------------------


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


def json_value(value):
    return json.loads(json.dumps(value, default=str))


def matches(actual, wanted) -> bool:
    """``wanted`` as written in the case: a dict gives the keys that must match."""
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return all(key in actual and matches(actual[key], value) for key, value in wanted.items())
    return actual == wanted


def stage_of(gate_id: str) -> str:
    return gate_id.split(".", 1)[0]


def run_case(case: Case, base_runs: dict, tmp_path: Path) -> tuple[list[CheckResult], list[str]]:
    """The month with the case's defect planted where the case says: every gate's result, and the
    stages whose gate ran."""
    root, base_results = base_runs[case.base]
    stage = case.at.split(":")[1] if ":" in case.at else "ingest"
    if case.at == "workbook":
        where = Where(BASES[case.base](), tmp_path / "in", tmp_path / "work")
        write_tables(where.tables, where.inputs)
        pristine = copy.deepcopy(where.tables)
        case.defect(where)
        write_tables(where.tables, where.inputs, [n for n in pipeline.TABLES if where.tables[n] != pristine[n]])
        return run_month(where, case.params)
    shutil.copytree(root, tmp_path / "copy")
    where = Where(BASES[case.base](), tmp_path / "copy" / "in", tmp_path / "copy" / "work")
    earlier = [r for r in base_results if STAGES.index(r.stage) < STAGES.index(stage)]
    results, gated = run_month(where, case.params, stage, case.defect, case.at)
    return earlier + results, gated


def assert_fails_alone(case: Case, results: list[CheckResult], gated: list[str]) -> None:
    """This gate fails, with the case's observed and expected values and words, and no other gate
    does but the warnings the case lists; an error stops the run at its stage, a warning does not."""
    severity = registered_gates()[case.gate]
    stage = case.at.split(":")[1] if ":" in case.at else "ingest"
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


def fails_alone_test(cases: list[Case]):
    """The test every tests/test_gates_<stage>.py declares over its cases (the ``base_runs``
    fixture: tests/conftest.py)."""

    @pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])
    def test_the_gate_fails_alone(case: Case, base_runs, tmp_path):
        assert_fails_alone(case, *run_case(case, base_runs, tmp_path))

    return test_the_gate_fails_alone
