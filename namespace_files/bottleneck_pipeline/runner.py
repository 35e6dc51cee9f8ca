"""The local runner: the five stages and their gates, in order, in one process, published
atomically. It calls exactly the functions the Kestra subflows call, from the same table of
stages (pipeline.STAGE_TABLE).

A run works in a hidden staging folder next to the output and moves the complete period folder
into place only when every gate passed. A failed run publishes nothing, leaves earlier outputs
untouched, and keeps its evidence (log, quality report, error) in ``_failed/``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from functools import partial
from datetime import datetime
from pathlib import Path
from typing import Callable

from . import pipeline
from .checks.compare import DEFAULT_MAX_CA_DRIFT, DEFAULT_MAX_PRODUCTS_LOST
from .checks.model import CheckResult, summary_fr
from .failures import DataRejected, InfrastructureFailure, UsageError, as_pipeline_error
from .history import PERIOD  # noqa: F401  (YYYY-MM, matched whole; cli imports it from here)
from .logs import RunLog
from .publish import DELIVERABLES, QUALITY_FILE, finalize, publish, quality_report, recover_interrupted_publish
from .storage import write_json

FAILED_DIR = "_failed"
RUN_LOG = "run.log"


@dataclass
class RunOptions:
    input_dir: Path
    output_dir: Path
    period: str
    z_threshold: float = 2.0
    max_orphan_share: float = 0.05
    retries: int = 2  # extra attempts for infrastructure failures only
    retry_delay: float = 2.0  # seconds before the first retry; doubles each time
    max_lost_share: float = 0.01  # of the units sold and of the CA allowed not to reach the report
    history: Path | None = None  # earlier published periods; None: the output root itself
    max_ca_drift: float = DEFAULT_MAX_CA_DRIFT  # CA move against the previous month that warns
    max_products_lost: float = DEFAULT_MAX_PRODUCTS_LOST  # share of last month's products that warns

    @property
    def history_dir(self) -> Path:
        return self.output_dir if self.history is None else self.history


def validate(opts: RunOptions) -> None:
    if not PERIOD.fullmatch(opts.period):
        raise UsageError(f"period {opts.period!r} is not YYYY-MM (e.g. 2026-11)")
    existing = next((p for p in (opts.output_dir, *opts.output_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(
            f"output {opts.output_dir}: {existing} is a file, not a folder; give a folder (created when missing)"
        )
    if not 0 < opts.z_threshold < 100:
        raise UsageError(f"z threshold {opts.z_threshold} must be a positive number")
    if not 0 <= opts.max_orphan_share <= 1:
        raise UsageError(f"max orphan share {opts.max_orphan_share} must be between 0 and 1")
    if not 0 <= opts.max_lost_share <= 1:
        raise UsageError(f"max lost share {opts.max_lost_share} must be between 0 and 1")
    if not opts.max_ca_drift >= 0:
        raise UsageError(f"max CA drift {opts.max_ca_drift} must be a share >= 0 (0.30 = 30 %)")
    if not 0 <= opts.max_products_lost <= 1:
        raise UsageError(f"max products lost {opts.max_products_lost} must be between 0 and 1")


def check_input_dir(opts: RunOptions) -> None:
    """An unreachable drop folder (unmounted share...) is infrastructure: often transient."""
    if not opts.input_dir.is_dir():
        raise InfrastructureFailure(
            f"Dossier d'entrée inaccessible : {opts.input_dir}",
            stage="ingest",
            hint="Vérifiez que le dossier de dépôt est monté et accessible, puis relancez.",
        )


def with_retries(stage: str, action: Callable[[], object], opts: RunOptions, log: RunLog):
    """Retry infrastructure failures with exponential backoff; never retry a data rejection."""
    for attempt in range(opts.retries + 1):
        try:
            return action()
        except Exception as raw:  # noqa: BLE001 - sorted into the taxonomy right here
            err = as_pipeline_error(raw, stage)
            if not isinstance(err, InfrastructureFailure) or attempt == opts.retries:
                raise err from raw
            delay = opts.retry_delay * 2**attempt
            log.event(
                stage,
                "retry",
                f"attempt {attempt + 1} failed ({err.message}); retrying in {delay:g} s",
                level="warning",
            )
            time.sleep(delay)


def run(opts: RunOptions, log: RunLog) -> dict:
    validate(opts)
    run_id = log.run_id
    staging = opts.output_dir / f".staging-{opts.period}-{run_id}"
    work, delivery = staging / "work", staging / opts.period
    manifests: dict[str, dict] = {}
    results: list[CheckResult] = []
    log.event("run", "start", f"input {opts.input_dir} -> {opts.output_dir / opts.period}")

    def make_staging() -> None:
        opts.output_dir.mkdir(parents=True, exist_ok=True)
        staging.mkdir(exist_ok=True)

    try:
        with_retries("publish", make_staging, opts, log)
        if recover_interrupted_publish(opts.output_dir / opts.period):
            log.event(
                "publish", "recovered", f"restored {opts.period} left aside by an interrupted run", level="warning"
            )
        with_retries("ingest", lambda: check_input_dir(opts), opts, log)
        for stage in pipeline.STAGES:
            started = time.perf_counter()
            manifest, stage_results = with_retries(stage, partial(_stage_with_gate, stage, opts, work), opts, log)
            manifests[stage] = manifest
            results += stage_results
            failed = [r for r in stage_results if not r.passed]
            log.event(
                stage,
                "done",
                f"{len(stage_results) - len(failed)}/{len(stage_results)} checks "
                f"passed" + (f", {len(failed)} warning(s)" if failed else ""),
                rows_in=manifest["rows_in"],
                rows_out=manifest["rows_out"],
                seconds=round(time.perf_counter() - started, 3),
            )
        summary = with_retries(
            "publish", lambda: _deliver(opts, work, delivery, run_id, manifests, results, log), opts, log
        )
        log.event(
            "run",
            "published",
            f"CA {summary['ca_total']:,.2f} EUR, {summary['products']} products, "
            f"{summary['premium_count']} premium, {summary['ordinary_count']} "
            f"ordinary -> {opts.output_dir / opts.period}",
        )
        return summary
    except BaseException as raw:
        err = as_pipeline_error(raw) if isinstance(raw, Exception) else raw
        if isinstance(err, DataRejected):
            results += [r for r in err.results if r not in results]
        _keep_failure(opts, run_id, err, results, manifests, log)
        if err is raw:
            raise
        raise err from raw
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage_with_gate(stage: str, opts: RunOptions, work: Path) -> tuple[dict, list[CheckResult]]:
    out_dir = work / stage
    inputs = stage_inputs(stage, opts.input_dir, work)
    manifest = pipeline.run_stage(stage, inputs, out_dir, vars(opts))
    params = {name: getattr(opts, name) for name in pipeline.GATE_PARAMS}
    results = pipeline.check_stage(stage, inputs, out_dir, params)
    pipeline.raise_if_blocking(stage, results)
    return manifest, results


def stage_inputs(stage: str, input_dir: Path, work: Path) -> dict[str, Path]:
    """Where each stage reads from: the workbooks, or the previous stage's output folder.
    The parent Kestra flow wires the same files (a test compares the two)."""
    return pipeline.STAGE_TABLE[stage].input_files(input_dir, work)


def _deliver(
    opts: RunOptions, work: Path, delivery: Path, run_id: str, manifests: dict, results: list[CheckResult], log: RunLog
) -> dict:
    delivery.mkdir(parents=True, exist_ok=True)
    for name in DELIVERABLES:  # the workbook (report stage), the extracts in both forms (classify)
        (delivery / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / pipeline.stage_writing(name) / name, delivery / name)
    summary = finalize(
        delivery,
        opts.period,
        run_id,
        manifests,
        results,
        history=opts.history_dir,
        max_ca_drift=opts.max_ca_drift,
        max_products_lost=opts.max_products_lost,
    )
    log.event("quality", "summary", summary_fr(results).replace("\n", "\n    "))
    log.event("publish", "ready", "all gates passed; publishing the period folder")
    log.write(delivery / RUN_LOG)
    publish(delivery, opts.output_dir / opts.period)
    return summary


def _keep_failure(opts: RunOptions, run_id: str, err, results: list[CheckResult], manifests: dict, log: RunLog) -> None:
    """Keep the evidence of a failed run (never in the period folder: nothing is published)."""
    stage = getattr(err, "stage", None) or "run"
    kind = getattr(err, "kind", "interrupted")
    log.event(stage, "failed", f"{kind}: {getattr(err, 'message', err)}", level="error")
    folder = opts.output_dir / FAILED_DIR / f"{opts.period}-{datetime.now():%Y%m%dT%H%M%S}-{run_id}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(quality_report(opts.period, run_id, results, manifests), folder / QUALITY_FILE)
        write_json(
            {
                "stage": stage,
                "kind": kind,
                "message": getattr(err, "message", str(err)),
                "hint": getattr(err, "hint", None),
            },
            folder / "error.json",
        )
        log.write(folder / RUN_LOG)
    except OSError:
        pass  # the output location itself is the failure: the stdout log is the evidence


def new_run_id() -> str:
    return f"{datetime.now():%Y%m%d%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# --- backfill: a range of months, in order ----------------------------------------------------


def months(first: str, last: str) -> list[str]:
    """Every period from ``first`` to ``last`` included, in order."""
    for period in (first, last):
        if not PERIOD.fullmatch(period):
            raise UsageError(f"period {period!r} is not YYYY-MM (e.g. 2026-11)")
    if first > last:
        raise UsageError(f"--from {first} is after --to {last}")
    year, month = map(int, first.split("-"))
    periods = []
    while (period := f"{year:04d}-{month:02d}") <= last:
        periods.append(period)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return periods


def backfill(
    input_root: Path, periods: list[str], options: Callable[[str], RunOptions], new_log: Callable[[str], RunLog]
) -> list[dict]:
    """Run the months in order, each from ``input_root/YYYY-MM/``, each published before the
    next one starts, so that every month is compared with the ones before it. Every month folder
    must be there before anything runs (a usage error otherwise: nothing is run). The first month
    that fails stops the range: its exception (the usual evidence in ``_failed/``) is raised with
    the months already published in ``published``."""
    missing = [p for p in periods if not (input_root / p).is_dir()]
    if missing:
        raise UsageError(
            f"no input folder for {', '.join(missing)} under {input_root} "
            "(expected INPUT_ROOT/YYYY-MM/ with erp.xlsx, web.xlsx, liaison.xlsx); nothing was run"
        )
    summaries = []
    for period in periods:
        try:
            summaries.append(run(options(period), new_log(period)))
        except BaseException as err:
            # Whatever its type, the exception carries the months already published (cli reads it).
            err.published = [s["period"] for s in summaries]  # type: ignore[attr-defined]  # tagged on purpose
            raise
    return summaries
