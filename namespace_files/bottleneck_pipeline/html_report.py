"""The French run report (``rapport_qualite.html``): one self-contained page per run, no network.

Built only from what the run publishes (run_summary.json, quality_report.json and the two
extracts), so Kestra's final task and the local runner produce the same page. Charts are inline
SVG scaled to the page (``viewBox``), readable on a phone and printed with their headings.

Order: the business view first (figures, comparison with the earlier months, CA split, what the
CA is), then what to fix (each warning with its rows, file and Excel row, product names), then
the charts, and last the passed checks folded by family. Numbers use no-break spaces (French
thousands separator, before '€' and '%'), so that a figure never breaks across lines.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from . import STAGES, labels_fr
from .extracts import read_extract

HTML_FILE = "rapport_qualite.html"
WINE = "#5B2333"
GOLD = "#C9A227"
GREY = "#8a8a8a"
NBSP = "\u00a0"

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
    "prix": "Prix (€)",
    "ca": "CA (€)",
    "unites": "Unités vendues",
    "stock_quantity": "Stock",
    "stock_status": "Statut de stock",
    "colonne": "Colonne à corriger",
    "period": "Mois",
    "raison": "Raison",
}
MONEY_KEYS = ("price_eur", "prix", "ca", "prix_eur", "ca_eur", "revenue_eur")


def _euros(value: float) -> str:
    return f"{value:,.2f}".replace(",", NBSP).replace(".", ",") + f"{NBSP}€"


def _signed_euros(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + _euros(abs(value))


def _int(value: int) -> str:
    return f"{value:,}".replace(",", NBSP)


def _pct(value: float, signed: bool = False) -> str:
    sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ("−" if value < 0 else "")
    return sign + f"{abs(value):.2f}".replace(".", ",") + f"{NBSP}%"


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{_int(n)}{NBSP}{singular if n == 1 else (plural or singular + 's')}"


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


def _svg(width: int, height: int, label: str, body: str) -> str:
    """An SVG that scales to its container (the page's width on a phone), never wider than drawn."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" role="img" aria-label="{_esc(label)}">{body}</svg>'
    )


def funnel_svg(summary: dict) -> str:
    """Rows in and out of each stage, as horizontal bars."""
    stages = [s for s in STAGES if s in summary["stages"]]
    top = max(max(summary["stages"][s]["rows_in"], summary["stages"][s]["rows_out"]) for s in stages) or 1
    width, bar, gap = 400, 16, 14
    rows = []
    for i, stage in enumerate(stages):
        y = 10 + i * (2 * bar + gap)
        for j, (key, color) in enumerate((("rows_in", GREY), ("rows_out", WINE))):
            value = summary["stages"][stage][key]
            w = max(1, round(value / top * width))
            rows.append(
                f'<rect x="230" y="{y + j * bar}" width="{w}" height="{bar - 2}" fill="{color}"/>'
                f'<text x="{235 + w}" y="{y + j * bar + 12}" font-size="11">{_int(value)}</text>'
            )
        rows.append(f'<text x="0" y="{y + bar + 4}" font-size="12">{_esc(labels_fr.STAGE_LABELS[stage])}</text>')
    height = 20 + len(stages) * (2 * bar + gap)
    legend = (
        f'<rect x="230" y="{height}" width="10" height="10" fill="{GREY}"/><text x="244" y="{height + 9}" '
        f'font-size="11">lignes en entrée</text><rect x="360" y="{height}" width="10" height="10" '
        f'fill="{WINE}"/><text x="374" y="{height + 9}" font-size="11">lignes en sortie</text>'
    )
    return _svg(700, height + 20, "Volumes par étape", "".join(rows) + legend)


def histogram_svg(prices: list[float], cutoff: float, threshold: float) -> str:
    """Price distribution (wines per price band, with a count axis and a legend), and the premium
    cut-off price (z = threshold) as a line."""
    if not prices:
        return "<p>Aucun prix.</p>"
    low, high = 0.0, max(max(prices), cutoff) * 1.05
    bins = 40
    step = (high - low) / bins or 1
    counts = [0] * bins
    for price in prices:
        counts[min(bins - 1, max(0, int((price - low) / step)))] += 1
    width, height, left, bottom, top_margin = 700, 250, 50, 50, 25
    top = max(counts) or 1
    plot = height - bottom - top_margin
    bars = []
    for i, count in enumerate(counts):
        x = left + i * width / bins
        h = count / top * plot
        color = GOLD if low + (i + 0.5) * step > cutoff else WINE
        bars.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{width / bins - 1:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{_plural(count, "vin")} entre {low + i * step:.0f} et '
            f"{low + (i + 1) * step:.0f}{NBSP}€</title></rect>"
        )
    cx = left + (cutoff - low) / (high - low) * width
    ticks = "".join(
        f'<text x="{left + t / 4 * width:.0f}" y="{height - bottom + 15}" font-size="11" '
        f'text-anchor="middle">{low + t / 4 * (high - low):.0f}{NBSP}€</text>'
        for t in range(5)
    )
    y_ticks = []
    for k in range(5):
        value = round(top * k / 4)
        y = height - bottom - value / top * plot
        y_ticks.append(
            f'<line x1="{left - 4}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_int(value)}</text>'
        )
    axis_title = (
        f'<text x="12" y="{top_margin + plot / 2:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top_margin + plot / 2:.0f})">nombre de vins</text>'
        f'<text x="{left + width / 2:.0f}" y="{height - bottom + 30}" font-size="11" '
        f'text-anchor="middle">prix</text>'
    )
    line = (
        f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top_margin - 10}" y2="{height - bottom}" stroke="black" '
        f'stroke-dasharray="4 3"/><text x="{min(cx + 4, left + width - 170):.1f}" y="{top_margin - 12}" '
        f'font-size="11">seuil z = {threshold:g} : {_euros(cutoff)}</text>'
    )
    ly = height - 12
    legend = (
        f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{WINE}"/>'
        f'<text x="{left + 14}" y="{ly}" font-size="11">vins ordinaires</text>'
        f'<rect x="{left + 130}" y="{ly - 9}" width="10" height="10" fill="{GOLD}"/>'
        f'<text x="{left + 144}" y="{ly}" font-size="11">vins premium (z &gt; {threshold:g})</text>'
    )
    return _svg(
        width + left + 20,
        height,
        "Distribution des prix",
        "".join(y_ticks) + "".join(bars) + line + ticks + axis_title + legend,
    )


def top_products_svg(names: list[str], revenues: list[float]) -> str:
    if not revenues:
        return "<p>Aucun produit.</p>"
    top = max(revenues) or 1
    rows = []
    for i, (name, revenue) in enumerate(zip(names, revenues)):
        y = 5 + i * 36
        w = max(1, revenue / top * 520)
        rows.append(
            f'<text x="0" y="{y + 11}" font-size="12">{_esc(name)}</text>'
            f'<rect x="0" y="{y + 15}" width="{w:.1f}" height="14" fill="{WINE}"/>'
            f'<text x="{w + 5:.1f}" y="{y + 27}" font-size="11">{_euros(revenue)}</text>'
        )
    return _svg(640, 10 + 36 * len(names), "Produits au plus fort CA", "".join(rows))


def split_svg(summary: dict, wines: pa.Table) -> str:
    """The CA split between premium and ordinary wines, as one stacked bar with its legend."""
    premium = sum(ca for ca, p in zip(wines["ca_eur"].to_pylist(), wines["is_premium"].to_pylist()) if p and ca)
    total = summary["ca_total"] or 0
    ordinary = total - premium
    width = 600
    w = 0 if not total else premium / total * width
    parts = [
        (0, w, GOLD, "premium", premium, summary["premium_count"]),
        (w, width - w, WINE, "ordinaires", ordinary, summary["ordinary_count"]),
    ]
    body = []
    for x, span, color, label, value, _count in parts:
        if span > 0:
            body.append(
                f'<rect x="{x:.1f}" y="5" width="{span:.1f}" height="28" fill="{color}">'
                f"<title>vins {label} : {_euros(value)}</title></rect>"
            )
    for i, (_, _, color, label, value, count) in enumerate(parts):
        share = 0 if not total else value / total * 100
        y = 55 + i * 20
        body.append(
            f'<rect x="0" y="{y - 10}" width="12" height="12" fill="{color}"/><text x="18" y="{y}" '
            f'font-size="12">vins {label} ({_int(count)}) : {_euros(value)}, soit {_pct(share)} du CA</text>'
        )
    return _svg(width, 95, "Répartition du CA entre vins premium et ordinaires", "".join(body))


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
        ("Évolution du nombre de produits", f"{'+' if c['products_change'] > 0 else ''}{_int(c['products_change'])}"),
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
    return f"<details><summary>{head}</summary><ul>{items}</ul></details>"


def _file_of(check_id: str) -> str | None:
    parts = check_id.split(".")
    return f"{parts[1]}.xlsx" if len(parts) > 2 and parts[1] in ("erp", "web", "liaison") else None


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


def _warning_block(r: dict, names: dict[str, str]) -> str:
    where = _file_of(r["id"])
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
        body = "".join(
            "<tr>"
            + "".join(f"<td>{_cell(k, row.get(k))}</td>" for k in keys)
            + (f"<td>{_esc(names.get(str(row.get('product_id')), '—'))}</td>" if with_names else "")
            + "</tr>"
            for row in rows
        )
        shown = len(rows)
        count = r["offending_count"]
        caption = (
            f"{_plural(shown, 'ligne')} sur {_int(count)} (liste complète : quality_report.json et le "
            "message ci-dessus)"
            if count > shown
            else f"{_plural(count, 'ligne')}"
        )
        table = (
            f'<details><summary>Détail : {caption}</summary><div class="scroll"><table><tr>'
            + "".join(f"<th>{_esc(h)}</th>" for h in heads)
            + f"</tr>{body}</table></div></details>"
        )
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
        rows = "".join(
            f"<tr><td>{_esc(labels_fr.STAGE_LABELS.get(r['stage'], r['stage']))}</td>"
            f"<td>{_esc(r['description'])}</td><td><code>{_esc(r['id'])}</code></td></tr>"
            for r in checks
        )
        blocks.append(
            f"<details><summary>{_esc(label)} : {_plural(len(checks), 'contrôle réussi', 'contrôles réussis')}"
            f'</summary><div class="scroll"><table>{rows}</table></div></details>'
        )
    return "".join(blocks)


def render(summary: dict, quality: dict, wines: pa.Table) -> str:
    prices = wines["prix_eur"].to_pylist()
    names = {p: n for p, n in zip(wines["product_id"].to_pylist(), wines["nom_du_vin"].to_pylist()) if n}
    by_revenue = wines.sort_by([("ca_eur", "descending"), ("product_id", "ascending")]).slice(0, 10)
    top_names = [n or p for n, p in zip(by_revenue["nom_du_vin"].to_pylist(), by_revenue["product_id"].to_pylist())]
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
<style>
body {{ font-family: system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; color: #222; line-height: 1.4; }}
h1 {{ color: {WINE}; font-size: 1.6rem; }} h2 {{ border-bottom: 2px solid {WINE}; padding-bottom: .2rem; margin-top: 2rem; }}
h3 {{ margin: .2rem 0; font-size: 1rem; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .8rem; }} .card {{ flex: 1 1 9rem; border: 1px solid #ddd; border-radius: 8px; padding: .8rem; }}
.card b {{ display: block; font-size: 1.4rem; color: {WINE}; white-space: nowrap; }}
.lead {{ font-size: 1.1rem; font-weight: 600; }}
table {{ border-collapse: collapse; width: 100%; font-size: .85rem; }} td, th {{ border-bottom: 1px solid #eee; padding: .3rem; text-align: left; vertical-align: top; }}
table.kv th {{ width: 40%; font-weight: 600; }}
.scroll {{ overflow-x: auto; }}
.warning {{ border-left: 4px solid {GOLD}; background: #fff8e6; padding: .5rem .8rem; margin: .8rem 0; }}
.warning.error {{ border-color: #b00020; background: #fde2e2; }}
.where, .id {{ margin: .2rem 0; font-size: .85rem; }} .status {{ font-weight: bold; }}
details summary {{ cursor: pointer; }}
svg {{ height: auto; display: block; }}
figure {{ margin: 1rem 0; }}
@media print {{ details > *:not(summary) {{ display: block; }} h2, h3 {{ break-after: avoid; }}
  figure, .warning, table.kv {{ break-inside: avoid; }} body {{ max-width: none; }} }}
</style></head><body>
<h1>BottleNeck — chiffre d'affaires {_esc(labels_fr.of_period(period))}</h1>
<p class="status">{status}</p>
<div class="cards">{"".join(f'<div class="card">{label}<b>{value}</b></div>' for label, value in cards)}</div>
<h2>Comparaison avec les mois publiés</h2>
{_comparison_section(summary, names)}
<h2>Répartition du CA</h2>
<figure>{split_svg(summary, wines)}</figure>
<p><b>Définition du CA.</b> {_esc(labels_fr.CA_DEFINITION)} {_esc(labels_fr.VAT_NOTE)}</p>
<p>Ventes laissées hors du rapport : {_esc(summary.get("left_out", {}).get("message_fr", "non mesuré"))}</p>
<h2>À corriger : {_plural(len(failed) + len(warnings), "point")}</h2>
{to_fix or "<p>Aucun avertissement ce mois-ci.</p>"}
<h2>Les 10 produits au plus fort chiffre d'affaires</h2><figure>{top_products_svg(top_names, by_revenue["ca_eur"].to_pylist())}</figure>
<h2>Distribution des prix et seuil premium</h2>
<p>Prix moyen {_euros(price["mean"])}, écart-type {_euros(price["std"])} (population). Un vin est premium quand son
z-score dépasse {summary["z_threshold"]:g}, soit un prix supérieur à {_euros(price["premium_cutoff_eur"])}.</p>
<figure>{histogram_svg(prices, price["premium_cutoff_eur"], summary["z_threshold"])}</figure>
<h2>Volumes à chaque étape</h2><figure>{funnel_svg(summary)}</figure>
<p>Lignes retirées au nettoyage, par motif :</p><ul>{removed or "<li>aucune</li>"}</ul>
<h2>Contrôles réussis</h2>
<p>{_int(quality["passed"])} contrôles réussis sur {_int(quality["checks"])}, regroupés par famille (cliquez pour déplier).</p>
{_passed_by_family(quality["results"])}
<h2>Sources</h2><ul>{sources}</ul>
<p><small>Période {_esc(words)} ({_esc(period)}), exécution {_esc(summary["run_id"])}.</small></p>
</body></html>
"""


def write_html_report(folder: Path) -> Path:
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    path = folder / HTML_FILE
    path.write_text(render(summary, quality, read_extracts(folder)), encoding="utf-8")
    return path
