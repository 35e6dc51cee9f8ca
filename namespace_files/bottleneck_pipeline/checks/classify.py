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
checks judge each wine on its price already, so the cut-off would say the same on the same data.

Their queries: ``sql/classify/checks/``. Each recomputes the price statistics itself (population
standard deviation, 0 when every price is equal), so that a file reads alone; the threshold and
the tolerances below reach them as DuckDB variables (``_set_variables``)."""

from __future__ import annotations

from .context import CheckContext, quote
from .model import ERROR, WARN, Finding, check_sql, gate

STAGE = "classify"
TOLERANCE = 1e-9  # z-scores are floats: equal up to rounding noise
PRINTED = 0.005 + TOLERANCE  # a z-score printed with 2 decimals is within half a cent of its value


def _threshold(ctx: CheckContext) -> float:
    return float(ctx.params["z_threshold"])


def _set_variables(ctx: CheckContext) -> None:
    """What the check files read with getvariable(): the threshold of this run and the tolerances
    (DuckDB session variables: the SQL text stays fixed)."""
    for name, value in (("z_threshold", _threshold(ctx)), ("z_tolerance", TOLERANCE), ("z_printed_tolerance", PRINTED)):
        ctx.db.execute(f"set variable {name} = ?", [value])


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
        check_sql(STAGE, "partition_complete_and_disjoint"),
        lambda n, rows: (
            f"{n} vin(s) absent(s), en double ou inconnu(s) dans les extractions "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas les extractions."
        ),
    )


@gate(STAGE, "premium.above_threshold", ERROR, "zscore", "Chaque vin premium a un z-score > seuil.")
def premium_above(ctx: CheckContext) -> Finding:
    t = _threshold(ctx)
    _set_variables(ctx)
    return ctx.offending(
        check_sql(STAGE, "premium_above_threshold"),
        lambda n, rows: f"{n} vin(s) classé(s) premium avec z ≤ {t} ({quote(rows, 'product_id', n)}).",
    )


@gate(STAGE, "ordinary.at_or_below_threshold", ERROR, "zscore", "Chaque vin ordinaire a un z-score ≤ seuil.")
def ordinary_below(ctx: CheckContext) -> Finding:
    t = _threshold(ctx)
    _set_variables(ctx)
    return ctx.offending(
        check_sql(STAGE, "ordinary_at_or_below_threshold"),
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
    _set_variables(ctx)
    if not _machine(ctx):  # the file reads the four extracts: machine/ not handed over, none to check
        for view, french in (("premium_machine", "premium"), ("ordinary_machine", "ordinary")):
            ctx.db.execute(f"create or replace temp view {view} as select * from {french} where false")
    return ctx.offending(
        check_sql(STAGE, "zscore_recomputed"),
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
    mean, std, n = ctx.aggregate(
        "select avg(z_score), stddev_pop(z_score), count(*) from "
        f"(select z_score from {views[0]} union all select z_score from {views[1]})"
    )
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
    sql = check_sql(STAGE, "extracts_machine_form_matches")
    if not _machine(ctx):  # not handed to this gate (a Kestra gate given the French files only)
        return Finding(0, "extractions machine/ non fournies au contrôle", "identiques aux françaises")
    _set_variables(ctx)
    return ctx.offending(
        sql,
        lambda n, rows: (
            f"{n} vin(s) diffèrent entre les extractions françaises et machine/ "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas les extractions : relancez le mois."
        ),
    )


@gate(STAGE, "premium.not_empty", WARN, "zscore", "Au moins un vin est premium ce mois-ci.")
def premium_not_empty(ctx: CheckContext) -> Finding:
    """A month without premium wine is valid (it is published); the report says why."""
    stats = check_sql(STAGE, "premium_not_empty")
    n = ctx.count("select * from premium")
    wines = ctx.count("select * from revenue")
    if n or not wines:  # (no wine at all is the merge gate's business)
        return Finding(0, n, "> 0")
    mean, std = ctx.aggregate(stats)
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
