"""Command line: ``bottleneck run`` for the whole month locally, ``backfill`` for a range of months,
one subcommand per stage for Kestra tasks, ``check STAGE`` for the test subflows and ``finalize``
for the parent flow's end.

Exit statuses: 0 success, 1 bug, 2 usage, 3 data rejected (never retry), 4 infrastructure (retry).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import __version__, pipeline
from .checks.compare import DEFAULT_MAX_CA_DRIFT, DEFAULT_MAX_PRODUCTS_LOST
from .checks.model import CheckResult, blocking, summary_fr
from .failures import EXIT_OK, DataRejected, PipelineError, as_pipeline_error
from .logs import RunLog
from .publish import DRIFT_CHECKS, finalize
from .runner import PERIOD, RunOptions, backfill, months, new_run_id, run
from .storage import read_json, use_database

REPO_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def month_before(day: date) -> str:
    """YYYY-MM of the calendar month before `day`'s: the month a report issued in `day`'s month is
    about (files received in December describe November)."""
    first = day.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def default_period() -> str:
    """--period omitted: the last closed month, Paris time, as Kestra's scheduled and manual runs."""
    return month_before(datetime.now(ZoneInfo("Europe/Paris")).date())


def period_arg(text: str) -> str:
    """--period: exactly YYYY-MM. Empty is refused rather than read as "the default month": an
    empty variable in a script must not publish a month nobody asked for."""
    if text == "":
        raise argparse.ArgumentTypeError(
            "empty: give YYYY-MM (e.g. 2026-11), or omit --period for the previous month (Paris time)"
        )
    if not PERIOD.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not YYYY-MM (e.g. 2026-11), without spaces")
    return text


def kestra_outputs(outputs: dict, counters: dict | None = None) -> None:
    """Outputs and metrics for Kestra (``::{...}::`` lines on stdout; harmless elsewhere)."""
    from kestra import Kestra

    Kestra.outputs(outputs)
    for name, value in (counters or {}).items():
        Kestra.counter(name, value)


# How each parameter a stage takes (pipeline.Stage.params) is given on that stage's command line.
STAGE_OPTIONS: dict[str, dict[str, Any]] = {
    "period": {"type": period_arg, "required": True, "help": "YYYY-MM"},
    "z_threshold": {"type": float, "default": 2.0},
}


def _files(parser: argparse.ArgumentParser, names: tuple[str, ...], what: str) -> None:
    for name in names:
        parser.add_argument(f"--{name}", type=Path, required=True, help=f"{name} {what}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bottleneck", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text for a terminal, json (one object per line) for Kestra",
    )
    parser.add_argument("--run-id", help="identifier carried by every log line (Kestra: execution id)")
    parser.add_argument(
        "--database",
        metavar="FILE",
        help="DuckDB database file for the working tables (default: in memory); one file per run, never shared",
    )
    parser.add_argument(
        "--rejection-as-output",
        action="store_true",
        help="on a data rejection, exit 0 and emit the Kestra outputs rejected=true "
        "and rejection_message, so that Kestra retries only real crashes and a "
        "Fail task stops the flow with the message (never retried)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the five stages and their gates, publish the period folder")
    p.add_argument(
        "--input",
        type=Path,
        default=REPO_SAMPLE,
        help="folder holding erp.xlsx, web.xlsx, liaison.xlsx (default: bundled sample)",
    )
    p.add_argument("--output", type=Path, default=Path("output"), help="output root (default ./output)")
    p.add_argument(
        "--period",
        type=period_arg,
        default=None,
        help="YYYY-MM (default, option omitted: the previous month, Paris time)",
    )
    _run_parameters(p)
    _history_parameters(
        p, "earlier published periods to compare with (default: the output root, i.e. its YYYY-MM folders)"
    )
    p.add_argument("--retries", type=int, default=2, help="retries of an infrastructure failure")
    p.add_argument("--retry-delay", type=float, default=2.0, help="seconds before the first retry")

    p = sub.add_parser(
        "backfill",
        help="run a range of months in order (INPUT_ROOT/YYYY-MM/ each), "
        "publishing each before the next so that comparisons build up",
    )
    p.add_argument(
        "--input-root",
        type=Path,
        required=True,
        help="folder holding one YYYY-MM/ folder per month, each with erp.xlsx, web.xlsx, liaison.xlsx",
    )
    p.add_argument("--from", dest="first", type=period_arg, required=True, help="first month, YYYY-MM")
    p.add_argument("--to", dest="last", type=period_arg, required=True, help="last month, YYYY-MM (included)")
    p.add_argument("--output", type=Path, default=Path("output"), help="output root (default ./output)")
    _run_parameters(p)
    _history_parameters(p, "earlier published periods (default: the output root)")
    p.add_argument("--retries", type=int, default=2, help="retries of an infrastructure failure")
    p.add_argument("--retry-delay", type=float, default=2.0, help="seconds before the first retry")

    for stage in pipeline.STAGE_TABLE.values():
        what = "workbook (.xlsx)" if stage.source is None else "input file (.parquet)"
        p = sub.add_parser(stage.name, help=f"stage {stage.name}: writes {', '.join(stage.outputs)} into --out-dir")
        _files(p, stage.inputs, what)
        p.add_argument("--out-dir", type=Path, required=True)
        for param in stage.params:
            p.add_argument(f"--{param.replace('_', '-')}", **STAGE_OPTIONS[param])

    p = sub.add_parser("check", help="run one stage's quality gates on its files (exit 3 on error)")
    checks = p.add_subparsers(dest="stage", required=True)
    for stage in pipeline.STAGE_TABLE.values():
        c = checks.add_parser(stage.name, help=f"gates after {stage.name}")
        if stage.gate_input_prefix is not None:
            _files(c, stage.inputs, "input file of the stage (.parquet)")
        c.add_argument("--out-dir", type=Path, required=True, help="the stage's output folder")
        _run_parameters(c, z_default=None)

    sub.add_parser("checks", help="print the catalogue of every quality check (Markdown)")

    p = sub.add_parser(
        "finalize",
        help="final check of a run's folder: deliverables present, run_summary.json and quality_report.json written",
    )
    p.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="folder with the deliverables (rapport_ca.xlsx, vins_premium.csv, vins_ordinaires.csv, "
        "machine/vins_premium.csv, machine/vins_ordinaires.csv), the <stage>_manifest.json "
        "and <stage>_checks.json files",
    )
    p.add_argument("--period", type=period_arg, required=True, help="YYYY-MM")
    _history_parameters(
        p,
        "folder of the earlier published periods, one YYYY-MM/ folder each with "
        "run_summary.json, vins_premium.csv and vins_ordinaires.csv (Kestra: the "
        "namespace files under history/); omitted or missing: no comparison",
    )
    return parser


def _run_parameters(p: argparse.ArgumentParser, z_default: float | None = 2.0) -> None:
    p.add_argument(
        "--z-threshold",
        type=float,
        default=z_default,
        help="premium when z > this (default 2"
        + (", or for check: the threshold the stage ran with)" if z_default is None else ")"),
    )
    p.add_argument(
        "--max-orphan-share",
        type=float,
        default=0.05,
        help="share of web products allowed without an ERP match (default 0.05)",
    )
    p.add_argument(
        "--max-lost-share",
        type=float,
        default=0.01,
        help="share of the units sold, and of the CA, allowed not to reach the report "
        "(default 0.01; checked by the clean gate)",
    )


def _history_parameters(p: argparse.ArgumentParser, history_help: str) -> None:
    p.add_argument("--history", type=Path, default=None, metavar="DIR", help=history_help)
    p.add_argument(
        "--max-ca-drift",
        type=float,
        default=DEFAULT_MAX_CA_DRIFT,
        help="warn when the CA moves by more than this share against the previous "
        f"published month (default {DEFAULT_MAX_CA_DRIFT}; never stops the run)",
    )
    p.add_argument(
        "--max-products-lost",
        type=float,
        default=DEFAULT_MAX_PRODUCTS_LOST,
        help="warn when more than this share of the previous month's products is "
        f"missing from the report (default {DEFAULT_MAX_PRODUCTS_LOST}; never stops the run)",
    )


def run_options(args: argparse.Namespace, input_dir: Path, period: str) -> RunOptions:
    return RunOptions(
        input_dir,
        args.output,
        period,
        args.z_threshold,
        args.max_orphan_share,
        max(0, args.retries),
        args.retry_delay,
        args.max_lost_share,
        history=args.history,
        max_ca_drift=args.max_ca_drift,
        max_products_lost=args.max_products_lost,
    )


def dispatch(args: argparse.Namespace, log: RunLog) -> int:
    if args.command == "run":
        run(run_options(args, args.input, args.period), log)
        return EXIT_OK
    if args.command == "backfill":
        return _backfill(args, log)
    if args.command == "check":
        return _check(args, log)
    if args.command == "finalize":
        return _finalize(args, log)
    if args.command == "checks":
        from .checks import catalogue_markdown

        print(catalogue_markdown())
        return EXIT_OK
    stage = args.command
    inputs = {name: getattr(args, name) for name in pipeline.STAGE_TABLE[stage].inputs}
    manifest = pipeline.run_stage(stage, inputs, args.out_dir, vars(args))
    log.event(stage, "done", rows_in=manifest["rows_in"], rows_out=manifest["rows_out"], seconds=manifest["seconds"])
    figures = {k: manifest[k] for k in ("ca_total", "premium_count", "ordinary_count") if k in manifest}
    kestra_outputs(
        {"rejected": False, "rows_in": manifest["rows_in"], "rows_out": manifest["rows_out"], **figures},
        {f"{stage}.rows_out": manifest["rows_out"]},
    )
    return EXIT_OK


def _check(args: argparse.Namespace, log: RunLog) -> int:
    stage = args.stage
    spec = pipeline.STAGE_TABLE[stage]
    inputs = {name: getattr(args, name) for name in spec.inputs} if spec.gate_input_prefix is not None else {}
    params = {name: getattr(args, name) for name in pipeline.GATE_PARAMS}
    results = pipeline.check_stage(stage, inputs, args.out_dir, params)
    failed = blocking(results)
    warnings = sum(1 for r in results if not r.passed and r.severity == "warn")
    log.event(stage, "checked", summary_fr(results).replace("\n", " | "), level="error" if failed else "info")
    kestra_outputs(
        {"rejected": bool(failed), "passed": not failed, "errors": len(failed), "warnings": warnings},
        {f"{stage}.check_errors": len(failed), f"{stage}.check_warnings": warnings},
    )
    pipeline.raise_if_blocking(stage, results)
    return EXIT_OK


def _finalize(args: argparse.Namespace, log: RunLog) -> int:
    folder = args.dir
    manifests = {stage: read_json(pipeline.manifest_path(folder, stage)) for stage in pipeline.STAGES}
    results = []
    for stage in pipeline.STAGES:
        results += [CheckResult.from_dict(r) for r in read_json(pipeline.quality_path(folder, stage))["results"]]
    summary = finalize(
        folder,
        args.period,
        log.run_id,
        manifests,
        results,
        history=args.history,
        max_ca_drift=args.max_ca_drift,
        max_products_lost=args.max_products_lost,
    )
    log.event(
        "finalize",
        "done",
        f"CA {summary['ca_total']:,.2f} EUR, {summary['products']} products, {summary['premium_count']} premium",
    )
    drift = [r for r in results if r.id in DRIFT_CHECKS and not r.passed]
    for r in drift:  # a warning line Kestra shows (and an alert task can pick up); never a failure
        log.event("finalize", "drift", f"[{r.id}] {r.message}", level="warning")
    comparison = summary["comparison"]
    # Money goes to Kestra as text with its cents: a float output is rendered by Pebble as
    # 70568.6, and from 10 M EUR in scientific notation (checked in the engine tests).
    kestra_outputs(
        {
            "rejected": False,
            "ca_total": f"{summary['ca_total']:.2f}",
            **{k: summary[k] for k in ("products", "premium_count", "ordinary_count")},
            "warnings": summary["quality"]["warnings"],
            "drift_alert": bool(drift),
            "drift_message": "\n".join(f"[{r.id}] {r.message}" for r in drift),
            "previous_period": comparison["previous_period"] or "",
            "ca_change": "" if comparison["ca_change"] is None else f"{comparison['ca_change']:.2f}",
        },
        {"products": summary["products"], "premium_count": summary["premium_count"]},
    )
    return EXIT_OK


def _backfill(args: argparse.Namespace, log: RunLog) -> int:
    periods = months(args.first, args.last)

    def new_log(period: str) -> RunLog:
        run_id = f"{args.run_id}-{period}" if args.run_id else new_run_id()
        return RunLog(run_id, period, args.log_format)

    log.event(
        "backfill",
        "start",
        f"{len(periods)} month(s), {periods[0]} to {periods[-1]}, from {args.input_root}/YYYY-MM -> {args.output}",
    )
    try:
        summaries = backfill(args.input_root, periods, lambda p: run_options(args, args.input_root / p, p), new_log)
    except Exception as err:
        if hasattr(err, "published"):  # a month failed (not a refused command line)
            published = err.published
            failed, rest = periods[len(published)], periods[len(published) + 1 :]
            print(
                f"\nbackfill stopped at {failed}: published {', '.join(published) or 'none'}; "
                f"not run: {', '.join(rest) or 'none'}. Fix {failed} (evidence in "
                f"{args.output / '_failed'}), then rerun: bottleneck backfill --from {failed} "
                f"--to {periods[-1]} ...",
                file=sys.stderr,
            )
        raise
    for summary in summaries:
        c = summary["comparison"]
        change = "" if c["ca_change_pct"] is None else f", {c['ca_change_pct']:+.2f} % vs {c['previous_period']}"
        log.event(
            "backfill",
            "month",
            f"{summary['period']}: CA {summary['ca_total']:,.2f} EUR{change}, "
            f"{summary['quality']['warnings']} warning(s)",
        )
    log.event("backfill", "done", f"{len(summaries)} month(s) published, {periods[0]} to {periods[-1]}")
    return EXIT_OK


def report_failure(err: PipelineError, debug: bool, raw: BaseException | None) -> None:
    where = f" at stage {err.stage}" if err.stage else ""
    print(f"\nFAILED ({err.kind}){where}: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"What to do: {err.hint}", file=sys.stderr)
    if debug and raw is not None:
        traceback.print_exception(raw)
    elif err.kind == "bug":
        print("(rerun with --debug for the traceback)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    period = getattr(args, "period", None)
    period = default_period() if period is None else period
    if args.command == "run":
        args.period = period
    if args.command == "backfill":
        period = f"{args.first}..{args.last}"
    log = RunLog(args.run_id or new_run_id(), period, args.log_format)
    use_database(args.database)
    try:
        return dispatch(args, log)
    except BrokenPipeError:  # output piped into `head`: not a failure
        return EXIT_OK
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was published", file=sys.stderr)
        return 130
    except Exception as raw:  # noqa: BLE001 - the one place that turns failures into statuses
        err = as_pipeline_error(raw)
        if isinstance(err, DataRejected) and args.rejection_as_output:
            log.event(err.stage or args.command, "rejected", err.message.replace("\n", " | "), level="error")
            kestra_outputs({"rejected": True, "rejection_message": err.message})
            return EXIT_OK
        report_failure(err, args.debug, raw.__cause__ or raw)
        return err.exit_status
