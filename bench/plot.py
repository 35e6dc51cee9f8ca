"""Plot bench/results.json: wall time and peak memory against volume, ours vs the baseline.

Usage: python bench/plot.py [--results bench/results.json] [--out docs/performance.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STYLE = {"sample": "-", "real": "--"}


def plot(results: dict, out: Path) -> None:
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    for source, record in sorted(results.items()):
        line = STYLE.get(source, ":")
        done = [s for s in record["sizes"] if "wall_seconds" in s["ours"] and "failed" not in s["ours"]]
        based = [s for s in record["sizes"] if "stages" in s["baseline"]]
        rows = lambda sizes: [s["rows"]["web"] for s in sizes]  # noqa: E731
        ax_time.plot(
            rows(done),
            [s["ours"]["wall_seconds"] for s in done],
            line,
            marker="o",
            color="tab:blue",
            label=f"bottleneck run ({source})",
        )
        ax_time.plot(
            rows(based),
            [s["baseline"]["wall_seconds"] for s in based],
            line,
            marker="s",
            color="tab:red",
            label=f"pandas + openpyxl ({source})",
        )
        ax_mem.plot(
            rows(done),
            [s["ours"]["peak_rss_mb"] for s in done],
            line,
            marker="o",
            color="tab:blue",
            label=f"bottleneck run ({source})",
        )
        ax_mem.plot(
            rows(based),
            [s["baseline"]["peak_rss_mb"] for s in based],
            line,
            marker="s",
            color="tab:red",
            label=f"pandas + openpyxl ({source})",
        )
        floor = record.get("io", {}).get("floor")
        if floor:
            k = record["io"]["floor_candidates"]["factor"]
            web = record["source_rows"]["web"] * k
            ax_time.plot(
                [web],
                [floor["seconds"]],
                marker="v",
                color="black",
                linestyle="none",
                label=f"I/O floor ({source}{'' if floor.get('writer') else ', read only'})",
            )
    ax_time.set(xscale="log", yscale="log", xlabel="web.xlsx rows", ylabel="wall time (s)", title="Time against volume")
    ax_mem.set(
        xscale="log", yscale="log", xlabel="web.xlsx rows", ylabel="peak RSS (MB)", title="Peak memory against volume"
    )
    ax_mem.axhline(2048, color="grey", linewidth=0.8, linestyle=":")
    ax_mem.annotate(
        "2 GiB target", (0.02, 2048), xycoords=("axes fraction", "data"), fontsize=7, color="grey", va="bottom"
    )
    for ax in (ax_time, ax_mem):
        ax.grid(True, which="major", linewidth=0.4, alpha=0.6)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "performance.png")
    args = parser.parse_args()
    plot(json.loads(args.results.read_text()), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
