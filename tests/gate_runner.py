"""Runs one registered gate by its id on small tables built in the test (the tests of the gates'
exact findings: offending rows, observed and expected values)."""

from __future__ import annotations

import importlib
import pkgutil

import pyarrow as pa

from bottleneck_pipeline import checks, storage
from bottleneck_pipeline.checks import CheckContext
from bottleneck_pipeline.checks.model import REGISTRY, CheckResult, evaluate

for _module in pkgutil.iter_modules(checks.__path__):  # every gate module registers its gates
    importlib.import_module(f"{checks.__name__}.{_module.name}")


def run_gate(gate_id: str, tables: dict[str, list[dict] | pa.Table | str], manifest=None, **params) -> CheckResult:
    """The gate ``gate_id`` on ``tables`` (name -> rows, an Arrow table, or a query: an empty
    table keeps its columns that way), with the stage's ``manifest`` and the run parameters ``params``."""
    params = {"z_threshold": 2.0, **params}  # the run always hands the threshold (default 2)
    con = storage.connect()
    for name, rows in tables.items():
        if isinstance(rows, str):
            con.execute(f"create temp view {name} as {rows}")
        else:
            con.register(name, rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows))
    found = [g for gates in REGISTRY.values() for g in gates if g.id == gate_id]
    assert len(found) == 1, f"{gate_id} is not registered once"
    return evaluate(found[0], found[0].func(CheckContext(con, manifest or {}, params)))
