"""The French run report (``rapport_qualite.html``): one self-contained page per run, no network,
no script.

Built only from what the run publishes (run_summary.json, quality_report.json and the two
extracts), so Kestra's final task and the local runner produce the same page.

Order: the business view first (figures, comparison with the earlier months, CA split, what the
CA is), then what to fix (each warning with its rows: file, Excel row, product names, values),
then the charts, and last the passed checks folded by family. Numbers use no-break spaces (French
thousands separator, before '€' and '%'), so that a figure never breaks across lines.

Layout, mobile first (measured in a headless Chromium by tests/test_html_report_browser.py):
nothing is wider than a 375 px phone (codes and hashes wrap; a warning's table becomes one card
per row). Chart text never shrinks with the screen: the bar charts are HTML, and the price
histogram draws only its bars in an SVG stretched to the plot, between HTML axis labels. In print,
each chart stays on the page of its heading and the warnings' folded rows unfold.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Literal, overload

import pyarrow as pa

from . import labels_fr
from .extracts import read_extract
from .pipeline import STAGES

HTML_FILE = "rapport_qualite.html"
WINE = "#5B2333"
GOLD = "#C9A227"
GREY = "#8a8a8a"
NBSP = "\u00a0"
VALUE_ROOM = "7.5rem"  # room left after the longest bar for its value ('1 234 567,89 €')

FAMILY_LABELS = {
    "schema": "Schéma des fichiers",
    "duplicates": "Doublons",
    "missing_values": "Valeurs manquantes",
    "volumes": "Volumétrie",
    "revenue": "Chiffre d'affaires",
    "zscore": "Z-score et classement",
    "business": "Règles métier",
}
ROW_LABELS = {
    "ligne": "Ligne Excel",
    "product_id": "Identifiant produit",
    "sku": "SKU web",
    "nom_du_vin": "Vin",
    "price_eur": "Prix (€)",
    "price": "Prix (€)",
    "prix": "Prix (€)",
    "ca": "CA (€)",
    "unites": "Unités vendues",
    "total_sales": "Ventes (total_sales)",
    "stock_quantity": "Stock",
    "stock_status": "Statut de stock",
    "post_type": "Type de ligne (post_type)",
    "linked_sku": "SKU lié",
    "erp_product_id": "Produit ERP lié",
    "id_web": "SKU web (id_web)",
    "near_sku": "SKU voisin",
    "near_product_id": "Identifiant voisin",
    "colonne": "Colonne à corriger",
    "period": "Mois",
    "raison": "Raison",
}
MONEY_KEYS = ("price_eur", "price", "prix", "ca", "prix_eur", "ca_eur", "revenue_eur")
SOURCE_FILE = re.compile(r"^(erp|web|liaison)\.xlsx\b")  # a check's message that opens on its file


def _euros(value: float) -> str:
    sign = "−" if round(value, 2) < 0 else ""  # the minus sign, as in the other signed figures
    return sign + f"{abs(value):,.2f}".replace(",", NBSP).replace(".", ",") + f"{NBSP}€"


def _signed_euros(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + _euros(abs(value))


def _int(value: int) -> str:
    return f"{value:,}".replace(",", NBSP)


def _signed_int(value: int) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + _int(abs(value))


def _pct(value: float, signed: bool = False) -> str:
    sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ("−" if value < 0 else "")
    return sign + f"{abs(value):.2f}".replace(".", ",") + f"{NBSP}%"


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{_int(n)}{NBSP}{singular if n == 1 else (plural or singular + 's')}"


def _tick(value: float) -> str:
    """An axis value as short as it can be: '250', '2,5', '1 000'."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", NBSP).replace(".", ",").replace("-", "−")


_NUMBER_SPACE = re.compile(r"(?<=\d) (?=\d{3}(?!\d))|(?<=\d) (?=[€%])")


def _esc(value) -> str:
    """Escaped text, with no-break spaces inside numbers ('2 878', '70 568,60 €', '1 %') so that
    a figure never breaks across lines, whoever wrote the message."""
    return _NUMBER_SPACE.sub(NBSP, html.escape(str(value)))


def read_extracts(folder: Path) -> pa.Table:
    """Both extracts, with an ``is_premium`` column."""
    tables = []
    for name, premium in ((labels_fr.PREMIUM_FILE, True), (labels_fr.ORDINARY_FILE, False)):
        table = read_extract(folder / name)
        tables.append(table.append_column("is_premium", pa.array([premium] * table.num_rows, pa.bool_())))
    wines = pa.concat_tables(tables)
    for column in ("prix_eur", "ca_eur"):  # charts want floats, whatever the reader inferred
        wines = wines.set_column(wines.schema.get_field_index(column), column, wines[column].cast(pa.float64()))
    return wines


# --- charts ------------------------------------------------------------------------------------


@overload
def nice_step(span: float, parts: int, whole: Literal[False] = False) -> float: ...
@overload
def nice_step(span: float, parts: int, whole: Literal[True]) -> int: ...
def nice_step(span: float, parts: int, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten; no 2.5 and at least 1 when ``whole``)
    cutting ``span`` into about ``parts`` parts: axis ticks and price bands a reader takes in."""
    raw = span / parts if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if raw <= m * power * (1 + 1e-9))
    return max(1, round(step)) if whole else step


def _bar(percent: float, value: str, kind: str = "") -> str:
    """A bar and its value right after it: the bar takes ``percent`` of the width the value leaves."""
    width = f"calc((100% - {VALUE_ROOM}) * {percent / 100:.4f})"
    return (
        f'<span class="track"><span class="bar {kind}" style="width:{width}"></span>'
        f'<span class="value">{value}</span></span>'
    )


def _legend(items: list[tuple[str, str]]) -> str:
    return '<ul class="legend">' + "".join(f'<li><i class="key {k}"></i>{text}</li>' for k, text in items) + "</ul>"


def split_chart(summary: dict, wines: pa.Table) -> str:
    """The CA split between premium and ordinary wines: one stacked bar and its legend."""
    premium = sum(ca for ca, p in zip(wines["ca_eur"].to_pylist(), wines["is_premium"].to_pylist()) if p and ca)
    total = summary["ca_total"] or 0
    parts = [
        ("premium", premium, summary["premium_count"]),
        ("ordinaires", total - premium, summary["ordinary_count"]),
    ]
    texts = [
        f"vins {label} ({_int(count)}) : {_euros(value)}, soit {_pct(0 if not total else value / total * 100)} du CA"
        for label, value, count in parts
    ]
    segments = "".join(
        f'<span class="bar {kind}" style="width:{value / total * 100:.2f}%" title="{text}"></span>'
        for (_, value, _), kind, text in zip(parts, ("premium", ""), texts)
        if total and value > 0
    )
    return f'<div class="stack" role="img" aria-label="{"; ".join(texts)}">{segments}</div>' + _legend(
        [("premium", texts[0]), ("", texts[1])]
    )


def top_products_chart(names: list[str], revenues: list[float]) -> str:
    """The best sellers by CA, one bar each, the wine's full name above its bar."""
    if not revenues:
        return "<p>Aucun produit.</p>"
    top = max(revenues) or 1
    items = "".join(
        f'<li><span class="name">{rank}. {_esc(name)}</span>{_bar(revenue / top * 100, _euros(revenue))}</li>'
        for rank, (name, revenue) in enumerate(zip(names, revenues), start=1)
    )
    return f'<ol class="bars">{items}</ol>'


def funnel_chart(summary: dict) -> str:
    """Rows in and out of each stage, two bars per stage."""
    stages = [s for s in STAGES if s in summary["stages"]]
    top = max(max(summary["stages"][s]["rows_in"], summary["stages"][s]["rows_out"]) for s in stages) or 1
    items = "".join(
        f'<li><span class="name">{_esc(labels_fr.STAGE_LABELS[stage])}</span>'
        + "".join(
            _bar(summary["stages"][stage][key] / top * 100, _int(summary["stages"][stage][key]), kind)
            for key, kind in (("rows_in", "in"), ("rows_out", ""))
        )
        + "</li>"
        for stage in stages
    )
    return f'<ol class="bars">{items}</ol>' + _legend([("in", "lignes en entrée"), ("", "lignes en sortie")])


def histogram_chart(wines: list[tuple[float, bool]], cutoff: float, threshold: float) -> str:
    """Wines per price band, premium stacked on ordinary, with a count axis, a price axis, the
    premium cut-off price (z = threshold) as a dashed line, and a legend. The bars are an SVG
    stretched to the plot; every label is HTML, so that it keeps its size on a phone."""
    if not wines:
        return "<p>Aucun prix.</p>"
    top_price = max(max(price for price, _ in wines), cutoff)
    low = min(0.0, min(price for price, _ in wines))
    band = nice_step(top_price - low, 50)
    low = math.floor(low / band) * band
    bands = int((top_price - low) // band) + 1
    high = low + bands * band
    ordinary, premium = [0] * bands, [0] * bands
    for price, is_premium in wines:
        (premium if is_premium else ordinary)[min(bands - 1, int((price - low) // band))] += 1
    most = max(o + p for o, p in zip(ordinary, premium))
    y_step = nice_step(most, 5, whole=True)
    y_top = math.ceil(most / y_step) * y_step

    def x(value: float) -> float:  # percent of the plot's width
        return (value - low) / (high - low) * 100

    rects = []
    for i, (o, p) in enumerate(zip(ordinary, premium)):
        span = f"entre {_tick(low + i * band)} et {_tick(low + (i + 1) * band)}{NBSP}€"
        for count, base, color, label in ((o, 0, WINE, "ordinaire"), (p, o, GOLD, "premium")):
            if count:
                rects.append(
                    f'<rect x="{i * 10 + 0.75}" y="{y_top - base - count}" width="8.5" height="{count}" '
                    f'fill="{color}"><title>{_plural(count, "vin " + label, "vins " + label + "s")} '
                    f"{span}</title></rect>"
                )
    y_values = range(0, y_top + 1, y_step)
    grid = "".join(f'<div class="grid" style="bottom:{v / y_top * 100:.2f}%"></div>' for v in y_values if v)
    y_ticks = "".join(f'<span style="bottom:{v / y_top * 100:.2f}%">{_int(v)}</span>' for v in y_values)
    x_step = nice_step(high - low, 5)
    first = math.ceil(low / x_step - 1e-9)
    x_values = [k * x_step for k in range(first, int(high / x_step + 1e-9) + 1)]
    x_ticks = "".join(f'<span style="left:{x(v):.2f}%">{_tick(v)}</span>' for v in x_values)
    cut = x(cutoff)
    label = f"seuil premium (z = {threshold:g}) : {_euros(cutoff)}"
    place = f"padding-left:{cut:.2f}%" if cut <= 50 else f"text-align:right;padding-right:{100 - cut:.2f}%"
    svg = (
        f'<svg viewBox="0 0 {bands * 10} {y_top}" preserveAspectRatio="none" aria-hidden="true">{"".join(rects)}</svg>'
    )
    return (
        f'<div class="hist" role="img" aria-label="Nombre de vins par tranche de prix de {_tick(band)}{NBSP}€ ; '
        f'{_esc(label)}"><div class="cut-label" style="{place}">{label}</div>'
        '<div class="y-title">nombre de vins</div>'
        f'<div class="y-ticks">{y_ticks}</div>'
        f'<div class="plot">{grid}{svg}<div class="cut-line" style="left:{cut:.2f}%"></div></div>'
        f'<div class="x-ticks">{x_ticks}</div><div class="x-title">prix (€)</div></div>'
        + _legend(
            [
                ("", "vins ordinaires"),
                ("premium", f"vins premium (z &gt; {threshold:g})"),
                ("cut", f"seuil premium : {_euros(cutoff)}"),
            ]
        )
    )


# --- sections ---------------------------------------------------------------------------------


def _comparison_section(summary: dict, names: dict[str, str]) -> str:
    c = summary.get("comparison") or {}
    names = {**(c.get("names") or {}), **names}
    if not c.get("previous_period"):
        return (
            "<p>Premier mois publié : aucun mois antérieur à comparer. Les mois suivants seront "
            "comparés à celui-ci.</p>"
        )
    previous = labels_fr.period_fr(c["previous_period"])
    lines = []
    if c["ca_change_pct"] is not None:
        trend = "en hausse" if c["ca_change"] > 0 else "en baisse" if c["ca_change"] < 0 else "stable"
        lines.append(
            f'<p class="lead">CA {trend} de {_pct(abs(c["ca_change_pct"]))} par rapport à {previous} '
            f"({_signed_euros(c['ca_change'])}, contre {_euros(c['previous_ca_total'])}).</p>"
        )
    rows = [
        ("Mois comparé", _esc(previous)),
        ("CA de ce mois-là", _euros(c["previous_ca_total"])),
        (
            "Évolution du CA",
            f"{_signed_euros(c['ca_change'])}"
            + (f" ({_pct(c['ca_change_pct'], signed=True)})" if c["ca_change_pct"] is not None else ""),
        ),
        ("Évolution du nombre de produits", _signed_int(c["products_change"])),
    ]
    for key, label in (
        ("premium_entered", "Vins entrés dans la liste premium"),
        ("premium_left", "Vins sortis de la liste premium"),
    ):
        ids = c.get(key)
        rows.append((label, "non mesuré" if ids is None else _id_list(ids, names)))
    if c.get("products_lost") is not None:
        rows.append(
            (
                f"Produits {_esc(labels_fr.of_period(c['previous_period']))} absents de ce rapport",
                f"{_int(c['products_lost'])} ({_pct(c['products_lost_share'] * 100)})",
            )
        )
    if c.get("year_ago_period"):
        rows.append(
            (
                f"Même mois un an plus tôt ({_esc(labels_fr.period_fr(c['year_ago_period']))})",
                f"{_euros(c['year_ago_ca_total'])}, évolution {_pct(c['year_ago_ca_change_pct'], signed=True)}"
                if c["year_ago_ca_change_pct"] is not None
                else _euros(c["year_ago_ca_total"]),
            )
        )
    else:
        rows.append(("Même mois un an plus tôt", "non publié"))
    table = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return "".join(lines) + f'<table class="kv">{table}</table>'


def _id_list(ids: list[str], names: dict[str, str]) -> str:
    if not ids:
        return "aucun"
    items = "".join(f"<li>{_esc(i)} {_esc(names.get(i, ''))}</li>" for i in ids)
    head = _plural(len(ids), "vin")
    return f'<details class="unfold"><summary>{head}</summary><ul>{items}</ul></details>'


def _file_of(result: dict) -> str | None:
    """The workbook to correct: named by the check's id (clean.erp.*), else by its message."""
    parts = result["id"].split(".")
    if len(parts) > 2 and parts[1] in ("erp", "web", "liaison"):
        return f"{parts[1]}.xlsx"
    found = SOURCE_FILE.match(result["message"])
    return found.group(0) if found else None


def _cell(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key in MONEY_KEYS:
        try:
            return _euros(float(value))
        except (TypeError, ValueError):
            pass
    if isinstance(value, int) and not isinstance(value, bool):
        return _int(value)
    return _esc(value)


def _rows_table(heads: list[str], rows: list[list[str]]) -> str:
    """A table that turns into one card per row on a phone (each cell labelled by its heading)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in heads)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{_esc(h)}">{cell}</td>' for h, cell in zip(heads, row)) + "</tr>"
        for row in rows
    )
    return f'<table class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _warning_block(r: dict, names: dict[str, str]) -> str:
    where = _file_of(r)
    rows = r.get("rows") or []
    table = ""
    if rows:
        keys = [
            k
            for k in dict.fromkeys(k for row in rows for k in row)
            if any(row.get(k) not in (None, "") for row in rows)
        ]
        with_names = (
            "product_id" in keys
            and "nom_du_vin" not in keys
            and any(names.get(str(row.get("product_id"))) for row in rows)
        )
        heads = [ROW_LABELS.get(k, k) for k in keys] + (["Vin"] if with_names else [])
        cells = [
            [_cell(k, row.get(k)) for k in keys]
            + ([_esc(names.get(str(row.get("product_id")), "—"))] if with_names else [])
            for row in rows
        ]
        shown, count = len(rows), r["offending_count"]
        caption = (
            f"{_plural(shown, 'première ligne', 'premières lignes')} sur {_int(count)} (quality_report.json garde "
            f"{_int(shown)}{NBSP}lignes par contrôle ; le message ci-dessus en dit plus)"
            if count > shown
            else _plural(count, "ligne")
        )
        table = f'<details class="unfold"><summary>Détail : {caption}</summary>{_rows_table(heads, cells)}</details>'
    file_note = f'<p class="where">Fichier : <b>{_esc(where)}</b></p>' if where else ""
    kind = "warning error" if r["severity"] == "error" else "warning"
    return (
        f'<div class="{kind}"><h3>{_esc(r["description"])}</h3><p>{_esc(r["message"])}</p>{file_note}'
        f'{table}<p class="id"><code>{_esc(r["id"])}</code></p></div>'
    )


def _passed_by_family(results: list[dict]) -> str:
    by_family = defaultdict(list)
    for r in results:
        if r["passed"]:
            by_family[r["family"]].append(r)
    blocks = []
    for family, label in FAMILY_LABELS.items():
        checks = by_family.get(family)
        if not checks:
            continue
        rows = [
            [
                _esc(labels_fr.STAGE_LABELS.get(r["stage"], r["stage"])),
                _esc(r["description"]),
                f"<code>{_esc(r['id'])}</code>",
            ]
            for r in checks
        ]
        blocks.append(
            f"<details><summary>{_esc(label)} : {_plural(len(checks), 'contrôle réussi', 'contrôles réussis')}"
            f"</summary>{_rows_table(['Étape', 'Contrôle', 'Identifiant'], rows)}</details>"
        )
    return "".join(blocks)


STYLE = f"""
*, *::before, *::after {{ box-sizing: border-box; }}
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #222;
  line-height: 1.4; overflow-wrap: break-word; }}
h1 {{ color: {WINE}; font-size: 1.6rem; margin-top: 0; }}
h2 {{ border-bottom: 2px solid {WINE}; padding-bottom: .2rem; margin-top: 2rem; }}
h3 {{ margin: .2rem 0; font-size: 1rem; }}
code {{ overflow-wrap: anywhere; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .8rem; }}
.card {{ flex: 1 1 9rem; border: 1px solid #ddd; border-radius: 8px; padding: .8rem; }}
.card b {{ display: block; font-size: 1.4rem; color: {WINE}; white-space: nowrap; }}
.lead {{ font-size: 1.1rem; font-weight: 600; }}
table {{ border-collapse: collapse; width: 100%; font-size: .85rem; }}
td, th {{ border-bottom: 1px solid #eee; padding: .3rem; text-align: left; vertical-align: top; }}
table.kv th {{ width: 40%; font-weight: 600; }}
.warning {{ border-left: 4px solid {GOLD}; background: #fff8e6; padding: .5rem .8rem; margin: .8rem 0; }}
.warning.error {{ border-color: #b00020; background: #fde2e2; }}
.where, .id {{ margin: .2rem 0; font-size: .85rem; }} .status {{ font-weight: bold; }}
details summary {{ cursor: pointer; }}
figure {{ margin: 1rem 0; font-size: .85rem; }}
.bar, .key {{ display: inline-block; background: {WINE}; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.bar.premium, .key.premium {{ background: {GOLD}; }} .bar.in, .key.in {{ background: {GREY}; }}
.stack {{ display: flex; height: 1.8rem; }} .stack .bar {{ height: 100%; }}
.legend {{ list-style: none; padding: 0; margin: .4rem 0; }} .legend li {{ margin: .15rem 0; }}
.key {{ width: .8rem; height: .8rem; margin-right: .4rem; vertical-align: -.05rem; }}
.key.cut {{ background: none; width: 0; height: .9rem; border-left: 2px dashed #222; margin: 0 .55rem 0 .25rem; }}
.bars {{ list-style: none; padding: 0; margin: 0; }}
.bars li {{ margin: .5rem 0; }} .bars .name {{ display: block; }}
.track {{ display: flex; align-items: center; gap: .4rem; }} .track .bar {{ flex: none; height: .9rem; min-width: 1px; }}
.track .value {{ white-space: nowrap; }}
.hist {{ display: grid; grid-template-columns: 1.2rem 3rem 1fr; padding-right: 1.6rem;
  grid-template-areas: ". . cut" "ytitle yticks plot" ". . xticks" ". . xtitle"; }}
.cut-label {{ grid-area: cut; }}
.y-title {{ grid-area: ytitle; writing-mode: vertical-rl; transform: rotate(180deg); text-align: center; }}
.y-ticks {{ grid-area: yticks; position: relative; }}
.y-ticks span {{ position: absolute; right: .35rem; transform: translateY(50%); white-space: nowrap; }}
.y-ticks span:first-child {{ transform: none; }}
.plot {{ grid-area: plot; position: relative; height: 12rem; border-left: 1px solid #888; border-bottom: 1px solid #888; }}
.plot svg {{ position: absolute; inset: 0; width: 100%; height: 100%; }}
.grid {{ position: absolute; left: 0; right: 0; border-top: 1px solid #e4e4e4; }}
.cut-line {{ position: absolute; top: -.3rem; bottom: 0; border-left: 2px dashed #222; }}
.x-ticks {{ grid-area: xticks; position: relative; height: 1.4rem; }}
.x-ticks span {{ position: absolute; top: .15rem; transform: translateX(-50%); white-space: nowrap; }}
.x-title {{ grid-area: xtitle; text-align: center; }}
@media (max-width: 40rem) {{
  table.rows thead {{ display: none; }}
  table.rows tr {{ display: block; border-bottom: 1px solid #ccc; padding: .3rem 0; }}
  table.rows td {{ display: flex; gap: .5rem; border: 0; padding: .1rem .3rem; overflow-wrap: anywhere; }}
  table.rows td::before {{ content: attr(data-label); flex: 0 0 42%; font-weight: 600; }}
  table.kv th, table.kv td {{ display: block; width: auto; border: 0; padding: .1rem 0; }}
  table.kv tr {{ display: block; border-bottom: 1px solid #eee; padding: .3rem 0; }}
}}
@page {{ margin: 1.5cm; }}
@media print {{
  body {{ max-width: none; padding: 0; }}
  h2, h3 {{ break-after: avoid; }}
  section.chart, section.sources, .cards, .warning, table.kv, tr {{ break-inside: avoid; }}
}}
@media print {{ details.unfold::details-content {{ content-visibility: visible; display: block; }} }}
"""


def render(summary: dict, quality: dict, wines: pa.Table) -> str:
    names = {p: n for p, n in zip(wines["product_id"].to_pylist(), wines["nom_du_vin"].to_pylist()) if n}
    by_revenue = wines.sort_by([("ca_eur", "descending"), ("product_id", "ascending")]).slice(0, 10)
    top_names = [n or p for n, p in zip(by_revenue["nom_du_vin"].to_pylist(), by_revenue["product_id"].to_pylist())]
    priced = [
        (p, bool(k)) for p, k in zip(wines["prix_eur"].to_pylist(), wines["is_premium"].to_pylist()) if p is not None
    ]
    period = summary["period"]
    words = labels_fr.period_fr(period)
    errors, warnings = quality["errors"], [r for r in quality["results"] if not r["passed"] and r["severity"] == "warn"]
    failed = [r for r in quality["results"] if not r["passed"] and r["severity"] == "error"]
    status = (
        "Publié : aucun contrôle bloquant en échec" if errors == 0 else "Contrôle bloquant en échec : rien n'est publié"
    )
    status += (
        f", {_int(quality['passed'])}/{_int(quality['checks'])} contrôles réussis, "
        f"{_plural(len(warnings), 'avertissement')}."
    )
    cards = [
        ("CA total", _euros(summary["ca_total"])),
        ("Produits", _int(summary["products"])),
        ("Vins premium", _int(summary["premium_count"])),
        ("Vins ordinaires", _int(summary["ordinary_count"])),
    ]
    c = summary.get("comparison") or {}
    if c.get("ca_change_pct") is not None:
        cards.append(
            (f"Évolution sur {labels_fr.period_fr(c['previous_period'])}", _pct(c["ca_change_pct"], signed=True))
        )
    removed = "".join(
        f"<li>{_esc(table)} : {_esc(labels_fr.REMOVAL_REASONS.get(reason, reason))} — {_int(n)}</li>"
        for table, reasons in summary.get("removed_rows", {}).items()
        for reason, n in reasons.items()
    )
    sources = "".join(
        f"<li>{_esc(s['file'])} : {_int(s['rows'])}{NBSP}lignes, SHA-256 <code>{_esc(s['sha256'])}</code></li>"
        for s in summary.get("sources", {}).values()
    )
    price = summary["price"]
    to_fix = "".join(_warning_block(r, names) for r in failed + warnings)
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BottleNeck — chiffre d'affaires {_esc(labels_fr.of_period(period))}</title>
<style>{STYLE}</style></head><body>
<h1>BottleNeck — chiffre d'affaires {_esc(labels_fr.of_period(period))}</h1>
<p class="status">{status}</p>
<div class="cards">{"".join(f'<div class="card">{label}<b>{value}</b></div>' for label, value in cards)}</div>
<section><h2>Comparaison avec les mois publiés</h2>
{_comparison_section(summary, names)}</section>
<section class="chart"><h2>Répartition du CA</h2>
<figure id="repartition">{split_chart(summary, wines)}</figure></section>
<p><b>Définition du CA.</b> {_esc(labels_fr.CA_DEFINITION)} {_esc(labels_fr.VAT_NOTE)}</p>
<p>Ventes laissées hors du rapport : {_esc(summary.get("left_out", {}).get("message_fr", "non mesuré"))}</p>
<section><h2>À corriger : {_plural(len(failed) + len(warnings), "point")}</h2>
{to_fix or "<p>Aucun avertissement ce mois-ci.</p>"}</section>
<section class="chart"><h2>Les 10 produits au plus fort chiffre d'affaires</h2>
<figure id="top-produits">{top_products_chart(top_names, by_revenue["ca_eur"].to_pylist())}</figure></section>
<section class="chart"><h2>Distribution des prix et seuil premium</h2>
<p>Prix moyen {_euros(price["mean"])}, écart-type {_euros(price["std"])} (population). Un vin est premium quand son
z-score dépasse {summary["z_threshold"]:g}, soit un prix supérieur à {_euros(price["premium_cutoff_eur"])}.</p>
<figure id="distribution-prix">{histogram_chart(priced, price["premium_cutoff_eur"], summary["z_threshold"])}</figure>
</section>
<section class="chart"><h2>Volumes à chaque étape</h2><figure id="volumes">{funnel_chart(summary)}</figure>
<p>Lignes retirées au nettoyage, par motif :</p><ul>{removed or "<li>aucune</li>"}</ul></section>
<section><h2>Contrôles réussis</h2>
<p>{_int(quality["passed"])} contrôles réussis sur {_int(quality["checks"])}, regroupés par famille (cliquez pour déplier).</p>
{_passed_by_family(quality["results"])}</section>
<section class="sources"><h2>Sources</h2><ul>{sources}</ul>
<p><small>Période {_esc(words)} ({_esc(period)}), exécution {_esc(summary["run_id"])}.</small></p></section>
</body></html>
"""


def write_html_report(folder: Path) -> Path:
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    path = folder / HTML_FILE
    path.write_text(render(summary, quality, read_extracts(folder)), encoding="utf-8")
    return path
