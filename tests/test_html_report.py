"""The run's HTML page (``rapport_qualite.html``, issue 14), read as text.

Two pages: November 2026 built from the sample after two published months (month_builders:
wines entering and leaving the premium list, products gone), and a ten-wine month written by hand
with two planted warnings (month_builders.PLANTED_WINES), whose every figure is computed by hand
below. How a browser lays the page out (phone, desktop, print): test_html_report_browser.py.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bottleneck_pipeline.html_report import histogram_chart, nice_step
from month_builders import month_facts, planted_month, published_months

NBSP = "\u00a0"
BUSINESS_FIRST = [
    "Comparaison avec les mois publiés",
    "Répartition du CA",
    "À corriger",
    "Les 10 produits au plus fort chiffre d'affaires",
    "Distribution des prix et seuil premium",
    "Volumes à chaque étape",
    "Contrôles réussis",
    "Sources",
]
FAMILIES = {
    "Schéma des fichiers",
    "Doublons",
    "Valeurs manquantes",
    "Volumétrie",
    "Chiffre d'affaires",
    "Z-score et classement",
    "Règles métier",
}


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> dict:
    return published_months(tmp_path_factory)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return planted_month(tmp_path_factory)


def page_of(folder: Path) -> str:
    return (folder / "rapport_qualite.html").read_text(encoding="utf-8")


# --- a small reader of the page: elements, classes, text ------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.attrs.get("class", "").split()):
                    found.append(child)
                found += child.all(tag, cls)
        return found


class PageReader(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def read_page(folder: Path) -> Node:
    reader = PageReader()
    reader.feed(page_of(folder))
    return reader.root


def warning_of(page: Node, check_id: str) -> Node:
    return next(w for w in page.all("div", "warning") if w.all("code")[-1].text() == check_id)


def table_rows(block: Node) -> list[dict[str, str]]:
    """A warning's rows, each cell under the heading it is labelled with."""
    return [{td.attrs["data-label"]: td.text() for td in tr.all("td")} for tr in block.all("tr") if tr.all("td")]


# --- the sample months ----------------------------------------------------------------------------


def test_html_page_shows_the_business_view_first(months):
    page = page_of(months["out"] / "2026-11")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert [h.split(" :")[0] for h in headings] == BUSINESS_FIRST
    assert "<h1>BottleNeck — chiffre d'affaires de novembre 2026</h1>" in page
    assert page.index('<div class="cards">') < page.index("<h2>")  # the figures before anything else


def test_html_page_compares_with_the_previous_month(months):
    page = page_of(months["out"] / "2026-11")
    c = months["november"]["comparison"]
    pct = f"{abs(c['ca_change_pct']):.2f}".replace(".", ",")
    trend = "en hausse" if c["ca_change"] > 0 else "en baisse"
    assert f"CA {trend} de {pct}{NBSP}% par rapport à octobre 2026" in page
    before = f"{c['previous_ca_total']:,.2f}".replace(",", NBSP).replace(".", ",") + f"{NBSP}€"
    assert f"contre {before})" in page
    bumped = months["bumped"]
    assert f"<li>{bumped} {month_facts(months['out'] / '2026-11')['names'][bumped]}</li>" in page
    for wine in c["premium_left"]:  # named, even those no longer in this month's extracts
        assert re.search(rf"<li>{re.escape(wine)} [^<]+</li>", page), wine
    assert "Même mois un an plus tôt (novembre 2025)" in page


def test_html_premium_lists_are_complete_behind_a_fold(months):
    folder = months["out"] / "2026-11"
    before, now = month_facts(months["out"] / "2026-10"), month_facts(folder)
    rows = {tr.all("th")[0].text(): tr for tr in read_page(folder).all("table", "kv")[0].all("tr")}
    for label, ids in (
        ("Vins entrés dans la liste premium", now["premium"] - before["premium"]),
        ("Vins sortis de la liste premium", before["premium"] - now["premium"]),
    ):
        [fold] = rows[label].all("details")
        assert fold.all("summary")[0].text() == f"{len(ids)}{NBSP}vin{'s' if len(ids) > 1 else ''}"
        assert {li.text().split(" ")[0] for li in fold.all("li")} == ids  # every wine, not the first few


def test_html_numbers_never_break(months):
    page = page_of(months["out"] / "2026-11")
    # Hashes left out: "SHA-256 033f..." is a label and a hash, not a number broken in two.
    text = re.sub(r"<[^>]+>", "", re.sub(r"<svg.*?</svg>|<style>.*?</style>|<code>.*?</code>", "", page, flags=re.S))
    figures = [months["november"]["ca_total"], months["november"]["comparison"]["previous_ca_total"]]
    for value in figures:
        plain = f"{value:,.2f}".replace(",", " ").replace(".", ",")
        assert plain not in text and plain.replace(" ", NBSP) + f"{NBSP}€" in text
    assert not re.search(r"[0-9] [0-9]{3}(?![0-9])|[0-9] [€%]", text)  # nor in the checks' messages


def test_html_warnings_say_what_to_fix(months):
    folder = months["out"] / "2026-11"
    page = page_of(folder)
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    warnings = [r for r in quality["results"] if not r["passed"] and r["severity"] == "warn"]
    assert warnings and f"À corriger : {len(warnings)}{NBSP}points" in page
    names = month_facts(folder)["names"]
    stock = next(r for r in warnings if r["id"] == "clean.erp.stock_status_consistent")
    block = warning_of(read_page(folder), stock["id"])
    assert "Fichier : erp.xlsx" in block.text()
    rows = table_rows(block)
    assert [(r["Ligne Excel"], r["Identifiant produit"]) for r in rows] == [
        (str(row["ligne"]), row["product_id"]) for row in stock["rows"]
    ]
    for row in rows:
        assert row["Vin"] == names.get(row["Identifiant produit"], "—")
    assert any(row["Vin"] != "—" for row in rows)  # some of these wines are in the report, named


def test_html_passed_checks_are_folded_by_family(months):
    folder = months["out"] / "2026-11"
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    passed_by_family: dict[str, set[str]] = {}
    for r in quality["results"]:
        if r["passed"]:
            passed_by_family.setdefault(r["family"], set()).add(r["id"])
    section = next(s for s in read_page(folder).all("section") if s.all("h2")[0].text() == "Contrôles réussis")
    folds = {}
    for fold in section.all("details"):
        label, count = re.fullmatch(
            rf"(.+) : ([0-9]+){NBSP}contrôles? réussis?", fold.all("summary")[0].text()
        ).groups()
        ids = {code.text() for code in fold.all("code")}
        assert int(count) == len(ids)
        folds[label] = ids
    assert set(folds) <= FAMILIES and len(folds) == len(passed_by_family)
    assert sorted(map(sorted, folds.values())) == sorted(map(sorted, passed_by_family.values()))
    assert sum(len(ids) for ids in folds.values()) == quality["passed"]
    assert not re.search(r"<details[^>]* open", page_of(folder).split("<h2>Contrôles réussis</h2>")[1])  # folded


def test_html_charts_scale_to_the_page(months):
    page = page_of(months["out"] / "2026-11")
    figures = re.findall(r'<figure id="([a-z-]+)">', page)
    assert figures == ["repartition", "top-produits", "distribution-prix", "volumes"]
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 1 and 'preserveAspectRatio="none"' in svgs[0]  # the histogram's bars only
    # Nothing drawn at a fixed width: the SVG takes its plot's size, and no CSS width is in pixels.
    assert " width=" not in svgs[0] and not re.search(r"(?<![-a-z])width:\s*[0-9.]+px", page)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media print" in page and "break-inside: avoid" in page and "break-after: avoid" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # offline, no script


# --- the hand-written month: every figure computed by hand ----------------------------------------
# CA: 1,250.00 x 9 + 80.50 x 4 + 19.90 x 3 + 45 x 5 + 60 x 2 + 25.99 x 3 + 30 x 3 + 35 x 2 + 40 + 91
#   = 11,250.00 + 1,095.67 = 12,345.67 EUR. Prices: sum 1,677.39, mean 167.739; squared deviations
#   sum to 1,306,319.01889, / 10 = 130,631.901889, population std 361.4304; premium cut-off
#   167.739 + 2 x 361.4304 = 890.5997 EUR: only 101 (1,250 EUR, z = 2.99) is premium.
#   Split: 11,250.00 / 12,345.67 = 91.13 %, 1,095.67 / 12,345.67 = 8.87 %.


def test_planted_month_figures(planted):
    page = read_page(planted)
    cards = {card.children[0].strip(): card.all("b")[0].text() for card in page.all("div", "card")}
    assert cards == {
        "CA total": f"12{NBSP}345,67{NBSP}€",
        "Produits": "10",
        "Vins premium": "1",
        "Vins ordinaires": "9",
    }
    [split] = [f for f in page.all("figure") if f.attrs["id"] == "repartition"]
    assert [li.text() for li in split.all("li")] == [
        f"vins premium (1) : 11{NBSP}250,00{NBSP}€, soit 91,13{NBSP}% du CA",
        f"vins ordinaires (9) : 1{NBSP}095,67{NBSP}€, soit 8,87{NBSP}% du CA",
    ]
    text = page.text()
    assert f"Prix moyen 167,74{NBSP}€, écart-type 361,43{NBSP}€ (population)" in text
    assert f"soit un prix supérieur à 890,60{NBSP}€" in text
    [top] = [f for f in page.all("figure") if f.attrs["id"] == "top-produits"]
    assert [(li.all("span", "name")[0].text(), li.all("span", "value")[0].text()) for li in top.all("li")[:3]] == [
        ("1. Château Grand Témoin 2015", f"11{NBSP}250,00{NBSP}€"),
        ("2. Cuvée Deux", f"322,00{NBSP}€"),
        ("3. Cuvée Quatre", f"225,00{NBSP}€"),
    ]


def test_planted_warnings_name_the_product_the_value_the_file_and_the_excel_row(planted):
    page = read_page(planted)
    assert "À corriger : 2\u00a0points" in [h.text() for h in page.all("h2")]
    stock = warning_of(page, "clean.erp.stock_status_consistent")
    assert "Fichier : erp.xlsx" in stock.text()
    assert "(103)" in stock.all("p")[0].text()
    assert stock.all("summary")[0].text() == f"Détail : 1{NBSP}ligne"
    assert table_rows(stock) == [
        {
            "Ligne Excel": "4",
            "Identifiant produit": "103",
            "Stock": "7",
            "Statut de stock": "outofstock",
            "Vin": "Cuvée Trois 2019",
        }
    ]
    price = warning_of(page, "clean.erp.no_negative_price")
    assert "Fichier : erp.xlsx" in price.text()
    assert table_rows(price) == [{"Ligne Excel": "12", "Identifiant produit": "111", "Prix (€)": f"−8,00{NBSP}€"}]


def test_planted_histogram_has_a_count_axis_a_price_axis_and_a_legend(planted):
    # 25 EUR bands (1,250 / 50 rounded to 1, 2, 2.5 or 5 x 10^k) from 0 to 1,275: 0-25: 19.90;
    # 25-50: 25.99, 30, 35, 40, 45; 50-75: 60; 75-100: 80.50, 91; 1,250-1,275: 1,250 (premium).
    # The tallest band holds 5 wines: a count axis 0 to 5 by 1; prices 0 to 1,275 by 500.
    [figure] = [f for f in read_page(planted).all("figure") if f.attrs["id"] == "distribution-prix"]
    [chart] = figure.all("div", "hist")
    assert [s.text() for s in chart.all("div", "y-ticks")[0].all("span")] == ["0", "1", "2", "3", "4", "5"]
    assert chart.all("div", "y-title")[0].text() == "nombre de vins"
    assert [s.text() for s in chart.all("div", "x-ticks")[0].all("span")] == ["0", "500", f"1{NBSP}000"]
    assert chart.all("div", "x-title")[0].text() == "prix (€)"
    assert chart.all("div", "cut-label")[0].text() == f"seuil premium (z = 2) : 890,60{NBSP}€"
    assert [li.text() for li in figure.all("ul", "legend")[0].all("li")] == [
        "vins ordinaires",
        "vins premium (z > 2)",
        f"seuil premium : 890,60{NBSP}€",
    ]
    bars = [r.all("title")[0].text() for r in chart.all("rect")]
    assert bars == [
        f"1{NBSP}vin ordinaire entre 0 et 25{NBSP}€",
        f"5{NBSP}vins ordinaires entre 25 et 50{NBSP}€",
        f"1{NBSP}vin ordinaire entre 50 et 75{NBSP}€",
        f"2{NBSP}vins ordinaires entre 75 et 100{NBSP}€",
        f"1{NBSP}vin premium entre 1{NBSP}250 et 1{NBSP}275{NBSP}€",
    ]


def test_planted_numbers_use_no_break_spaces(planted):
    page = page_of(planted)
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>|<code>.*?</code>", "", page, flags=re.S)))
    assert f"12{NBSP}345,67{NBSP}€" in text and f"11{NBSP}250,00{NBSP}€" in text
    assert not re.search(r"[0-9] [0-9]{3}(?![0-9])|[0-9] [€%]", text)


# --- the pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "span, parts, whole, step",
    [
        (236.66, 50, False, 5),  # the real month's prices: 5 EUR bands
        (1250, 50, False, 25),
        (1275, 5, False, 500),
        (230, 5, True, 50),  # counts: no 2.5
        (3, 5, True, 1),  # never below one wine
        (0, 5, True, 1),
    ],
)
def test_axis_steps_are_round(span, parts, whole, step):
    assert nice_step(span, parts, whole) == step


def test_histogram_of_a_single_price_still_has_its_axes():
    # Three wines at 12.30 EUR (std 0: cut-off 12.30): bands of 0.25 (12.3 / 50 -> 0.25), the
    # three in the band 12.25-12.50; counts 0 to 3 by 1.
    chart = histogram_chart([(12.3, False)] * 3, 12.3, 2.0)
    assert f"3{NBSP}vins ordinaires entre 12,25 et 12,5{NBSP}€" in chart
    assert '<span style="bottom:100.00%">3</span>' in chart
    assert histogram_chart([], 0, 2.0) == "<p>Aucun prix.</p>"
