"""Every gate proven able to fail, and to fail alone (issue 13): the meta-tests.

One case per registered gate (``checks.model.REGISTRY``) and per contract check of ingest
(``checks.ingest.CONTRACT_CHECKS``, for every table and column it applies to), in the file of the
gate's stage, as the package has one module per stage: tests/test_gates_<stage>.py (ingest, clean,
merge, report, classify, compare). The month built in tests/gate_month.py (20 wines, every figure
computed by hand there) passes every gate; each case plants exactly ONE defect in it and asserts
that THIS gate fails, with the observed and expected values written in the case, and that no other
gate does. A few defects also raise a warning further down the run (a link left dangling by a wine
the cleaning removed, for instance): those warnings are listed with the case, with the reason, and
must be warnings. ``test_every_gate_has_a_case`` fails when a gate is registered without a case.

Where a defect is planted:

- ``workbook``: in the month's workbooks, before the run (what a business user can get wrong);
- ``output:<stage>``: in the files a stage wrote, before its gate reads them (a bug of that stage:
  what the gates that guard against our own code are for; no workbook can provoke it);
- ``input:<stage>``: in the files a stage reads, after the previous gate passed them (the stage's
  Kestra subflow called alone by another team, on files no earlier gate saw).

Boundaries: the orphan ceiling at exactly 5 % and at the next possible share above it; the
lost-sales ceiling at exactly 1 % and just above, in units and in CA; a z-score of exactly 2 (not
premium) and of 2.05; join rows lost in the merge; an ERP duplicate that differs only in its stock.

The check queries live in ``sql/<stage>/checks/*.sql`` (checks/model.py): every such file opens
with a header naming the gate that uses it, and the gates that load it are exactly those.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

import bottleneck_pipeline
import test_gates_classify
import test_gates_clean
import test_gates_compare
import test_gates_ingest
import test_gates_merge
import test_gates_report
from bottleneck_pipeline import checks, pipeline
from bottleneck_pipeline.checks import REGISTRY
from bottleneck_pipeline.checks.model import ERROR, WARN, check_sql
from conftest import REPO
from gate_month import PERIOD, STAGES, registered_gates, stage_inputs, stage_of

CASE_FILES = {
    "ingest": test_gates_ingest,
    "clean": test_gates_clean,
    "merge": test_gates_merge,
    "report": test_gates_report,
    "classify": test_gates_classify,
    "compare": test_gates_compare,
}
CASES = [case for module in CASE_FILES.values() for case in module.CASES]
PACKAGE = Path(bottleneck_pipeline.__file__).parent
CHECK_FILES = sorted((PACKAGE / "sql").glob("*/checks/*.sql"))


def test_the_package_under_test_is_this_checkout():
    """conftest.py puts this checkout's namespace_files first: a second clone tests its own code."""
    assert Path(bottleneck_pipeline.__file__).resolve().is_relative_to(REPO / "namespace_files")


def test_every_gate_has_a_case():
    gates = registered_gates()
    covered = {c.gate for c in CASES}
    assert sorted(set(gates) - covered) == [], "registered gates without a case in tests/test_gates_<stage>.py"
    assert sorted(covered - set(gates)) == [], "cases for gates that are not registered"
    assert len({c.id for c in CASES}) == len(CASES)


def test_each_case_is_in_the_file_of_its_gates_stage():
    misplaced = [
        (stage, c.id) for stage, module in CASE_FILES.items() for c in module.CASES if stage_of(c.gate) != stage
    ]
    assert misplaced == []
    assert set(CASE_FILES) == set(REGISTRY), "a stage's gates without their case file"


def test_the_base_months_pass_every_gate(base_runs):
    for name, (_, results) in base_runs.items():
        assert [r.id for r in results if not r.passed] == [], name
        assert {r.stage for r in results} == set(STAGES), name


def test_every_gate_a_run_reports_is_registered(base_runs):
    _, results = base_runs["month"]
    assert {r.id for r in results} <= set(registered_gates())


def test_the_run_defaults_are_the_documented_ceilings():
    """The runner and the command line pass these to the gates; the cases check the gates' own
    defaults (1 % of the lost sales, 5 % of the products as orphans)."""
    from bottleneck_pipeline.runner import RunOptions

    options = RunOptions(Path("in"), Path("out"), PERIOD)
    assert (options.max_lost_share, options.max_orphan_share, options.z_threshold) == (0.01, 0.05, 2.0)


# --- the check queries as SQL files -------------------------------------------------------------------


def header(path: Path) -> dict[str, str]:
    """The comment block a check file opens with, by field: ``-- name: text`` starts a field (the
    first one is the file's own name), a line indented further continues it."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        field = re.fullmatch(r"-- ([a-z_/]+): (.+)", line)
        continued = re.fullmatch(r"--\s{2,}(\S.*)", line)
        assert field or (continued and fields), f"{path.name}: header line neither a field nor its continuation: {line}"
        if field:
            fields[field[1]] = field[2]
        else:
            fields[list(fields)[-1]] += " " + continued[1]
    return fields


def relative(path: Path) -> str:
    """'clean/checks/erp_no_negative_price', as check_sql names it."""
    return path.relative_to(PACKAGE / "sql").with_suffix("").as_posix()


def declared_gates(path: Path) -> set[str]:
    fields = header(path)
    text = fields.get("gate") or fields.get("gates") or ""
    return set(re.findall(r"\b(?:ingest|clean|merge|report|classify|compare)\.[a-z_]+(?:\.[a-z_]+)*", text))


def test_there_are_check_sql_files_for_the_four_stages_after_ingest():
    assert {path.parts[-3] for path in CHECK_FILES} == {"clean", "merge", "report", "classify"}


@pytest.mark.parametrize("path", CHECK_FILES, ids=[relative(p) for p in CHECK_FILES])
def test_every_check_sql_file_has_a_header(path: Path):
    """What it returns (under its own name), the gate that uses it, why it matters, its grain and
    its inputs. One gate, or the error and warning pair that grade the same rows on either side of
    a ceiling (declared ``gates:``)."""
    fields = header(path)
    assert list(fields)[:1] == [relative(path)], "the header opens with the file's name and what it returns"
    assert ("gate" in fields) != ("gates" in fields) and {"why", "grain"} <= set(fields), sorted(fields)
    assert "input" in fields or "inputs" in fields, sorted(fields)
    gates = declared_gates(path)
    severities = registered_gates()
    assert gates and gates <= set(severities), f"unknown gate(s) {sorted(gates - set(severities))}"
    assert {stage_of(g) for g in gates} == {path.parts[-3]}, "a check file lives with the stage it guards"
    if "gate" in fields:
        assert len(gates) == 1
    else:
        assert sorted(severities[g] for g in gates) == [ERROR, WARN], "a pair: one error, one warning"
    # The gates wrap the query, ``select count(*) from (<file>)``: no terminator, no comment at its end.
    lines = path.read_text(encoding="utf-8").rstrip().splitlines()
    assert ";" not in "".join(line.split("--")[0] for line in lines) and "--" not in lines[-1]


def test_every_check_sql_file_is_loaded_by_exactly_the_gates_its_header_names(base_runs, tmp_path, monkeypatch):
    """Every gate of the base month run with the loader watched: each file under sql/*/checks/ is
    loaded, by the gate (or graded pair) its header names and by no other."""
    loaded: dict[str, set[str]] = {}
    running: list[str] = []
    original = check_sql

    def watched(stage: str, assertion: str) -> str:
        loaded.setdefault(f"{stage}/checks/{assertion}", set()).add(running[-1])
        return original(stage, assertion)

    def tracked(g):
        def run(ctx):
            running.append(g.id)
            return g.func(ctx)

        return replace(g, func=run)

    for module in vars(checks).values():
        if getattr(module, "check_sql", None) is original:
            monkeypatch.setattr(module, "check_sql", watched)
    for stage, gates in list(REGISTRY.items()):
        monkeypatch.setitem(REGISTRY, stage, [tracked(g) for g in gates])
    root, _ = base_runs["month"]
    shutil.copytree(root, tmp_path / "month")
    work = tmp_path / "month" / "work"
    for stage in STAGES:
        inputs = {} if stage == "ingest" else stage_inputs(stage, tmp_path / "month" / "in", work)
        results = pipeline.check_stage(stage, inputs, work / stage, {})
        assert all(r.passed for r in results), stage
    assert sorted(loaded) == [relative(p) for p in CHECK_FILES], "a check file no gate loads, or a missing one"
    assert {name: loaded[name] for name in sorted(loaded)} == {relative(p): declared_gates(p) for p in CHECK_FILES}


def test_the_package_data_rule_ships_every_sql_file():
    """pyproject.toml's package-data patterns (setuptools globs them recursively, as pathlib does)
    cover every SQL file of the package, the check files in sql/<stage>/checks/ included."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bottleneck_pipeline"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    assert set(PACKAGE.rglob("*.sql")) <= shipped and set(CHECK_FILES) <= shipped
