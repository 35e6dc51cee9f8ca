"""The table of stages (pipeline.STAGE_TABLE) is the one place the stages are listed: the command
line and the local runner both dispatch from it, with the files and parameters written here by hand
(the Kestra wiring is compared with it in test_flows.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bottleneck_pipeline import pipeline, runner
from bottleneck_pipeline.checks import REGISTRY, catalogue_markdown
from bottleneck_pipeline.cli import main
from bottleneck_pipeline.runner import RunOptions

TABLES = ("erp", "web", "liaison")


def test_the_table_lists_the_method_in_order():
    assert pipeline.STAGES == ("ingest", "clean", "merge", "report", "classify")
    assert pipeline.TABLES == TABLES
    table = pipeline.STAGE_TABLE
    assert [table[s].source for s in pipeline.STAGES] == [None, "ingest", "clean", "merge", "report"]
    assert [table[s].params for s in pipeline.STAGES] == [(), (), (), ("period", "z_threshold"), ("z_threshold",)]
    assert table["classify"].outputs == (
        "vins_premium.csv",
        "vins_ordinaires.csv",
        "machine/vins_premium.csv",
        "machine/vins_ordinaires.csv",
    )
    for stage in table.values():  # every input is a file its source stage writes
        if stage.source is not None:
            assert {f"{name}.parquet" for name in stage.inputs} <= set(table[stage.source].outputs), stage.name


def test_where_each_stage_reads_in_a_local_run():
    inputs, work = Path("in"), Path("work")
    assert runner.stage_inputs("ingest", inputs, work) == {t: Path(f"in/{t}.xlsx") for t in TABLES}
    assert runner.stage_inputs("merge", inputs, work) == {t: Path(f"work/clean/{t}.parquet") for t in TABLES}
    assert runner.stage_inputs("report", inputs, work) == {"products": Path("work/merge/products.parquet")}
    assert runner.stage_inputs("classify", inputs, work) == {"revenue": Path("work/report/revenue.parquet")}
    assert pipeline.stage_writing("rapport_ca.xlsx") == "report"
    assert pipeline.stage_writing("machine/vins_ordinaires.csv") == "classify"


@pytest.fixture
def recorded(monkeypatch) -> list[tuple[str, dict]]:
    """Every stage's function replaced by one that records how it was called."""
    calls: list[tuple[str, dict]] = []

    def recorder(stage: str):
        def run(**kwargs):
            calls.append((stage, kwargs))
            return {"rows_in": 3, "rows_out": 2, "seconds": 0.0}

        return run

    table = {name: dataclasses.replace(spec, run=recorder(name)) for name, spec in pipeline.STAGE_TABLE.items()}
    monkeypatch.setattr(pipeline, "STAGE_TABLE", table)
    return calls


def test_the_stage_commands_dispatch_from_the_table(recorded, capsys):
    files = [arg for t in TABLES for arg in (f"--{t}", f"{t}.parquet")]
    assert main(["merge", *files, "--out-dir", "out"]) == 0
    assert main(["report", "--products", "p.parquet", "--period", "2026-11", "--out-dir", "out"]) == 0
    assert main(["classify", "--revenue", "r.parquet", "--z-threshold", "2.5", "--out-dir", "out"]) == 0
    assert recorded == [
        (
            "merge",
            {
                "erp": Path("erp.parquet"),
                "web": Path("web.parquet"),
                "liaison": Path("liaison.parquet"),
                "out_dir": Path("out"),
            },
        ),
        ("report", {"products": Path("p.parquet"), "period": "2026-11", "z_threshold": 2.0, "out_dir": Path("out")}),
        ("classify", {"revenue": Path("r.parquet"), "z_threshold": 2.5, "out_dir": Path("out")}),
    ]
    assert '"rows_out": 2' in capsys.readouterr().out  # the Kestra outputs
    with pytest.raises(SystemExit) as refused:  # a parameter merge does not take
        main(["merge", *files, "--out-dir", "out", "--period", "2026-11"])
    assert refused.value.code == 2
    with pytest.raises(SystemExit) as refused:  # ingest's gate takes no workbook: it reads its outputs
        main(["check", "ingest", "--erp", "erp.xlsx", "--out-dir", "out"])
    assert refused.value.code == 2


def test_the_runner_dispatches_from_the_same_table(recorded, monkeypatch, tmp_path):
    gates = []
    monkeypatch.setattr(pipeline, "check_stage", lambda *args: gates.append(args) or [])
    opts = RunOptions(tmp_path / "in", tmp_path / "out", "2026-11", z_threshold=2.5, max_lost_share=0.02)
    work = tmp_path / "work"
    manifest, results = runner._stage_with_gate("report", opts, work)
    assert manifest["rows_out"] == 2 and results == []
    inputs = {"products": work / "merge" / "products.parquet"}
    assert recorded == [("report", {**inputs, "period": "2026-11", "z_threshold": 2.5, "out_dir": work / "report"})]
    params = {"z_threshold": 2.5, "max_orphan_share": 0.05, "max_lost_share": 0.02}
    assert gates == [("report", inputs, work / "report", params)]


def test_the_gates_are_catalogued_in_the_method_order():
    assert list(REGISTRY) == ["ingest", "clean", "merge", "report", "classify", "compare"]
    ids = [line.split("`")[1] for line in catalogue_markdown().splitlines()[2:]]
    stages = [i.split(".")[0] for i in ids]
    assert stages == sorted(stages, key=[*pipeline.STAGES, "compare"].index)
    assert ids[0] == "ingest.<table>.file_present"  # the contract checks first (checks/ingest.py)
