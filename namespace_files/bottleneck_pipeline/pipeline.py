"""Each stage at file level, and the table of stages (``STAGE_TABLE``) that drives them.

This is the one code path behind both runners: a Kestra ``python.Commands`` task calls a stage
through the command line (cli.py), and the local runner (runner.py) calls the same functions in
order; both dispatch from ``STAGE_TABLE`` (what each stage reads, writes and takes, and how its
gate sees it). Each stage function reads its input files, opens a DuckDB connection for the stage
functions (stages/) to work in, writes its outputs and ``<stage>_manifest.json`` (rows in and out,
seconds, parameters, stage figures); ``check_stage`` runs the stage's gates on those files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from . import labels_fr
from .checks import CheckContext, run_checks
from .checks.model import CheckResult, blocking
from .contracts import CONTRACTS, TABLES
from .extracts import MACHINE_FILES, extract_table, machine_path, neutralise_text, register_extract, write_extracts
from .failures import DataRejected
from .report_workbook import Summary, write_report
from .stages import classify as classify_stage
from .stages import clean as clean_stage
from .stages import ingest as ingest_stage
from .stages import merge as merge_stage
from .stages import report as report_stage
from .storage import connect, read_json, read_parquet, sha256_file, write_json, write_parquet


def manifest_path(out_dir: Path, stage: str) -> Path:
    return out_dir / f"{stage}_manifest.json"


def quality_path(out_dir: Path, stage: str) -> Path:
    return out_dir / f"{stage}_checks.json"


def _finish(stage: str, out_dir: Path, started: float, rows_in: int, rows_out: int, **extra) -> dict:
    manifest = {
        "stage": stage,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "seconds": round(time.perf_counter() - started, 3),
        "outputs": list(STAGE_TABLE[stage].outputs),
        **extra,
    }
    write_json(manifest, manifest_path(out_dir, stage))
    return manifest


# --- the five stages ---------------------------------------------------------------------------


def ingest(erp: Path, web: Path, liaison: Path, out_dir: Path) -> dict:
    started = time.perf_counter()
    con = connect()
    paths = {"erp": Path(erp), "web": Path(web), "liaison": Path(liaison)}
    tables, results, sources = {}, [], {}
    for name, path in paths.items():
        path = ingest_stage.resolve(path)  # 'ERP.xlsx' for erp.xlsx: the provenance names the real file
        table, table_results = ingest_stage.ingest_workbook(con, path, CONTRACTS[name])
        results += table_results
        if table is not None:
            tables[name] = table
            sources[name] = {"file": path.name, "sha256": sha256_file(path), "rows": table.num_rows}
    if blocking(results):
        raise DataRejected(
            _rejection_message("ingest", results),
            stage="ingest",
            results=results,
            hint="Corrigez le ou les classeurs cités, puis relancez le mois.",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_parquet(table, out_dir / f"{name}.parquet", {"sources": sources})
    rows = sum(t.num_rows for t in tables.values())
    return _finish(
        "ingest", out_dir, started, rows, rows, sources=sources, contract_checks=[r.to_dict() for r in results]
    )


def clean(erp: Path, web: Path, liaison: Path, out_dir: Path) -> dict:
    started = time.perf_counter()
    ingested, provenance = _read_tables({"erp": erp, "web": web, "liaison": liaison})
    cleaned, removed = clean_stage.clean(connect(), ingested)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in cleaned.items():
        write_parquet(table, out_dir / f"{name}.parquet", provenance)
    return _finish(
        "clean",
        out_dir,
        started,
        sum(t.num_rows for t in ingested.values()),
        sum(t.num_rows for t in cleaned.values()),
        removed=removed,
        kept={name: t.num_rows for name, t in cleaned.items()},
    )


def merge(erp: Path, web: Path, liaison: Path, out_dir: Path) -> dict:
    started = time.perf_counter()
    cleaned, provenance = _read_tables({"erp": erp, "web": web, "liaison": liaison})
    products = merge_stage.merge(connect(), cleaned)
    write_parquet(products, out_dir / "products.parquet", provenance)
    return _finish(
        "merge",
        out_dir,
        started,
        sum(t.num_rows for t in cleaned.values()),
        products.num_rows,
        inputs={name: t.num_rows for name, t in cleaned.items()},
    )


def report(products: Path, period: str, z_threshold: float, out_dir: Path) -> dict:
    started = time.perf_counter()
    table, provenance = read_parquet(Path(products))
    revenue = report_stage.revenue_per_product(connect(), table)
    total = report_stage.total_revenue(revenue)
    # The summary sheet shows the classification too: same functions as the classify stage.
    classified, stats = classify_stage.classify(revenue, z_threshold)
    premium = classified.filter(classified["is_premium"])
    ordinary = classified.filter(pc.invert(classified["is_premium"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(revenue, out_dir / "revenue.parquet", provenance)
    summary = Summary(
        period=period,
        ca_total=total,
        products=revenue.num_rows,
        premium_count=premium.num_rows,
        premium_ca=report_stage.total_revenue(premium),
        ordinary_count=ordinary.num_rows,
        ordinary_ca=report_stage.total_revenue(ordinary),
        z_threshold=z_threshold,
        price_mean=stats.mean,
        price_std=stats.std,
        cutoff_price=classify_stage.premium_cutoff_price(stats, z_threshold),
        generated_at=datetime.now(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S %Z"),
        sources=provenance.get("sources", {}),
    )
    # The product sheet shows each wine's z-score and class too (what the extracts split on).
    wine_class = pc.if_else(classified["is_premium"], labels_fr.CLASS_LABELS[True], labels_fr.CLASS_LABELS[False])
    rows = classified.drop_columns(["is_premium"]).append_column("wine_class", wine_class)
    tmp = out_dir / (labels_fr.REPORT_FILE + ".tmp")
    write_report(tmp, rows, summary)
    tmp.replace(out_dir / labels_fr.REPORT_FILE)
    return _finish(
        "report",
        out_dir,
        started,
        table.num_rows,
        revenue.num_rows,
        period=period,
        ca_total=str(total),
        sources=summary.sources,
    )


def classify(revenue: Path, z_threshold: float, out_dir: Path) -> dict:
    started = time.perf_counter()
    table, _ = read_parquet(Path(revenue))
    classified, stats = classify_stage.classify(table, z_threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    premium = extract_table(classified, True)
    ordinary = extract_table(classified, False)
    write_extracts(out_dir, premium, ordinary)  # French (deliverables) and machine/ forms
    return _finish(
        "classify",
        out_dir,
        started,
        table.num_rows,
        premium.num_rows + ordinary.num_rows,
        z_threshold=z_threshold,
        premium_count=premium.num_rows,
        ordinary_count=ordinary.num_rows,
        price={
            "mean": stats.mean,
            "std": stats.std,
            "std_kind": "population (ddof=0)",
            "premium_cutoff_eur": classify_stage.premium_cutoff_price(stats, z_threshold),
        },
    )


def _read_tables(paths: dict[str, Path]) -> tuple[dict[str, pa.Table], dict]:
    tables: dict[str, pa.Table] = {}
    provenance: dict = {}
    for name, path in paths.items():
        tables[name], provenance = read_parquet(Path(path))
    return tables, provenance


# --- the table of stages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One stage of the method, as the local runner and the command line both drive it."""

    name: str
    inputs: tuple[str, ...]  # the tables it reads, one file each: keyword arguments, --<table> options
    source: str | None  # the stage whose output folder holds them (<table>.parquet); None: the workbooks (.xlsx)
    outputs: tuple[str, ...]  # the files it writes into its output folder
    params: tuple[str, ...]  # what it takes besides its files and output folder
    run: Callable[..., dict]  # the function above: writes the outputs and the manifest
    gate_input_prefix: str | None  # its gate's name for an input table: prefix + table; None: outputs only

    def input_files(self, input_dir: Path, work: Path) -> dict[str, Path]:
        """Where it reads in a run: the workbooks of ``input_dir``, or its source's folder in ``work``."""
        if self.source is None:
            return {name: input_dir / f"{name}.xlsx" for name in self.inputs}
        return {name: work / self.source / f"{name}.parquet" for name in self.inputs}


PARQUET_TABLES = tuple(f"{table}.parquet" for table in TABLES)

STAGE_TABLE: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage(
            "ingest",
            inputs=TABLES,
            source=None,
            outputs=PARQUET_TABLES,
            params=(),
            run=ingest,
            gate_input_prefix=None,  # the workbooks were checked while read (the contract checks)
        ),
        Stage(
            "clean",
            inputs=TABLES,
            source="ingest",
            outputs=PARQUET_TABLES,
            params=(),
            run=clean,
            gate_input_prefix="ingest_",
        ),
        Stage(
            "merge",
            inputs=TABLES,
            source="clean",
            outputs=("products.parquet",),
            params=(),
            run=merge,
            gate_input_prefix="clean_",
        ),
        Stage(
            "report",
            inputs=("products",),
            source="merge",
            outputs=(labels_fr.REPORT_FILE, "revenue.parquet"),
            params=("period", "z_threshold"),
            run=report,
            gate_input_prefix="",
        ),
        Stage(
            "classify",
            inputs=("revenue",),
            source="report",
            outputs=(labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE, *MACHINE_FILES),
            params=("z_threshold",),
            run=classify,
            gate_input_prefix="",
        ),
    )
}
STAGES = tuple(STAGE_TABLE)  # the analyst's method, in order; the parent Kestra flow follows it (tested)

# The run's thresholds, handed to every gate (each reads those it needs); z_threshold None:
# the one the stage ran with.
GATE_PARAMS = ("z_threshold", "max_orphan_share", "max_lost_share")


def run_stage(stage: str, inputs: Mapping[str, Path], out_dir: Path, params: Mapping) -> dict:
    """Run one stage on its input files: ``params`` holds (at least) the parameters it takes."""
    spec = STAGE_TABLE[stage]
    return spec.run(**inputs, **{name: params[name] for name in spec.params}, out_dir=out_dir)


def stage_writing(file: str) -> str:
    """The stage whose output folder holds ``file`` (a deliverable, for instance)."""
    return next(stage.name for stage in STAGE_TABLE.values() if file in stage.outputs)


# --- gates -------------------------------------------------------------------------------------


def check_stage(stage: str, inputs: dict[str, Path], out_dir: Path, params: dict | None = None) -> list[CheckResult]:
    """Run a stage's gates on its files and write ``<stage>_checks.json`` next to its outputs."""
    con = connect()
    manifest = read_json(manifest_path(out_dir, stage))
    spec = STAGE_TABLE[stage]
    if spec.gate_input_prefix is None:
        inputs = {}  # this gate reads only the stage's outputs
    for name, path in inputs.items():
        table, _ = read_parquet(Path(path))
        if stage == "classify":  # the extracts hold their text neutralised (extracts.py): compare alike
            table = neutralise_text(table)
        con.register(f"{spec.gate_input_prefix}{name}", table)
    for output in spec.outputs:
        if output.endswith(".parquet"):
            table, _ = read_parquet(out_dir / output)
            con.register(output.removesuffix(".parquet"), table)
    params = dict(params or {})
    if stage == "classify":
        register_extract(con, "premium", out_dir / labels_fr.PREMIUM_FILE)
        register_extract(con, "ordinary", out_dir / labels_fr.ORDINARY_FILE)
        # The machine-readable form, when handed to the gate (always by the local runner; by
        # Kestra when classify_test receives the machine/ files), is checked against the French one.
        machine = [machine_path(out_dir, name) for name in (labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE)]
        params["machine_extracts"] = all(path.is_file() for path in machine)
        if params["machine_extracts"]:
            register_extract(con, "premium_machine", machine[0])
            register_extract(con, "ordinary_machine", machine[1])
    if params.get("z_threshold") is None:  # by default, judge with the threshold the stage used
        params["z_threshold"] = manifest.get("z_threshold")
    params["report_xlsx"] = out_dir / labels_fr.REPORT_FILE
    results = run_checks(stage, CheckContext(con, manifest, params))
    if stage == "ingest":  # what the contract found while reading belongs to this gate too
        results = [CheckResult.from_dict(r) for r in manifest.get("contract_checks", [])] + results
    write_json({"stage": stage, "results": [r.to_dict() for r in results]}, quality_path(out_dir, stage))
    return results


def raise_if_blocking(stage: str, results: list[CheckResult]) -> None:
    if blocking(results):
        raise DataRejected(
            _rejection_message(stage, results),
            stage=stage,
            results=results,
            hint="Corrigez les fichiers sources cités, puis relancez le mois.",
        )


def _rejection_message(stage: str, results: list[CheckResult]) -> str:
    label = labels_fr.STAGE_LABELS[stage]
    lines = [f"Étape {stage} ({label}) arrêtée par le contrôle qualité : rien n'a été publié."]
    lines += [f"- [{r.id}] {r.message}" for r in blocking(results)]
    return "\n".join(lines)
