"""Gates of the final step against the earlier published months (history.py): a drift alert.

Warnings only: a month may really differ from the previous one (season, promotion, catalogue
change), so the run is never stopped; the alert asks a person to look before the figures are
circulated, because a sudden move is also the first sign of a wrong or truncated export.

Defaults (run / finalize / backfill options):
- ``--max-ca-drift 0.30``: the CA moves by more than 30 % against the previous published month.
  Ordinary month-to-month moves of a wine shop's online sales stay well inside that band, while
  the failures this alert exists for move the CA far more: a web export of the wrong month, a
  truncated export, a link table that lost a block of products (the lost-sales gate already stops
  a run when more than 1 % of the sales cannot be priced, but not when the export itself is
  short). A warning costs a look; December and January may trigger it, as they should be looked at.
- ``--max-products-lost 0.20``: more than 20 % of the previous month's products are no longer in
  the report. A catalogue changes by a few products a month (a new vintage is a new product); a
  fifth of it vanishing is an export or a link table problem, not the catalogue.
"""

from __future__ import annotations

from ..labels_fr import of_period, period_fr
from .context import CheckContext
from .model import WARN, Finding, gate

STAGE = "compare"
DEFAULT_MAX_CA_DRIFT = 0.30
DEFAULT_MAX_PRODUCTS_LOST = 0.20
NAMED = 10  # products named in a message


def _euros(value: float) -> str:
    return f"{value:,.2f} €".replace(",", "\u00a0").replace(".", ",")


def _percent(share: float) -> str:
    return f"{share * 100:.2f}".replace(".", ",") + "\u00a0%"


def _limit(share: float) -> str:
    """A threshold as set: '30 %', '12,5 %'."""
    return f"{share * 100:g}".replace(".", ",") + "\u00a0%"


@gate(
    STAGE,
    "ca.drift_within_limit",
    WARN,
    "revenue",
    "Le CA ne varie pas de plus de 30 % (--max-ca-drift) par rapport au dernier mois publié ; "
    "au-delà, un avertissement demande de vérifier les exports avant de diffuser (le run n'est "
    "jamais arrêté).",
)
def ca_drift(ctx: CheckContext) -> Finding:
    comparison = ctx.params["comparison"]
    limit = float(ctx.params.get("max_ca_drift", DEFAULT_MAX_CA_DRIFT))
    expected = f"|variation| ≤ {_limit(limit)}"
    if comparison.get("previous_period") is None or comparison.get("ca_change_pct") is None:
        return Finding(0, "aucun mois publié auparavant : pas de comparaison", expected)
    share = comparison["ca_change_pct"] / 100
    observed = {
        "mois_compare": comparison["previous_period"],
        "variation": round(share, 4),
        "ca_precedent": comparison["previous_ca_total"],
        "ca": ctx.params["ca_total"],
    }
    if abs(share) <= limit:
        return Finding(0, observed, expected)
    previous = period_fr(comparison["previous_period"])
    direction = "hausse" if share > 0 else "baisse"
    return Finding(
        1,
        observed,
        expected,
        f"CA {of_period(ctx.params['period'])} : {_euros(ctx.params['ca_total'])} contre "
        f"{_euros(comparison['previous_ca_total'])} en {previous}, soit une {direction} de "
        f"{_percent(abs(share))}, au-delà du seuil d'alerte de {_limit(limit)}. Avant de "
        "diffuser, vérifiez que web.xlsx et erp.xlsx sont bien les exports complets du mois "
        "(période, nombre de lignes, colonne total_sales). Si la variation est réelle "
        "(saisonnalité, promotion), rien à corriger ; le seuil se règle avec --max-ca-drift.",
    )


@gate(
    STAGE,
    "products.lost_within_limit",
    WARN,
    "volumes",
    "Au plus 20 % (--max-products-lost) des produits du dernier mois publié disparaissent du "
    "rapport ; au-delà, un avertissement nomme les produits disparus (le run n'est jamais arrêté).",
)
def products_lost(ctx: CheckContext) -> Finding:
    comparison = ctx.params["comparison"]
    limit = float(ctx.params.get("max_products_lost", DEFAULT_MAX_PRODUCTS_LOST))
    expected = f"part perdue ≤ {_limit(limit)}"
    if comparison.get("products_lost") is None:
        reason = (
            "aucun mois publié auparavant"
            if comparison.get("previous_period") is None
            else "extractions du mois comparé absentes de l'historique"
        )
        return Finding(0, f"{reason} : pas de comparaison par produit", expected)
    share = comparison["products_lost_share"]
    previous = ctx.params["previous"]
    observed = {
        "mois_compare": comparison["previous_period"],
        "produits_perdus": comparison["products_lost"],
        "produits_mois_compare": len(previous.wines),
        "part": share,
    }
    if share <= limit:
        return Finding(0, observed, expected)
    ids = comparison["products_lost_ids"]
    rows = [{"product_id": i, "nom_du_vin": previous.wines[i][0]} for i in ids]
    named = " ; ".join(f"{r['product_id']} ({r['nom_du_vin'] or 'sans nom'})" for r in rows[:NAMED])
    more = comparison["products_lost"] - min(NAMED, len(rows))
    return Finding(
        comparison["products_lost"],
        observed,
        expected,
        f"{comparison['products_lost']} des {len(previous.wines)} produits "
        f"{of_period(comparison['previous_period'])} ({_percent(share)}) ne sont plus dans le rapport "
        f"{of_period(ctx.params['period'])}, au-delà du seuil d'alerte de {_limit(limit)} : {named}"
        + (f" ; et {more} autre(s)" if more > 0 else "")
        + ". Vérifiez que web.xlsx contient tout le catalogue vendu en ligne et que liaison.xlsx relie "
        "ces produits (colonnes product_id et id_web). Si ces produits ont réellement quitté le "
        "catalogue, rien à corriger ; le seuil se règle avec --max-products-lost.",
        rows,
    )


@gate(
    STAGE,
    "history.readable",
    WARN,
    "volumes",
    "Chaque mois publié de l'historique se relit (run_summary.json présent et lisible) : un mois "
    "illisible est écarté de la comparaison.",
)
def history_readable(ctx: CheckContext) -> Finding:
    unreadable = ctx.params["comparison"].get("history_unreadable") or {}
    if not unreadable:
        return Finding(0, {}, {})
    listed = " ; ".join(f"{period} ({why})" for period, why in sorted(unreadable.items()))
    return Finding(
        len(unreadable),
        unreadable,
        {},
        f"{len(unreadable)} mois de l'historique illisible(s), écarté(s) de la comparaison : "
        f"{listed}. Republiez ces mois (bottleneck run ou backfill) pour les comparer de nouveau.",
        [{"period": p, "raison": w} for p, w in sorted(unreadable.items())],
    )
