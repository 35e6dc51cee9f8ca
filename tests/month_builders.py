"""Shared by the month-over-month tests (issue 14): running a month, reading the deliverables as
their users do (the French extracts as French Excel parses them: ';', decimal comma), building
later months from the sample, and the months published once for every test module.

Every expected value the tests derive from here comes from the files the runs published (the
extracts' rows, the summaries), never from the code under test."""

from __future__ import annotations

import csv
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bottleneck_pipeline.failures import DataRejected
from bottleneck_pipeline.logs import RunLog
from bottleneck_pipeline.runner import RunOptions, run
from conftest import SAMPLE, read_workbook, write_workbook

FRENCH_HEADER = ["Identifiant produit", "SKU web", "Vin", "Prix (€)", "Z-score du prix", "Quantité vendue", "CA (€)"]
MACHINE_HEADER = ["product_id", "sku", "nom_du_vin", "prix_eur", "z_score", "quantite_vendue", "ca_eur"]
FRENCH_NUMBER = re.compile(r"-?[0-9]+,[0-9]{2}")  # what French Excel reads as a number: 1234,50
FILES = ("vins_premium.csv", "vins_ordinaires.csv")


def run_month(input_dir: Path, output: Path, period: str, **options) -> dict:
    return run(
        RunOptions(input_dir, output, period, retry_delay=0, **options), RunLog("test", period, stream=io.StringIO())
    )


# --- reading the deliverables as their users do ------------------------------------------------


def french_rows(path: Path) -> list[dict]:
    """A French extract as French Excel reads it: ';' separated, quoted text, decimal comma.
    Numbers come back as Decimal; a number field that French Excel would not take for a number
    fails here."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";", quotechar='"')
        header = next(reader)
        assert header == FRENCH_HEADER
        rows = []
        for fields in reader:
            row = dict(zip(header, fields))
            for column in ("Prix (€)", "CA (€)", "Z-score du prix"):
                if row[column] != "":
                    assert FRENCH_NUMBER.fullmatch(row[column]), (column, row[column])
                    row[column] = Decimal(row[column].replace(",", "."))
            assert re.fullmatch(r"[0-9]*", row["Quantité vendue"])
            rows.append(row)
    return rows


def machine_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        assert reader.fieldnames == MACHINE_HEADER
        return list(reader)


def month_facts(folder: Path) -> dict:
    """A published month, from its files only: CA and wines of each class."""
    premium = french_rows(folder / "vins_premium.csv")
    ordinary = french_rows(folder / "vins_ordinaires.csv")
    wines = premium + ordinary
    return {
        "ca": sum((r["CA (€)"] for r in wines), Decimal(0)),
        "ids": {r["Identifiant produit"] for r in wines},
        "premium": {r["Identifiant produit"] for r in premium},
        "names": {r["Identifiant produit"]: r["Vin"] for r in wines},
        "products": len(wines),
    }


def numeric(ids) -> list[str]:
    return sorted(ids, key=lambda i: (0, int(i), i) if i.isdigit() else (1, 0, i))


# --- building months from the sample -------------------------------------------------------------


def variant(
    target: Path,
    *,
    sales_factor: int = 1,
    drop: tuple[str, ...] = (),
    prices: dict[str, float] | None = None,
    source: Path = SAMPLE,
) -> Path:
    """The sample's three workbooks, changed as a later month could be: products gone from the
    whole catalogue (ERP, link table and web), prices changed, every sale multiplied."""
    prices = prices or {}
    erp_columns, erp = read_workbook(source / "erp.xlsx")
    link_columns, links = read_workbook(source / "liaison.xlsx")
    web_columns, web = read_workbook(source / "web.xlsx")
    pid, price = erp_columns.index("product_id"), erp_columns.index("price")
    gone_skus = {str(row[1]) for row in links if str(row[0]) in drop and row[1] is not None}
    erp = [row for row in erp if str(row[pid]) not in drop]
    for row in erp:
        if str(row[pid]) in prices:
            row[price] = prices[str(row[pid])]
    links = [row for row in links if str(row[0]) not in drop]
    sku, sales = web_columns.index("sku"), web_columns.index("total_sales")
    web = [row for row in web if str(row[sku]) not in gone_skus]
    for row in web:
        if isinstance(row[sales], (int, float)):
            row[sales] = row[sales] * sales_factor
    write_workbook(target / "erp.xlsx", erp_columns, erp)
    write_workbook(target / "liaison.xlsx", link_columns, links)
    write_workbook(target / "web.xlsx", web_columns, web)
    return target


_PUBLISHED: dict = {}


def published_months(tmp_path_factory) -> dict:
    """Four published months: 2025-11 and 2026-10 from the sample, then a failed 2026-11 run
    (nothing published), then 2026-11 with 5 products gone, an unsold ordinary wine at 900 EUR
    (it enters the premium list, and widens the spread so that some premium wines leave it).

    Published once per test session and shared by the modules that read them (history, French
    deliverables, HTML page): each module's ``months`` fixture returns this. Tests that change a
    month work on a copy."""
    if _PUBLISHED:
        return _PUBLISHED
    root = tmp_path_factory.mktemp("months")
    out = root / "out"
    run_month(SAMPLE, out, "2025-11")
    october = run_month(SAMPLE, out, "2026-10")
    machine = machine_rows(out / "2026-10" / "machine" / "vins_ordinaires.csv")
    unsold = [r["product_id"] for r in machine if r["quantite_vendue"] == "0"]
    dropped = tuple(r["product_id"] for r in machine[10:15])
    bumped = unsold[-1]
    broken = root / "broken"
    broken.mkdir()
    (broken / "erp.xlsx").write_bytes(b"not a workbook")
    for name in ("web.xlsx", "liaison.xlsx"):
        shutil.copyfile(SAMPLE / name, broken / name)
    with pytest.raises(DataRejected):  # an unreadable workbook is a data rejection
        run_month(broken, out, "2026-11")
    november_in = variant(root / "nov", drop=dropped, prices={bumped: 900.0})
    november = run_month(november_in, out, "2026-11")
    _PUBLISHED.update(
        {
            "out": out,
            "october": october,
            "november": november,
            "dropped": dropped,
            "bumped": bumped,
            "november_in": november_in,
        }
    )
    return _PUBLISHED


# --- a month written by hand, with two planted warnings ------------------------------------------
# Ten wines sold online (product_id, web sku, price EUR, units sold, stock, stock status, name);
# ERP rows 2-11 in this order (Excel rows: the header is row 1), then row 12: product 111, not sold
# online, at a negative price. Planted: 103 has 7 bottles in stock but says 'outofstock' (warning
# clean.erp.stock_status_consistent, Excel row 4) and 111's price is -8.00 (warning
# clean.erp.no_negative_price, Excel row 12; a warning only, as 111 is not sold).
PLANTED_WINES = [
    (101, "S101", 1250.00, 9, 4, "instock", "Château Grand Témoin 2015"),  # CA 11,250.00: the premium wine
    (102, "S102", 80.50, 4, 2, "instock", "Cuvée Deux"),  # 322.00
    (103, "S103", 19.90, 3, 7, "outofstock", "Cuvée Trois 2019"),  # 59.70; the planted stock status
    (104, "S104", 45.00, 5, 12, "instock", "Cuvée Quatre"),  # 225.00
    (105, "S105", 60.00, 2, 3, "instock", "Cuvée Cinq"),  # 120.00
    (106, "S106", 25.99, 3, 5, "instock", "Cuvée Six"),  # 77.97
    (107, "S107", 30.00, 3, 5, "instock", "Cuvée Sept"),  # 90.00
    (108, "S108", 35.00, 2, 5, "instock", "Cuvée Huit"),  # 70.00
    (109, "S109", 40.00, 1, 5, "instock", "Cuvée Neuf"),  # 40.00
    (110, "S110", 91.00, 1, 5, "instock", "Cuvée Dix"),  # 91.00
]
_PLANTED: dict = {}


def planted_month(tmp_path_factory) -> Path:
    """The published folder of the hand-written month (2026-11), built once per test session."""
    if not _PLANTED:
        root = tmp_path_factory.mktemp("planted")
        erp = [[pid, 1, price, stock, status] for pid, _, price, _, stock, status, _ in PLANTED_WINES]
        write_workbook(
            root / "in" / "erp.xlsx",
            ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"],
            [*erp, [111, 0, -8.00, 0, "outofstock"]],
        )
        write_workbook(
            root / "in" / "web.xlsx",
            ["sku", "total_sales", "post_type", "post_title"],
            [[sku, units, "product", name] for _, sku, _, units, _, _, name in PLANTED_WINES],
        )
        write_workbook(
            root / "in" / "liaison.xlsx",
            ["product_id", "id_web"],
            [*([pid, sku] for pid, sku, *_ in PLANTED_WINES), [111, None]],
        )
        run_month(root / "in", root / "out", "2026-11")
        _PLANTED["folder"] = root / "out" / "2026-11"
    return _PLANTED["folder"]
