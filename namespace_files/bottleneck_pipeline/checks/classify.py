"""Gates after classify, on ``revenue`` (the input) and the two extracts read back from their CSV
files, ``premium`` and ``ordinary`` (the French deliverables): a partition, each side of the
threshold, and a z-score that an independent recomputation (DuckDB's stddev_pop) confirms.

The French extracts print the z-score rounded to 2 decimals, so the side of the threshold is
judged on the z-score recomputed from each wine's exact price, and the printed one must be that
value rounded. When the machine-readable extracts are handed to the gate too (``premium_machine``,
``ordinary_machine``: always by the local runner), their full-precision z-scores are checked
against the recomputation, and their rows against the French ones. An empty z-score fails the
recomputation (a comparison with NULL would otherwise let it pass).

Premium is z > threshold, strictly: a wine whose recomputed z-score is the threshold up to the
recomputation's rounding noise belongs with the ordinary wines (the side checks both cut at
threshold + TOLERANCE). No separate check of the cut-off price (mean + threshold x std): the side
checks judge each wine on its price already, so the cut-off would say the same on the same data."""

from __future__ import annotations

from . import CheckContext, quote
from .model import ERROR, WARN, Finding, gate

STAGE = "classify"
TOLERANCE = 1e-9  # z-scores are floats: equal up to rounding noise
PRINTED = 0.005 + TOLERANCE  # a z-score printed with 2 decimals is within half a cent of its value
# Price statistics recomputed in DuckDB. One price for all (one wine, or every price equal) has a
# standard deviation of exactly 0 and z = 0 everywhere (decided on the exact prices: a float
# stddev_pop of equal prices can be 1e-15, not 0).
STATS_SQL = (
    "select avg(price_eur::double) as mean, case when min(price_eur) = max(price_eur) then 0 "
    "else stddev_pop(price_eur::double) end as std from revenue"
)


Z_RECOMPUTED = "case when std = 0 then 0 else (price_eur::double - mean) / std end"


def _threshold(ctx: CheckContext) -> float:
    return float(ctx.params["z_threshold"])


def _machine(ctx: CheckContext) -> bool:
    return bool(ctx.params.get("machine_extracts"))


@gate(
    STAGE,
    "partition.complete_and_disjoint",
    ERROR,
    "zscore",
    "Premium et ordinaires forment une partition des produits : chaque vin dans exactement un fichier.",
)
def partition(ctx: CheckContext) -> Finding:
    return ctx.offending(
        "with extracted as (select product_id, 'premium' as fichier from premium "
        "              union all select product_id, 'ordinaires' from ordinary), "
        "counted as (select revenue.product_id, count(extracted.product_id) as fichiers "
        "            from revenue left join extracted using (product_id) group by all) "
        "select product_id, fichiers from counted where fichiers <> 1 "
        "union all select product_id, 1 from extracted where product_id not in (select product_id from revenue) "
        "order by product_id",
        lambda n, rows: (
            f"{n} vin(s) absent(s), en double ou inconnu(s) dans les extractions "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas les extractions."
        ),
    )


@gate(STAGE, "premium.above_threshold", ERROR, "zscore", "Chaque vin premium a un z-score > seuil.")
def premium_above(ctx: CheckContext) -> Finding:
    t = _threshold(ctx)
    return ctx.offending(
        f"with stats as ({STATS_SQL}) select product_id, price_eur, z_score, {Z_RECOMPUTED} as z_recalcule "
        f"from premium, stats where not ({Z_RECOMPUTED} > {t} + {TOLERANCE}) order by product_id",
        lambda n, rows: f"{n} vin(s) classé(s) premium avec z ≤ {t} ({quote(rows, 'product_id', n)}).",
    )


@gate(STAGE, "ordinary.at_or_below_threshold", ERROR, "zscore", "Chaque vin ordinaire a un z-score ≤ seuil.")
def ordinary_below(ctx: CheckContext) -> Finding:
    t = _threshold(ctx)
    return ctx.offending(
        f"with stats as ({STATS_SQL}) select product_id, price_eur, z_score, {Z_RECOMPUTED} as z_recalcule "
        f"from ordinary, stats where not ({Z_RECOMPUTED} <= {t} + {TOLERANCE}) order by product_id",
        lambda n, rows: f"{n} vin(s) classé(s) ordinaire(s) avec z > {t} ({quote(rows, 'product_id', n)}).",
    )


@gate(
    STAGE,
    "zscore.recomputed",
    ERROR,
    "zscore",
    "Le z-score de chaque vin est confirmé par un recalcul indépendant (DuckDB, écart-type de "
    "population) : arrondi à 2 décimales dans les extractions françaises, exact dans machine/.",
)
def recomputed(ctx: CheckContext) -> Finding:
    forms = [("premium", PRINTED), ("ordinary", PRINTED)]
    if _machine(ctx):
        forms += [("premium_machine", TOLERANCE), ("ordinary_machine", TOLERANCE)]
    extracted = " union all ".join(
        f"select product_id, price_eur, z_score, {tolerance} as tolerance, '{view}' as fichier from {view}"
        for view, tolerance in forms
    )
    return ctx.offending(
        f"with stats as ({STATS_SQL}), extracted as ({extracted}) "
        f"select product_id, fichier, z_score, {Z_RECOMPUTED} as z_recalcule "
        f"from extracted, stats where not coalesce(abs(z_score - ({Z_RECOMPUTED})) <= tolerance, false) "
        "order by product_id, fichier",
        lambda n, rows: (
            f"{n} z-score(s) ne correspondent pas au recalcul "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas les extractions."
        ),
    )


@gate(
    STAGE,
    "zscore.standardized",
    ERROR,
    "zscore",
    "Sur l'ensemble des vins, les z-scores ont une moyenne 0 et un écart-type 1 : le recalcul ligne à "
    "ligne part du prix écrit dans l'extraction ; ce contrôle voit aussi un prix et son z-score "
    "recopiés ensemble d'un autre calcul.",
)
def standardized(ctx: CheckContext) -> Finding:
    # Full precision in machine/; printed with 2 decimals, each z moves by at most 0.005.
    views, tolerance = (
        (("premium_machine", "ordinary_machine"), 1e-6) if _machine(ctx) else (("premium", "ordinary"), 0.006)
    )
    mean, std, n = ctx.con.execute(
        "select avg(z_score), stddev_pop(z_score), count(*) from "
        f"(select z_score from {views[0]} union all select z_score from {views[1]})"
    ).fetchone()
    if n < 2 or (std is not None and abs(std) < TOLERANCE):  # one price for all: z is 0 everywhere
        ok = mean is not None and abs(mean) < tolerance
    else:
        ok = abs(mean) < tolerance and abs(std - 1) < tolerance
    observed = {"moyenne": mean, "ecart_type": std}
    return Finding(
        int(not ok),
        observed,
        {"moyenne": 0, "ecart_type": 1},
        f"Les z-scores ne sont pas centrés réduits ({observed}) : le calcul est faux.",
    )


@gate(
    STAGE,
    "extracts.machine_form_matches",
    ERROR,
    "zscore",
    "Les extractions machine/ (format technique, point décimal) contiennent les mêmes vins, "
    "prix, quantités et CA que les extractions françaises, et le même z-score avant arrondi.",
)
def machine_form_matches(ctx: CheckContext) -> Finding:
    if not _machine(ctx):  # not handed to this gate (a Kestra gate given the French files only)
        return Finding(0, "extractions machine/ non fournies au contrôle", "identiques aux françaises")
    pairs = []
    for french, machine, label in (
        ("premium", "premium_machine", "premium"),
        ("ordinary", "ordinary_machine", "ordinaires"),
    ):
        pairs.append(
            f"select coalesce(f.product_id, m.product_id) as product_id, '{label}' as fichier "
            f"from {french} f full outer join {machine} m on f.product_id = m.product_id "
            "where f.product_id is null or m.product_id is null "
            "or f.sku is distinct from m.sku or f.product_name is distinct from m.product_name "
            "or f.price_eur is distinct from m.price_eur or f.quantity_sold is distinct from m.quantity_sold "
            "or f.revenue_eur is distinct from m.revenue_eur "
            f"or abs(f.z_score - m.z_score) > {PRINTED}"
        )
    return ctx.offending(
        " union all ".join(pairs) + " order by product_id",
        lambda n, rows: (
            f"{n} vin(s) diffèrent entre les extractions françaises et machine/ "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas les extractions : relancez le mois."
        ),
    )


@gate(STAGE, "premium.not_empty", WARN, "zscore", "Au moins un vin est premium ce mois-ci.")
def premium_not_empty(ctx: CheckContext) -> Finding:
    """A month without premium wine is valid (it is published); the report says why."""
    n = ctx.count("select * from premium")
    wines = ctx.count("select * from revenue")
    if n or not wines:  # (no wine at all is the merge gate's business)
        return Finding(0, n, "> 0")
    mean, std = ctx.con.execute(STATS_SQL).fetchone()
    if std == 0:
        reason = (
            "un seul vin ce mois-ci" if wines == 1 else f"les {wines} vins ont tous le même prix ({mean:.2f} €)"
        ) + " : écart-type nul, donc z = 0 pour chaque vin"
    else:
        reason = f"aucun prix ne dépasse le prix seuil de {mean + _threshold(ctx) * std:.2f} €"
    return Finding(
        1,
        n,
        "> 0",
        f"Aucun vin premium ce mois-ci ({reason}). Le mois est publié avec un fichier "
        "vins_premium.csv vide (en-tête seul) ; vérifiez que c'est attendu.",
    )
