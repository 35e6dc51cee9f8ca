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

from . import __version__, labels_fr
from .checks import CheckContext, run_checks
from .checks.compare import DEFAULT_MAX_CA_DRIFT, DEFAULT_MAX_PRODUCTS_LOST
from .checks.model import CheckResult, blocking, summary_fr
from .extracts import MACHINE_FILES
from .failures import DataRejected
from .history import SUMMARY_FILE, PeriodFacts, compare, read_wines
from .html_report import write_html_report
from .pipeline import STAGES
from .report_workbook import fill_summary
from .storage import write_json

# Every file a published period holds besides the summary, the quality report, the HTML page and
# the log: the workbook, the French extracts and their machine-readable form.
DELIVERABLES = (labels_fr.REPORT_FILE, labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE, *MACHINE_FILES)
QUALITY_FILE = "quality_report.json"
DRIFT_CHECKS = ("compare.ca.drift_within_limit", "compare.products.lost_within_limit")


def package_versions() -> dict:
    versions: dict[str, str | None] = {"python": platform.python_version(), "bottleneck-pipeline": __version__}
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
    return {
        **gate.observed,
        "message_fr": account or "Aucune vente web n'est laissée hors du rapport.",
        "lignes_exemples": gate.rows,
    }


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


def run_summary(
    period: str, run_id: str, manifests: dict, results: list[CheckResult], comparison: dict | None = None
) -> dict:
    report = manifests["report"]
    classify = manifests["classify"]
    warnings = [r for r in results if not r.passed and r.severity == "warn"]
    return {
        "period": period,
        "period_fr": labels_fr.period_fr(period),
        "run_id": run_id,
        "products": report["rows_out"],
        "ca_total": float(Decimal(report["ca_total"]).quantize(Decimal("0.01"))),
        "premium_count": classify["premium_count"],
        "ordinary_count": classify["ordinary_count"],
        "z_threshold": classify["z_threshold"],
        "price": classify["price"],
        "mean": classify["price"]["mean"],
        "std": classify["price"]["std"],
        "comparison": comparison,
        "stages": {
            stage: {key: manifests[stage][key] for key in ("rows_in", "rows_out", "seconds")}
            for stage in STAGES
            if stage in manifests
        },
        "removed_rows": manifests["clean"].get("removed", {}),
        "left_out": left_out(results),
        "sources": manifests["ingest"].get("sources", {}),
        "quality": {
            "status": "rejected" if blocking(results) else "passed",
            "checks": len(results),
            "passed": sum(r.passed for r in results),
            "warnings": len(warnings),
            "drift_alert": any(r.id in DRIFT_CHECKS for r in warnings),
            "warnings_fr": warnings_fr(results),
        },
        "versions": package_versions(),
    }


def missing_deliverables(folder: Path) -> list[str]:
    return [name for name in DELIVERABLES if not (folder / name).is_file() or (folder / name).stat().st_size == 0]


def finalize(
    folder: Path,
    period: str,
    run_id: str,
    manifests: dict,
    results: list[CheckResult],
    history: Path | None = None,
    max_ca_drift: float = DEFAULT_MAX_CA_DRIFT,
    max_products_lost: float = DEFAULT_MAX_PRODUCTS_LOST,
) -> dict:
    """Write the summary and the quality report into the period folder, after checking that every
    deliverable is there: the explicit final check (a run never ends 'green' with a file missing).

    ``history``: the folder of the earlier published periods (history.py; None: no comparison).
    The comparison with them goes into the summary, and its gates (checks/compare.py, warnings
    that never stop the run) are appended to ``results``. The workbook's summary sheet then gets
    what only this step knows (quality status, comparison), and the HTML page is written."""
    missing = missing_deliverables(folder)
    if missing:
        raise DataRejected(f"Livrable(s) manquant(s) : {', '.join(missing)}. Rien n'a été publié.", stage="finalize")
    base = run_summary(period, run_id, manifests, results)
    current = PeriodFacts(
        period, Decimal(str(base["ca_total"])), base["products"], base["premium_count"], read_wines(folder)
    )
    comparison, used = compare(current, history)
    params = {
        "comparison": comparison,
        "period": period,
        "ca_total": base["ca_total"],
        "previous": used.get("previous"),
        "max_ca_drift": max_ca_drift,
        "max_products_lost": max_products_lost,
    }
    results += run_checks("compare", CheckContext(None, {}, params))
    summary = run_summary(period, run_id, manifests, results, comparison)
    quality = quality_report(period, run_id, results, manifests)
    write_json(quality, folder / QUALITY_FILE)
    write_json(summary, folder / SUMMARY_FILE)
    fill_summary(folder / labels_fr.REPORT_FILE, summary_sheet_values(summary, current, used))
    write_html_report(folder)
    return summary


LISTED_IN_SHEET = 15  # wines named per list on the summary sheet (the JSON lists them all)


def _wine_list(ids: list[str] | None, *months: PeriodFacts | None, total: int | None = None) -> str:
    """'4582 Château X ; 13127-1 Clos Y ; et 3 autre(s)': ids with their names (first months first)."""
    if ids is None:
        return "non mesuré (extractions du mois comparé absentes)"
    if not ids:
        return "aucun"
    total = len(ids) if total is None else total
    names = {}
    for month in months:
        if month is not None and month.wines:
            names.update({i: name for i, (name, _) in month.wines.items() if i not in names})
    shown = [f"{i} {names.get(i, '')}".strip() for i in ids[:LISTED_IN_SHEET]]
    more = total - len(shown)
    return " ; ".join(shown) + (f" ; et {more} autre(s) (liste complète : run_summary.json)" if more else "")


def summary_sheet_values(summary: dict, current: PeriodFacts, used: dict) -> dict:
    """The summary sheet's end-of-run cells (report_workbook.late_cells), in French."""
    quality, c = summary["quality"], summary["comparison"]
    warnings = quality["warnings_fr"]
    previous, year = used.get("previous"), used.get("year_ago")
    share = lambda pct: None if pct is None else round(pct / 100, 6)  # noqa: E731  (a % cell holds a share)
    values = {
        "quality_status": f"Conforme : {quality['passed']}/{quality['checks']} contrôles réussis, "
        "aucun contrôle bloquant en échec",
        "quality_detail": "Détail de chaque contrôle : rapport_qualite.html (même dossier) et quality_report.json.",
        "warnings": quality["warnings"],
        "warnings_detail": warnings or "aucun",  # one row each in the workbook's warnings table
        "previous_period": (
            labels_fr.period_fr(c["previous_period"]) if c["previous_period"] else "aucun mois publié avant celui-ci"
        ),
        "previous_ca_total": c["previous_ca_total"],
        "ca_change": c["ca_change"],
        "ca_change_share": share(c["ca_change_pct"]),
        "products_change": c["products_change"],
        "premium_entered": None if c["premium_entered"] is None else len(c["premium_entered"]),
        "premium_entered_list": "" if previous is None else _wine_list(c["premium_entered"], current),
        "premium_left": None if c["premium_left"] is None else len(c["premium_left"]),
        "premium_left_list": "" if previous is None else _wine_list(c["premium_left"], current, previous),
        "products_lost": c["products_lost"],
        "products_lost_detail": ""
        if c["products_lost"] is None
        else (
            f"{c['products_lost_share'] * 100:.2f}".replace(".", ",") + "\u00a0% des produits "
            f"{labels_fr.of_period(c['previous_period'])} : "
            + _wine_list(c["products_lost_ids"], previous, total=c["products_lost"])
        ),
        "year_ago_period": labels_fr.period_fr(c["year_ago_period"]) if c["year_ago_period"] else "non publié",
        "year_ago_ca_total": c["year_ago_ca_total"],
        "year_ago_ca_change_share": share(c["year_ago_ca_change_pct"]),
    }
    if year is None:
        values["year_ago_ca_total"] = None
    return values


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
