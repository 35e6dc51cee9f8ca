"""What a published run folder says: the run summary, the quality report and the two extracts.

Every figure of the deck comes from here (the tests read the same files independently).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from . import REPO
from .french import NBSP, resolve_plural_marks

SAMPLE = REPO / "data" / "sample"
# "erp.xlsx : 1 prix négatif(s)...": the file a message starts with.
MESSAGE_FILE = re.compile(r"^\s*([\w.-]+\.xlsx)\s*:\s*")
# The gates whose threshold the COPIL is asked to validate: their `expected` in the run's
# quality report says the threshold the run applied ("|variation| ≤ 30 %").
DRIFT_GATES = {"ca": "compare.ca.drift_within_limit", "products": "compare.products.lost_within_limit"}
PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


@dataclass
class Wine:
    product_id: str
    name: str
    price: Decimal
    revenue: Decimal
    premium: bool


@dataclass(frozen=True)
class RunWarning:
    """A warning of the run (a check that did not pass, severity warn)."""

    id: str
    stage: str
    family: str
    message: str
    source_file: str | None  # the workbook it is about, when it names one

    def short_text(self, limit: int = 120) -> str:
        """The warning in a few business words: its message without the file it starts with, up
        to its first sentence, without the details in brackets (ids, rows: in the notes and the
        HTML page), plurals written out, thousands joined by no-break spaces."""
        text = resolve_plural_marks(MESSAGE_FILE.sub("", self.message, count=1))
        text = re.split(r"\.\s|\s;\s", text, maxsplit=1)[0]
        text = re.sub(r"\s*\([^()]*\)", "", text).strip().rstrip(".")
        text = re.sub(r"(?<=\d)[ \u202f](?=\d{3}\b|[%€])", NBSP, text)
        if len(text) > limit:  # cut at the last clause that fits: "..., 20 unités vendues sur 5 670…"
            head = text[: limit - 1]
            cut = max(head.rfind(" et "), head.rfind(", "), head.rfind(" ; "))
            text = (head[:cut] if cut > limit // 2 else head.rsplit(" ", 1)[0]) + "…"
        return text[:1].upper() + text[1:]


@dataclass
class RunFacts:
    folder: Path
    summary: dict
    quality: dict
    wines: list[Wine]

    @property
    def period(self) -> str:
        return self.summary["period"]

    @property
    def premium(self) -> list[Wine]:
        return [w for w in self.wines if w.premium]

    @property
    def ordinary(self) -> list[Wine]:
        return [w for w in self.wines if not w.premium]

    @property
    def premium_ca(self) -> Decimal:
        return sum((w.revenue for w in self.premium), Decimal(0))

    @property
    def ordinary_ca(self) -> Decimal:
        return sum((w.revenue for w in self.ordinary), Decimal(0))

    def top(self, n: int = 10) -> list[Wine]:
        return sorted(self.wines, key=lambda w: (-w.revenue, w.product_id))[:n]

    @property
    def from_sample(self) -> bool:
        """True when the run read the bundled synthetic sample (same SHA-256 for every source)."""
        sources = self.summary.get("sources", {}).values()
        return bool(sources) and all(
            (SAMPLE / s["file"]).is_file()
            and hashlib.sha256((SAMPLE / s["file"]).read_bytes()).hexdigest() == s["sha256"]
            for s in sources
        )

    @property
    def comparison(self) -> dict | None:
        """The run summary's comparison with the previous published month, None without one."""
        comparison = self.summary.get("comparison") or {}
        return comparison if comparison.get("previous_period") else None

    @property
    def warnings(self) -> list[RunWarning]:
        files = {table: s["file"] for table, s in self.summary.get("sources", {}).items()}
        return [
            RunWarning(r["id"], r["stage"], r["family"], r["message"], source_file(r["id"], r["message"], files))
            for r in self.quality["results"]
            if not r["passed"] and r["severity"] == "warn"
        ]

    def drift_thresholds(self) -> dict[str, str | None]:
        """'30 %' and '20 %': the drift alert's thresholds as the run applied them (None if absent)."""
        expected = {r["id"]: str(r.get("expected", "")) for r in self.quality["results"]}
        found = {}
        for key, gate_id in DRIFT_GATES.items():
            match = PERCENT.search(expected.get(gate_id, ""))
            found[key] = f"{match[1]}{NBSP}%" if match else None
        return found

    def lost_sales_ceiling(self) -> float | None:
        """The share of sales allowed not to reach the report (0.01), as the run applied it."""
        ceiling = (self.summary.get("left_out") or {}).get("plafond")
        return float(ceiling) if ceiling is not None else None


def source_file(check_id: str, message: str, files: dict[str, str]) -> str | None:
    """The workbook a check is about: the table its id names (``clean.erp.…``), else the file its
    message starts with (``liaison.xlsx : …``), else None (a pipeline matter)."""
    parts = check_id.split(".")
    if len(parts) > 2 and parts[1] in files:
        return files[parts[1]]
    match = MESSAGE_FILE.match(message or "")
    return match[1] if match else None


def read_run(folder: Path) -> RunFacts:
    from bottleneck_pipeline import labels_fr
    from bottleneck_pipeline.publish import QUALITY_FILE, SUMMARY_FILE

    folder = Path(folder)
    for name in (SUMMARY_FILE, QUALITY_FILE, labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE):
        if not (folder / name).is_file():
            raise SystemExit(f"{folder}: {name} is missing; pass a published run folder (OUTPUT/PERIOD)")
    summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    quality = json.loads((folder / QUALITY_FILE).read_text(encoding="utf-8"))
    wines = []
    for name, premium in ((labels_fr.PREMIUM_FILE, True), (labels_fr.ORDINARY_FILE, False)):
        # The machine form (technical headers, decimal point) when present, else the French one.
        path = folder / labels_fr.MACHINE_DIR / name
        machine = path.is_file()
        columns = labels_fr.EXTRACT_COLUMNS if machine else labels_fr.EXTRACT_HEADINGS_FR
        amount = Decimal if machine else lambda text: Decimal(text.replace(labels_fr.DECIMAL_COMMA, "."))
        with open(path if machine else folder / name, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=labels_fr.CSV_SEPARATOR):
                wines.append(
                    Wine(
                        row[columns["product_id"]],
                        row[columns["product_name"]] or row[columns["product_id"]],
                        amount(row[columns["price_eur"]]),
                        amount(row[columns["revenue_eur"]]),
                        premium,
                    )
                )
    return RunFacts(folder, summary, quality, wines)
