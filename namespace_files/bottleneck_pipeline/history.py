"""Month over month: the earlier published periods, and the comparison of a run with them.

A history folder holds one folder per published period, named ``YYYY-MM``, each with at least
``run_summary.json`` and, for the product-level comparison, the two extracts
(``vins_premium.csv`` and ``vins_ordinaires.csv``, in either form: the French deliverables, or the
machine form, which is preferred when a ``machine/`` subfolder holds it). Locally it is the output
root itself (the earlier period folders); in Kestra, the namespace files under ``history/``, which
the parent flow copies into the final task's working directory. Nothing else is read: the folder
names the period, the summary gives the figures, the extracts the product ids of each class.

Only what the pipeline published is history: a folder whose name is not exactly ``YYYY-MM``
(``_failed``, ``.staging-...``, ``.previous-...``) is never read, and a period folder without a
run summary is not a published period.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .extracts import machine_path, read_extract
from .labels_fr import ORDINARY_FILE, PREMIUM_FILE

SUMMARY_FILE = "run_summary.json"
HISTORY_FILES = (SUMMARY_FILE, PREMIUM_FILE, ORDINARY_FILE)  # what a period keeps for the next runs
LISTED = 100  # product ids listed per comparison list at most (the counts are always complete)


# A period, matched whole (fullmatch): "$" would let a trailing line break through, and the period
# names the published folder. ASCII digits only (\d also takes other scripts' digits).
PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _is_period(name: str) -> bool:
    return PERIOD.fullmatch(name) is not None


@dataclass
class PeriodFacts:
    """What a comparison needs of one month."""

    period: str
    ca_total: Decimal
    products: int
    premium_count: int
    # product id -> (wine name, premium?); None when the month's extracts are not available
    wines: dict[str, tuple[str, bool]] | None = field(default=None)


def _premium_ids(wines: dict[str, tuple[str, bool]]) -> set[str]:
    return {product_id for product_id, (_, premium) in wines.items() if premium}


def read_wines(folder: Path) -> dict[str, tuple[str, bool]] | None:
    """product id -> (name, premium?) from a folder's extracts (machine/ preferred), or None when
    they are missing."""
    wines: dict[str, tuple[str, bool]] = {}
    for name, premium in ((PREMIUM_FILE, True), (ORDINARY_FILE, False)):
        path = machine_path(folder, name)
        if not path.is_file():
            path = Path(folder) / name
        if not path.is_file():
            return None
        table = read_extract(path)
        for product_id, wine in zip(table["product_id"].to_pylist(), table["nom_du_vin"].to_pylist()):
            wines[product_id] = (wine or "", premium)
    return wines


def read_period(folder: Path) -> PeriodFacts:
    """One published period (raises on an unreadable summary: the caller decides)."""
    folder = Path(folder)
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    if summary.get("period") != folder.name:
        raise ValueError(f"run_summary.json is for {summary.get('period')!r}, not {folder.name}")
    return PeriodFacts(
        folder.name,
        Decimal(str(summary["ca_total"])),
        int(summary["products"]),
        int(summary["premium_count"]),
        read_wines(folder),
    )


@dataclass
class History:
    """The readable earlier periods of a history folder, and those that could not be read."""

    periods: dict[str, Path]
    unreadable: dict[str, str]  # period -> why

    def before(self, period: str) -> list[str]:
        return sorted(p for p in self.periods if p < period)


def scan(root: Path | None) -> History:
    """The published periods of a history folder (a missing folder is an empty history: the
    first run, or a Kestra namespace without ``history/`` yet)."""
    periods: dict[str, Path] = {}
    unreadable: dict[str, str] = {}
    if root is None or not Path(root).is_dir():
        return History(periods, unreadable)
    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir() and _is_period(folder.name):
            if (folder / SUMMARY_FILE).is_file():
                periods[folder.name] = folder
            elif any(folder.iterdir()):
                unreadable[folder.name] = "run_summary.json absent"
    return History(periods, unreadable)


def year_ago(period: str) -> str:
    year, month = period.split("-")
    return f"{int(year) - 1:04d}-{month}"


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _pct(change: Decimal, base: Decimal) -> float | None:
    return None if base == 0 else float((change / base * 100).quantize(Decimal("0.01")))


def _sorted_ids(ids: set[str]) -> list[str]:
    """Numeric ids in numeric order, then the others (ids are text: '13127-1', 'bon-cadeau')."""
    return sorted(ids, key=lambda i: (0, int(i), i) if i.isdigit() else (1, 0, i))


def compare(current: PeriodFacts, root: Path | None) -> tuple[dict, dict[str, PeriodFacts]]:
    """The ``comparison`` object of run_summary.json, and the earlier months it used (by role:
    'previous', 'year_ago') for the messages and the deliverables.

    previous: the latest readable period before this one (whatever the gap: a month never
    published is skipped, and ``previous_period`` says which month was compared). year ago: the
    same month one year earlier, when it was published."""
    history = scan(root)
    used: dict[str, PeriodFacts] = {}
    unreadable = dict(history.unreadable)
    for period in reversed(history.before(current.period)):
        try:
            used["previous"] = read_period(history.periods[period])
            break
        except (OSError, ValueError, KeyError, TypeError) as err:  # a damaged earlier folder
            unreadable[period] = f"{type(err).__name__}: {err}"[:200]
    ago = year_ago(current.period)
    if ago in history.periods and ago not in unreadable:
        try:
            used["year_ago"] = (
                used["previous"]
                if used.get("previous") and used["previous"].period == ago
                else read_period(history.periods[ago])
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            unreadable[ago] = f"{type(err).__name__}: {err}"[:200]

    comparison: dict = {
        "previous_period": None,
        "previous_ca_total": None,
        "ca_change": None,
        "ca_change_pct": None,
        "products_change": None,
        "premium_entered": None,
        "premium_left": None,
        "products_lost": None,
        "products_lost_share": None,
        "products_lost_ids": None,
        "products_new": None,
        "year_ago_period": None,
        "year_ago_ca_total": None,
        "year_ago_ca_change": None,
        "year_ago_ca_change_pct": None,
        "names": {},  # product id -> wine name, for every id listed above
        "history_periods": history.before(current.period),  # the earlier periods found
        "history_unreadable": unreadable,
    }
    previous = used.get("previous")
    if previous is not None:
        comparison.update(_ca_against(current, previous, "previous_period", "previous_ca_total", "ca_change"))
        comparison["products_change"] = current.products - previous.products
        previous_wines, current_wines = previous.wines, current.wines
        if previous_wines is not None and current_wines is not None:
            lost = previous_wines.keys() - current_wines.keys()
            current_premium, previous_premium = _premium_ids(current_wines), _premium_ids(previous_wines)
            comparison.update(
                {
                    "premium_entered": _sorted_ids(current_premium - previous_premium),
                    "premium_left": _sorted_ids(previous_premium - current_premium),
                    "products_lost": len(lost),
                    "products_lost_share": round(len(lost) / len(previous_wines), 4) if previous_wines else 0.0,
                    "products_lost_ids": _sorted_ids(lost)[:LISTED],
                    "products_new": len(current_wines.keys() - previous_wines.keys()),
                }
            )
            listed = {*comparison["premium_entered"], *comparison["premium_left"], *comparison["products_lost_ids"]}
            wines = {**previous_wines, **current_wines}  # this month's name when both have one
            comparison["names"] = {i: wines[i][0] for i in _sorted_ids(listed)}
    year = used.get("year_ago")
    if year is not None:
        comparison.update(_ca_against(current, year, "year_ago_period", "year_ago_ca_total", "year_ago_ca_change"))
    return comparison, used


def _ca_against(current, other, period_key: str, total_key: str, change_key: str) -> dict:
    """The month's CA against another published month: that month, its CA, the change in EUR and in %."""
    change = current.ca_total - other.ca_total
    return {
        period_key: other.period,
        total_key: _money(other.ca_total),
        change_key: _money(change),
        f"{change_key}_pct": _pct(change, other.ca_total),
    }
