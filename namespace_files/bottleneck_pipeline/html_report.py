"""The French run report (``rapport_qualite.html``): one self-contained page per run, no network.

Built only from what the run publishes (run_summary.json, quality_report.json and the two
extracts), so Kestra's final task and the local runner produce the same page. Charts are inline SVG.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pyarrow as pa

from . import STAGES, labels_fr
from .extracts import read_extract

HTML_FILE = "rapport_qualite.html"
WINE = "#5B2333"
GOLD = "#C9A227"
GREY = "#8a8a8a"


def _euros(value: float) -> str:
    return f"{value:,.2f} €".replace(",", " ").replace(".", ",")


def _int(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _esc(value) -> str:
    return html.escape(str(value))


def read_extracts(folder: Path) -> pa.Table:
    wines = pa.concat_tables([read_extract(folder / name)
                              for name in (labels_fr.PREMIUM_FILE, labels_fr.ORDINARY_FILE)])
    for column in ("prix_eur", "ca_eur"):  # charts want floats, whatever the reader inferred
        wines = wines.set_column(wines.schema.get_field_index(column), column,
                                 wines[column].cast(pa.float64()))
    return wines


def funnel_svg(summary: dict) -> str:
    """Rows in and out of each stage, as horizontal bars."""
    stages = [s for s in STAGES if s in summary["stages"]]
    top = max(max(summary["stages"][s]["rows_in"], summary["stages"][s]["rows_out"]) for s in stages) or 1
    width, bar, gap = 460, 16, 14
    rows = []
    for i, stage in enumerate(stages):
        y = 10 + i * (2 * bar + gap)
        for j, (key, color) in enumerate((("rows_in", GREY), ("rows_out", WINE))):
            value = summary["stages"][stage][key]
            w = max(1, round(value / top * width))
            rows.append(f'<rect x="230" y="{y + j * bar}" width="{w}" height="{bar - 2}" fill="{color}"/>'
                        f'<text x="{235 + w}" y="{y + j * bar + 12}" font-size="11">{_int(value)}</text>')
        rows.append(f'<text x="0" y="{y + bar + 4}" font-size="12">{_esc(labels_fr.STAGE_LABELS[stage])}</text>')
    height = 20 + len(stages) * (2 * bar + gap)
    legend = (f'<rect x="230" y="{height}" width="10" height="10" fill="{GREY}"/><text x="244" y="{height + 9}" '
              f'font-size="11">lignes en entrée</text><rect x="360" y="{height}" width="10" height="10" '
              f'fill="{WINE}"/><text x="374" y="{height + 9}" font-size="11">lignes en sortie</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height + 20}" role="img" '
            f'aria-label="Volumes par étape">{"".join(rows)}{legend}</svg>')


def histogram_svg(prices: list[float], cutoff: float, threshold: float) -> str:
    """Price distribution, with the premium cut-off price (z = threshold) as a line."""
    if not prices:
        return "<p>Aucun prix.</p>"
    low, high = 0.0, max(max(prices), cutoff) * 1.05
    bins = 40
    step = (high - low) / bins or 1
    counts = [0] * bins
    for price in prices:
        counts[min(bins - 1, max(0, int((price - low) / step)))] += 1
    width, height, left, bottom = 700, 220, 40, 30
    top = max(counts) or 1
    bars = []
    for i, count in enumerate(counts):
        x = left + i * width / bins
        h = count / top * (height - bottom - 10)
        color = GOLD if low + (i + 0.5) * step > cutoff else WINE
        bars.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{width / bins - 1:.1f}" '
                    f'height="{h:.1f}" fill="{color}"><title>{count} vin(s) entre {low + i * step:.0f} et '
                    f'{low + (i + 1) * step:.0f} €</title></rect>')
    cx = left + (cutoff - low) / (high - low) * width
    ticks = "".join(f'<text x="{left + t / 4 * width:.0f}" y="{height - 10}" font-size="11" text-anchor="middle">'
                    f'{low + t / 4 * (high - low):.0f} €</text>' for t in range(5))
    line = (f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="5" y2="{height - bottom}" stroke="black" '
            f'stroke-dasharray="4 3"/><text x="{cx + 4:.1f}" y="16" font-size="11">seuil z = {threshold:g} : '
            f'{_euros(cutoff)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 2 * left}" height="{height}" role="img" '
            f'aria-label="Distribution des prix">{"".join(bars)}{line}{ticks}</svg>')


def top_products_svg(names: list[str], revenues: list[float]) -> str:
    if not revenues:
        return "<p>Aucun produit.</p>"
    top = max(revenues) or 1
    rows = []
    for i, (name, revenue) in enumerate(zip(names, revenues)):
        y = 5 + i * 22
        w = max(1, revenue / top * 300)
        label = name if len(name) <= 55 else name[:54] + "…"
        rows.append(f'<text x="0" y="{y + 13}" font-size="11">{_esc(label)}</text>'
                    f'<rect x="360" y="{y}" width="{w:.1f}" height="16" fill="{WINE}"/>'
                    f'<text x="{365 + w:.1f}" y="{y + 13}" font-size="11">{_euros(revenue)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="780" height="{10 + 22 * len(names)}" role="img" '
            f'aria-label="Produits au plus fort CA">{"".join(rows)}</svg>')


def _failed_first(results: list[dict]) -> list[dict]:
    rank = {"error": 0, "warn": 1}
    return sorted(results, key=lambda r: 2 if r["passed"] else rank[r["severity"]])


def render(summary: dict, quality: dict, wines: pa.Table) -> str:
    prices = wines["prix_eur"].to_pylist()
    by_revenue = wines.sort_by([("ca_eur", "descending"), ("product_id", "ascending")]).slice(0, 10)
    names = [n or p for n, p in zip(by_revenue["nom_du_vin"].to_pylist(), by_revenue["product_id"].to_pylist())]
    status = "Tous les contrôles bloquants sont passés" if quality["errors"] == 0 else "Contrôle bloquant en échec"
    cards = [("CA total", _euros(summary["ca_total"])), ("Produits", _int(summary["products"])),
             ("Vins premium", _int(summary["premium_count"])), ("Vins ordinaires", _int(summary["ordinary_count"]))]
    check_rows = "".join(
        f'<tr class="{"ok" if r["passed"] else r["severity"]}"><td>{_esc(r["stage"])}</td><td><code>{_esc(r["id"])}'
        f'</code></td><td>{"réussi" if r["passed"] else ("bloquant" if r["severity"] == "error" else "avertissement")}'
        f'</td><td>{_esc(r["message"] or r["description"])}</td></tr>' for r in _failed_first(quality["results"]))
    removed = "".join(f"<li>{_esc(table)} : {_esc(labels_fr.REMOVAL_REASONS.get(reason, reason))} — {_int(n)}</li>"
                      for table, reasons in summary.get("removed_rows", {}).items() for reason, n in reasons.items())
    sources = "".join(f"<li>{_esc(s['file'])} : {_int(s['rows'])} lignes, SHA-256 <code>{_esc(s['sha256'])}</code></li>"
                      for s in summary.get("sources", {}).values())
    price = summary["price"]
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>BottleNeck — rapport qualité {_esc(summary['period'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
h1 {{ color: {WINE}; }} h2 {{ border-bottom: 2px solid {WINE}; padding-bottom: .2rem; }}
.cards {{ display: flex; gap: 1rem; }} .card {{ flex: 1; border: 1px solid #ddd; border-radius: 8px; padding: .8rem; }}
.card b {{ display: block; font-size: 1.5rem; color: {WINE}; }}
table {{ border-collapse: collapse; width: 100%; font-size: .85rem; }} td, th {{ border-bottom: 1px solid #eee; padding: .3rem; text-align: left; }}
tr.error td {{ background: #fde2e2; }} tr.warn td {{ background: #fff4d6; }} .status {{ font-weight: bold; }}
</style></head><body>
<h1>BottleNeck — rapport qualité du mois {_esc(summary['period'])}</h1>
<p class="status">{status} : {quality['passed']}/{quality['checks']} contrôles réussis, {quality['warnings']} avertissement(s).</p>
<div class="cards">{''.join(f'<div class="card">{label}<b>{value}</b></div>' for label, value in cards)}</div>
<h2>Volumes à chaque étape</h2>{funnel_svg(summary)}
<p>Lignes retirées au nettoyage, par motif :</p><ul>{removed or '<li>aucune</li>'}</ul>
<p>Ventes laissées hors du rapport : {_esc(summary.get('left_out', {}).get('message_fr', 'non mesuré'))}</p>
<h2>Distribution des prix et seuil premium</h2>
<p>Prix moyen {_euros(price['mean'])}, écart-type {_euros(price['std'])} (population). Un vin est premium quand son
z-score dépasse {summary['z_threshold']:g}, soit un prix supérieur à {_euros(price['premium_cutoff_eur'])}.</p>
{histogram_svg(prices, price['premium_cutoff_eur'], summary['z_threshold'])}
<h2>Les 10 produits au plus fort chiffre d'affaires</h2>{top_products_svg(names, by_revenue['ca_eur'].to_pylist())}
<h2>Contrôles qualité</h2>
<table><tr><th>Étape</th><th>Contrôle</th><th>Statut</th><th>Détail</th></tr>{check_rows}</table>
<h2>Sources</h2><ul>{sources}</ul>
<p><small>Exécution {_esc(summary['run_id'])}.</small></p>
</body></html>
"""


def write_html_report(folder: Path) -> Path:
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    quality = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    path = folder / HTML_FILE
    path.write_text(render(summary, quality, read_extracts(folder)), encoding="utf-8")
    return path
