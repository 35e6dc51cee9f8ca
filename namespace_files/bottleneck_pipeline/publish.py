"""The end of a run: the run summary, the quality report, the final deliverables check, and the
atomic publication of the period folder."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

from . import STAGES, __version__, labels_fr
from .checks.model import CheckResult, blocking, summary_fr
from .failures import DataRejected
from .html_report import write_html_report
from .storage import write_json

DELIVERABLES = (labels_fr.REPORT_FILE, labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE)
SUMMARY_FILE = "run_summary.json"
QUALITY_FILE = "quality_report.json"


def package_versions() -> dict:
    versions = {"python": platform.python_version(), "bottleneck-pipeline": __version__}
    for name in ("duckdb", "pyarrow", "fastexcel", "xlsxwriter", "numpy", "kestra"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


LOST_SALES_CHECK = "clean.web.lost_sales_within_ceiling"


def left_out(results: list[CheckResult]) -> dict:
    """What the published CA leaves out and why: the lost-sales gate's figures (units, CA, ceiling),
    its French account and the first rows (web.xlsx row, sku, units, CA, column to fix)."""
    gate = next((r for r in results if r.id == LOST_SALES_CHECK), None)
    if gate is None:
        return {}
    listed = next((r for r in results if r.id == "clean.web.lost_sales"), gate)
    account = gate.message or listed.message
    return {**gate.observed, "message_fr": account or "Aucune vente web n'est laissée hors du rapport.",
            "lignes_exemples": gate.rows}


def warnings_fr(results: list[CheckResult]) -> list[str]:
    return [f"[{r.id}] {r.message}" for r in results if not r.passed and r.severity == "warn"]


def quality_report(period: str, run_id: str, results: list[CheckResult], manifests: dict) -> dict:
    failed = blocking(results)
    return {
        "period": period,
        "run_id": run_id,
        "status": "rejected" if failed else "passed",
        "checks": len(results),
        "passed": sum(r.passed for r in results),
        "errors": len(failed),
        "warnings": sum(1 for r in results if not r.passed and r.severity == "warn"),
        "summary_fr": summary_fr(results),
        "removed_rows": manifests.get("clean", {}).get("removed", {}),
        "left_out": left_out(results),
        "results": [r.to_dict() for r in results],
    }


def run_summary(period: str, run_id: str, manifests: dict, results: list[CheckResult]) -> dict:
    report = manifests["report"]
    classify = manifests["classify"]
    return {
        "period": period,
        "run_id": run_id,
        "products": report["rows_out"],
        "ca_total": float(Decimal(report["ca_total"]).quantize(Decimal("0.01"))),
        "premium_count": classify["premium_count"],
        "ordinary_count": classify["ordinary_count"],
        "z_threshold": classify["z_threshold"],
        "price": classify["price"],
        "mean": classify["price"]["mean"],
        "std": classify["price"]["std"],
        "stages": {stage: {key: manifests[stage][key] for key in ("rows_in", "rows_out", "seconds")}
                   for stage in STAGES if stage in manifests},
        "removed_rows": manifests["clean"].get("removed", {}),
        "left_out": left_out(results),
        "sources": manifests["ingest"].get("sources", {}),
        "quality": {"checks": len(results), "passed": sum(r.passed for r in results),
                    "warnings": sum(1 for r in results if not r.passed and r.severity == "warn"),
                    "warnings_fr": warnings_fr(results)},
        "versions": package_versions(),
    }


def missing_deliverables(folder: Path) -> list[str]:
    return [name for name in DELIVERABLES
            if not (folder / name).is_file() or (folder / name).stat().st_size == 0]


def finalize(folder: Path, period: str, run_id: str, manifests: dict, results: list[CheckResult]) -> dict:
    """Write the summary and the quality report into the period folder, after checking that every
    deliverable is there: the explicit final check (a run never ends 'green' with a file missing)."""
    missing = missing_deliverables(folder)
    if missing:
        raise DataRejected(f"Livrable(s) manquant(s) : {', '.join(missing)}. Rien n'a été publié.",
                           stage="finalize")
    summary = run_summary(period, run_id, manifests, results)
    write_json(quality_report(period, run_id, results, manifests), folder / QUALITY_FILE)
    write_json(summary, folder / SUMMARY_FILE)
    write_html_report(folder)
    return summary


def recover_interrupted_publish(target: Path) -> Path | None:
    """A run killed between the two renames of ``publish`` leaves the period only as
    ``.previous-<period>-*``: put it back before anything else happens."""
    if target.exists():
        return None
    leftovers = sorted(target.parent.glob(f".previous-{target.name}-*"))
    if not leftovers:
        return None
    os.rename(leftovers[-1], target)
    return target


def publish(staged: Path, target: Path) -> None:
    """Put the complete period folder in place. The previous version of the period stays intact
    until the new one is complete, and comes back if the switch fails."""
    previous = target.with_name(f".previous-{target.name}-{uuid.uuid4().hex[:8]}")
    had_previous = target.exists()
    if had_previous:
        os.rename(target, previous)
    try:
        os.rename(staged, target)
    except OSError:
        if had_previous:
            os.rename(previous, target)
        raise
    if had_previous:
        shutil.rmtree(previous, ignore_errors=True)
