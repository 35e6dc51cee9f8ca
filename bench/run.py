"""Benchmark: `bottleneck run` against the usual pandas + openpyxl implementation, from the real
volume to the largest an xlsx sheet allows.

For each size (a replication factor of the source workbooks, see bench/scale.py):
- builds the scaled inputs once (cached in bench/out/inputs/, outside git);
- runs `bottleneck run` in a child process: wall time, peak RSS, and per stage the stage's own
  seconds (run_summary.json stages.*.seconds) and the stage with its quality gates (run.log);
- runs the baseline (bench/baseline.run_baseline) in a child process, same measurements;
- checks that both give the same figures (products, CA total to the cent, premium count) and
  fails loudly when they do not.
Then measures the I/O floor at the largest size (bench/io_floor.py) and the reader / writer
comparison at the size nearest 100x, prints the tables and the targets, and writes the raw
results to bench/results.json (one entry per source, the other source's entry kept).

Usage:
  python bench/run.py                        # sizes 1,10,100,max, real files when present
  python bench/run.py --source sample --sizes 1,10 --no-floor
  python bench/run.py --skip-baseline-above 100
Exit status: 0 all good (targets are reported, not enforced), 1 figures differ or a run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import io_floor, scale  # noqa: E402
from bench.measure import run_measured  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
RESULTS = REPO / "bench" / "results.json"
STAGES = ("ingest", "clean", "merge", "report", "classify")
BASELINE_STAGES = ("ingest", "clean", "merge", "report", "classify", "write")
PERIOD = "2026-01"
CENT = Decimal("0.01")
# Targets of issue 7
TARGET_SPEEDUP_AT_100 = 5.0
TARGET_PEAK_MB_AT_MAX = 2048.0  # 2 GiB
TARGET_FLOOR_RATIO_AT_MAX = 2.0


# --- one size ----------------------------------------------------------------------------------


def run_ours(inputs: Path, out_dir: Path) -> dict:
    """`bottleneck run` as a child process."""
    import shutil

    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "bottleneck_pipeline",
        "run",
        "--input",
        str(inputs),
        "--output",
        str(out_dir),
        "--period",
        PERIOD,
        "--retries",
        "0",
    ]
    measured = run_measured(cmd)
    result = {"wall_seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb}
    folder = out_dir / PERIOD
    if measured.returncode != 0 or not (folder / "run_summary.json").is_file():
        tail = [line for line in measured.stderr.strip().splitlines() if line.strip()][:3]
        return {**result, "failed": f"exit {measured.returncode}: " + " | ".join(tail)[:600]}
    summary = json.loads((folder / "run_summary.json").read_text())
    with_gates = {}
    for line in (folder / "run.log").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "done" and event.get("stage") in STAGES:
            with_gates[event["stage"]] = event["seconds"]
    return {
        **result,
        "stages": {s: summary["stages"][s]["seconds"] for s in STAGES},
        "stages_with_gates": with_gates,
        "rows": {s: summary["stages"][s]["rows_in"] for s in ("ingest",)},
        "figures": {
            "products": summary["products"],
            "ca_total": f"{Decimal(str(summary['ca_total'])).quantize(CENT)}",
            "premium_count": summary["premium_count"],
        },
    }


def run_baseline(inputs: Path, out_dir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-baseline", str(inputs), str(out_dir)]
    measured = run_measured(cmd)
    result = {"wall_seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb}
    if measured.returncode != 0:
        tail = (measured.stderr.strip().splitlines() or ["?"])[-1]
        return {**result, "failed": f"exit {measured.returncode}: {tail[:300]}"}
    inner = json.loads(measured.stdout.strip().splitlines()[-1])
    return {**result, **inner}


def _child_baseline(inputs: str, out_dir: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    from bench.baseline import run_baseline as baseline

    started = time.perf_counter()
    result = baseline(Path(inputs), Path(out_dir))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "stages": {k: round(v, 3) for k, v in result["timings"].items()},
                "inner_seconds": round(seconds, 3),
                "figures": {
                    "products": result["products"],
                    "ca_total": f"{Decimal(str(result['ca_total'])).quantize(CENT)}",
                    "premium_count": result["premium_count"],
                },
            }
        )
    )


def same_figures(ours: dict, baseline: dict) -> bool:
    return ours["figures"] == baseline["figures"]


# --- environment -------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def git_state() -> dict:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    pipeline = "namespace_files/bottleneck_pipeline"
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "pipeline_changed_since": bool(git("status", "--porcelain", "--", pipeline)),
    }


def versions() -> dict:
    import importlib.metadata as md

    names = (
        "bottleneck-pipeline",
        "duckdb",
        "pyarrow",
        "fastexcel",
        "xlsxwriter",
        "numpy",
        "pandas",
        "openpyxl",
        "python-calamine",
        "polars",
        "pyexcelerate",
        "rustpy-xlsxwriter",
        "jetxl",
        "matplotlib",
    )
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


# --- tables ------------------------------------------------------------------------------------


def _s(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_tables(sizes: list[dict], log=print) -> None:
    log("\nOurs: `bottleneck run` (seconds per stage: the stage / the stage with its gates)")
    head = (
        f"{'size':>6} {'web rows':>10} {'products':>9} "
        + " ".join(f"{s:>13}" for s in STAGES)
        + f" {'total':>8} {'peak MB':>8}"
    )
    log(head)
    for size in sizes:
        ours = size["ours"]
        if "failed" in ours:
            log(f"{size['label']:>6} {size['rows']['web']:>10,} {'FAILED':>9} {ours['failed'][:120]}")
            continue
        cells = " ".join(f"{ours['stages'][s]:>6.2f}/{ours['stages_with_gates'].get(s, 0):<6.2f}" for s in STAGES)
        log(
            f"{size['label']:>6} {size['rows']['web']:>10,} {ours['figures']['products']:>9,} {cells} "
            f"{ours['wall_seconds']:>8.2f} {ours['peak_rss_mb']:>8.0f}"
        )
    log("\nBaseline: pandas.read_excel(openpyxl) + pandas + openpyxl writer (seconds per step)")
    log(f"{'size':>6} " + " ".join(f"{s:>9}" for s in BASELINE_STAGES) + f" {'total':>8} {'peak MB':>8}")
    for size in sizes:
        base = size["baseline"]
        if "skipped" in base or "failed" in base:
            log(f"{size['label']:>6} {base.get('skipped') or 'FAILED ' + base['failed']}")
            continue
        log(
            f"{size['label']:>6} "
            + " ".join(f"{base['stages'].get(s, 0):>9.2f}" for s in BASELINE_STAGES)
            + f" {base['wall_seconds']:>8.2f} {base['peak_rss_mb']:>8.0f}"
        )
    log("\nSide by side (wall time of the whole process, peak RSS of the process)")
    log(
        f"{'size':>6} {'ours s':>8} {'base s':>8} {'base/ours':>9} {'ours MB':>8} {'base MB':>8} "
        f"{'base/ours':>9}  figures"
    )
    for size in sizes:
        ours, base = size["ours"], size["baseline"]
        if "failed" in ours or "stages" not in base:
            log(
                f"{size['label']:>6} {_s(ours.get('wall_seconds')):>8} {_s(base.get('wall_seconds')):>8} "
                f"{'-':>9} {ours.get('peak_rss_mb', 0):>8.0f} {base.get('peak_rss_mb') or 0:>8.0f} {'-':>9}  "
                f"{size.get('figures_check', '-')}"
            )
            continue
        log(
            f"{size['label']:>6} {ours['wall_seconds']:>8.2f} {base['wall_seconds']:>8.2f} "
            f"{size['speedup']:>8.1f}x {ours['peak_rss_mb']:>8.0f} {base['peak_rss_mb']:>8.0f} "
            f"{size['memory_ratio']:>8.1f}x  {size['figures_check']}"
        )


def print_io(io: dict, log=print) -> None:
    for key, title in (("comparison", "Readers and writers"), ("floor_candidates", "At the largest size")):
        block = io.get(key)
        if not block or (key == "floor_candidates" and block is io.get("comparison")):
            continue
        log(f"\n{title} ({block['label']}): seconds inside the process, peak RSS of the process")
        for kind in ("readers", "writers"):
            for row in block[kind]:
                log(f"  {kind[:-1]:6} {row['name']:22} {io_floor._describe(row)}")
    if io.get("floor"):
        f = io["floor"]
        log(
            f"\nI/O floor at {io['floor_candidates']['label']}: read {f['read_seconds']} s "
            f"({f['reader']}) + write {f['write_seconds']} s ({f['writer']}) = {f['seconds']} s"
        )


# --- main --------------------------------------------------------------------------------------


def parse_sizes(text: str, limit: int) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        k = limit if part == "max" else int(part)
        if not 1 <= k <= limit:
            raise SystemExit(f"size {part}: the factor must be between 1 and {limit} (xlsx row limit)")
        if k not in sizes:
            sizes.append(k)
    return sorted(sizes)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-baseline":
        _child_baseline(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100,max", help="factors, 'max' = largest that fits an xlsx sheet")
    parser.add_argument(
        "--source",
        choices=("sample", "real"),
        default="real" if scale.REAL_DIR.is_dir() else "sample",
        help="replicate the bundled sample or the real files (default: real when present)",
    )
    parser.add_argument(
        "--skip-baseline-above",
        type=int,
        default=None,
        metavar="N",
        help="do not run the baseline above factor N (it is slow); said in the output",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the I/O floor and the reader/writer comparison")
    parser.add_argument(
        "--compare-at",
        type=int,
        default=100,
        help="factor (nearest among --sizes) of the full reader / writer comparison",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each reader/writer candidate, fastest kept (default 2)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the raw results")
    args = parser.parse_args()

    started = time.perf_counter()
    tables = scale.load(scale.source_dir(args.source))
    limit = scale.max_factor(tables)
    factors = parse_sizes(args.sizes, limit)
    base_rows = {name: len(rows) - 1 for name, rows in tables.items()}
    print(
        f"bench: source {args.source} ({', '.join(f'{k} {v} rows' for k, v in base_rows.items())}), "
        f"factors {factors} (max {limit}); machine {machine()['nproc']} cores"
    )

    sizes: list[dict[str, Any]] = []
    problems: list[str] = []
    for k in factors:
        label = f"{k}x"
        print(f"\n[{k}x] inputs")
        inputs = scale.build(args.source, k, tables=tables)
        size: dict[str, Any] = {
            "factor": k,
            "label": label,
            "rows": {n: r * k for n, r in base_rows.items()},
            "input_mb": {n: round((inputs / f"{n}.xlsx").stat().st_size / 2**20, 1) for n in scale.FILES},
        }
        print(f"[{k}x] bottleneck run ...", flush=True)
        size["ours"] = run_ours(inputs, OUT / "runs" / f"{args.source}-x{k}" / "ours")
        print(f"[{k}x]   {size['ours'].get('failed') or str(size['ours']['wall_seconds']) + ' s'}")
        if args.skip_baseline_above is not None and k > args.skip_baseline_above:
            size["baseline"] = {
                "skipped": f"baseline skipped above {args.skip_baseline_above}x (--skip-baseline-above)"
            }
            print(f"[{k}x] baseline SKIPPED (--skip-baseline-above {args.skip_baseline_above})")
        else:
            print(f"[{k}x] baseline ...", flush=True)
            size["baseline"] = run_baseline(inputs, OUT / "runs" / f"{args.source}-x{k}" / "baseline")
            print(f"[{k}x]   {size['baseline'].get('failed') or str(size['baseline']['wall_seconds']) + ' s'}")
        ours, base = size["ours"], size["baseline"]
        if "failed" in ours:
            problems.append(f"{k}x: bottleneck run failed: {ours['failed']}")
        if "failed" in base:
            problems.append(f"{k}x: baseline failed: {base['failed']}")
        if "figures" in ours and "figures" in base:
            if same_figures(ours, base):
                size["figures_check"] = "same"
            else:
                size["figures_check"] = "DIFFER"
                problems.append(f"{k}x: FIGURES DIFFER: ours {ours['figures']} baseline {base['figures']}")
                print(f"[{k}x] !!! FIGURES DIFFER: ours {ours['figures']} != baseline {base['figures']}")
            size["speedup"] = round(base["wall_seconds"] / ours["wall_seconds"], 2)
            size["memory_ratio"] = round(base["peak_rss_mb"] / ours["peak_rss_mb"], 2)
        elif "figures" in ours:
            size["figures_check"] = "baseline not run"
        sizes.append(size)

    io = {}
    largest = sizes[-1]
    if not args.no_floor:
        compare_k = min(factors, key=lambda k: abs(k - args.compare_at))
        print(f"\n[io] reader / writer comparison at {compare_k}x")
        io["comparison"] = _io_block(args.source, compare_k, tables, None, None, args.repeat)
        print(f"\n[io] floor at {largest['factor']}x")
        if compare_k == largest["factor"]:
            io["floor_candidates"] = io["comparison"]
        else:
            io["floor_candidates"] = _io_block(
                args.source, largest["factor"], tables, list(io_floor.FAST_READERS), list(io_floor.WRITERS), args.repeat
            )
        io["floor"] = io_floor.floor(io["floor_candidates"])

    targets = evaluate_targets(sizes, io, limit)
    print_tables(sizes)
    print_io(io)
    print("\nTargets (issue 7)")
    for line in targets["lines"]:
        print(f"  {line}")
    for problem in problems:
        print(f"\n!!! {problem}")

    record = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "git": git_state(),
        "source": args.source,
        "source_rows": base_rows,
        "max_factor": limit,
        "sizes": sizes,
        "io": io,
        "targets": targets,
        "problems": problems,
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    if args.source == "real":
        record = _without_real_figures(record)
    previous = json.loads(args.results.read_text()) if args.results.is_file() else {}
    previous[args.source] = record
    args.results.write_text(json.dumps(previous, indent=1, ensure_ascii=False) + "\n")
    print(f"\nresults: {args.results} ({record['bench_seconds']} s in all)")
    return 1 if problems else 0


def _io_block(source: str, k: int, tables: dict, readers, writers, repeat: int) -> dict:
    inputs = scale.build(source, k, tables=tables)
    run_dir = OUT / "runs" / f"{source}-x{k}" / "ours" / PERIOD
    revenue = None
    if (run_dir / "vins_premium.csv").is_file():
        revenue = io_floor.revenue_from_extracts(run_dir, OUT / "floor" / f"revenue-{source}-x{k}.parquet")
    block = io_floor.compare(inputs, revenue, readers, writers, repeat=repeat)
    return {"factor": k, "label": f"{k}x", **block}


def _without_real_figures(record: dict) -> dict:
    """The real files are third-party data: keep no figure derived from them in the repository
    (timings, input sizes and whether both implementations agree are kept)."""
    for size in record["sizes"]:
        for side in ("ours", "baseline"):
            size.get(side, {}).pop("figures", None)
            if "failed" in size.get(side, {}):  # messages quote ids of the data: keep the ids of checks
                size[side]["failed"] = _scrub(size[side]["failed"])
    record["problems"] = [_scrub(p) for p in record["problems"]]
    return record


def _scrub(message: str) -> str:
    """'<prefix>exit 3: FAILED (data) at stage classify [check ids]', without the quoted data."""
    import re

    prefix = message.split("exit ")[0]
    code = re.search(r"exit -?\d+", message)
    where = re.search(r"FAILED \(\w+\)(?: at stage \w+)?", message)
    checks = re.findall(r"\[([\w.]+)\]", message)
    return prefix + ": ".join(m.group(0) for m in (code, where) if m) + (f" [{', '.join(checks)}]" if checks else "")


def evaluate_targets(sizes: list[dict], io: dict, limit: int) -> dict:
    lines, verdicts = [], {}
    at100 = next((s for s in sizes if s["factor"] == 100), None)
    if at100 and "speedup" in at100:
        ok_speed = at100["speedup"] >= TARGET_SPEEDUP_AT_100
        ok_mem = at100["ours"]["peak_rss_mb"] <= at100["baseline"]["peak_rss_mb"]
        verdicts["speedup_at_100"] = ok_speed
        verdicts["memory_at_100"] = ok_mem
        lines.append(
            f"100x: {at100['speedup']:.1f}x faster than the baseline (target >= "
            f"{TARGET_SPEEDUP_AT_100:g}x): {'MET' if ok_speed else 'MISSED'}"
        )
        lines.append(
            f"100x: peak {at100['ours']['peak_rss_mb']:.0f} MB vs baseline "
            f"{at100['baseline']['peak_rss_mb']:.0f} MB (target: no more): {'MET' if ok_mem else 'MISSED'}"
        )
    else:
        lines.append("100x: not measured (size 100 not run, or baseline skipped/failed)")
    largest = sizes[-1]
    if largest["factor"] == limit and "failed" not in largest["ours"]:
        peak = largest["ours"]["peak_rss_mb"]
        verdicts["peak_at_max"] = peak < TARGET_PEAK_MB_AT_MAX
        lines.append(
            f"{limit}x (max): peak {peak:.0f} MB (target < {TARGET_PEAK_MB_AT_MAX:.0f} MB): "
            f"{'MET' if verdicts['peak_at_max'] else 'MISSED'}"
        )
        if io.get("floor"):
            ratio = largest["ours"]["wall_seconds"] / io["floor"]["seconds"]
            verdicts["floor_ratio_at_max"] = ratio <= TARGET_FLOOR_RATIO_AT_MAX
            io["floor"]["ours_over_floor"] = round(ratio, 2)
            lines.append(
                f"{limit}x (max): {largest['ours']['wall_seconds']:.1f} s = {ratio:.2f}x the I/O floor "
                f"{io['floor']['seconds']:.1f} s (target <= {TARGET_FLOOR_RATIO_AT_MAX:g}x): "
                f"{'MET' if verdicts['floor_ratio_at_max'] else 'MISSED'}"
            )
    else:
        lines.append("max size: not measured (not run, or bottleneck run failed)")
    return {"lines": lines, "met": verdicts}


if __name__ == "__main__":
    sys.exit(main())
