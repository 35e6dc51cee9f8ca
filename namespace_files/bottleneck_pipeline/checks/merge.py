"""Gates after merge, on ``products`` and the cleaned inputs ``clean_erp``, ``clean_liaison``,
``clean_web``: no fan-out, the volume the keys predict, orphans counted, sane prices.

The link table's one-to-one rule is the clean gate's (clean.liaison.unique_*: same file, same
condition); here the fan-out is checked where it does harm, in the merged products. Some gates
re-check on the merged products what an earlier gate checked on the cleaned tables: they guard
the merge subflow called alone (README: any stage can be reused by another team) on inputs that
did not pass the clean gate, and say so in their description. Their queries: ``sql/merge/checks/``
(checks/model.py says which stay here and why)."""

from __future__ import annotations

from .context import CheckContext, quote
from .model import ERROR, WARN, Finding, check_sql, gate

STAGE = "merge"
DEFAULT_MAX_ORPHAN_SHARE = 0.05  # share of web products allowed to find no ERP price


def _fan_out(ctx: CheckContext, table: str, key: str, other: str, label: str) -> Finding:
    return ctx.offending(
        f"select {key}, count(distinct {other}) as nombre, list(distinct {other}) as valeurs "
        f"from {table} group by {key} having count(*) > 1 order by {key}",
        lambda n, rows: (
            f"{label} : {n} {key}(s) liés à plusieurs {other} "
            f"({quote(rows, key, n)}). Une jointure multiplierait leurs ventes : "
            "corrigez la table de liaison pour qu'elle soit un-pour-un."
        ),
    )


@gate(STAGE, "products.unique_product_id", ERROR, "duplicates", "Une ligne par produit après les jointures.")
def unique_product(ctx: CheckContext) -> Finding:
    return _fan_out(ctx, "products", "product_id", "sku", "fusion")


@gate(STAGE, "products.unique_sku", ERROR, "duplicates", "Une ligne par sku après les jointures.")
def unique_sku(ctx: CheckContext) -> Finding:
    return _fan_out(ctx, "products", "sku", "product_id", "fusion")


@gate(
    STAGE,
    "products.rows_as_predicted",
    ERROR,
    "volumes",
    "Le nombre de produits fusionnés est celui que prédisent les clés des trois tables.",
)
def rows_as_predicted(ctx: CheckContext) -> Finding:
    merged = ctx.count("select * from products")
    predicted = ctx.count(check_sql(STAGE, "products_rows_as_predicted"))
    return Finding(
        int(merged != predicted),
        merged,
        predicted,
        f"La fusion donne {merged} produits alors que les clés en prévoient {predicted}. "
        "Une jointure a perdu ou dupliqué des lignes : ne diffusez pas ce mois.",
    )


@gate(
    STAGE,
    "products.not_empty",
    ERROR,
    "volumes",
    "La fusion produit au moins un produit (sinon aucune clé ne correspond) : seul contrôle qui arrête "
    "un mois sans aucun produit relié quand les plafonds (--max-lost-share, --max-orphan-share) sont "
    "relâchés.",
)
def not_empty(ctx: CheckContext) -> Finding:
    merged = ctx.count("select * from products")
    return Finding(
        int(merged == 0),
        merged,
        "> 0",
        "Aucun produit ne relie l'ERP et le site web : les identifiants de liaison.xlsx "
        "ne correspondent ni aux product_id de erp.xlsx ni aux sku de web.xlsx. "
        "Vérifiez que les trois fichiers sont du même mois et du même format.",
    )


def _orphan_share(ctx: CheckContext) -> tuple[int, float, float]:
    """Web products without an ERP price: their count, their share of the web products, the ceiling."""
    ceiling = float(ctx.params.get("max_orphan_share", DEFAULT_MAX_ORPHAN_SHARE))
    web = ctx.count("select * from clean_web")
    orphans = ctx.count(check_sql(STAGE, "orphans_web_products_without_price"))
    return orphans, orphans / web if web else 0.0, ceiling


@gate(
    STAGE,
    "orphans.web_products_without_price",
    ERROR,
    "volumes",
    "Les produits web trouvent leur prix ERP, au plafond près en nombre de produits (--max-orphan-share) ; "
    "le poids des ventes perdues, en unités et en CA, est contrôlé par clean.web.lost_sales_within_ceiling.",
)
def web_orphans(ctx: CheckContext) -> Finding:
    orphans, share, ceiling = _orphan_share(ctx)
    finding = ctx.offending(
        check_sql(STAGE, "orphans_web_products_without_price"),
        lambda n, rows: (
            f"web.xlsx : {n} produit(s) vendus sans correspondance ERP "
            f"({share:.1%} > plafond {ceiling:.0%}) : sku {quote(rows, 'sku', n)}. "
            "Ajoutez-les à liaison.xlsx ou à l'ERP."
        ),
        observed=f"{orphans} ({share:.1%})",
        expected=f"<= {ceiling:.0%}",
    )
    finding.count = orphans if share > ceiling else 0
    return finding


@gate(
    STAGE,
    "orphans.web_products_unlinked",
    WARN,
    "volumes",
    "Produits web sans correspondance ERP (sous le plafond) : leur CA n'est pas compté.",
)
def web_orphans_warn(ctx: CheckContext) -> Finding:
    _, share, ceiling = _orphan_share(ctx)
    finding = ctx.offending(
        check_sql(STAGE, "orphans_web_products_without_price"),  # the same products, under the ceiling
        lambda n, rows: (
            f"web.xlsx : {n} produit(s) sans correspondance ERP, hors CA : "
            f"sku {quote(rows, 'sku', n)}. Complétez liaison.xlsx."
        ),
    )
    if share > ceiling:  # over the ceiling the error above reports them
        finding.count = 0
    return finding


@gate(
    STAGE,
    "orphans.links_to_missing_web_product",
    WARN,
    "volumes",
    "Liens dont le sku n'existe pas (ou plus) parmi les produits web.",
)
def link_orphans(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "orphans_links_to_missing_web_product"),
        lambda n, rows: (
            f"liaison.xlsx : {n} lien(s) vers un sku absent des produits de l'export web "
            f"(produits {quote(rows, 'product_id', n)}). Si ces produits ont des ventes "
            "dans web.xlsx (ligne sans sku, ventes vides, autre post_type), elles sont hors "
            "CA et chiffrées par le contrôle clean.web.lost_sales ; sinon, nettoyez ces liens "
            "dans la table de liaison."
        ),
    )


@gate(
    STAGE,
    "orphans.links_to_missing_erp_product",
    WARN,
    "volumes",
    "Liens dont le product_id n'existe pas dans l'ERP nettoyé.",
)
def erp_link_orphans(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "orphans_links_to_missing_erp_product"),
        lambda n, rows: f"liaison.xlsx : {n} lien(s) vers un produit absent de l'ERP ({quote(rows, 'product_id', n)}).",
    )


@gate(STAGE, "products.no_negative_price", ERROR, "business", "Aucun produit vendu n'a un prix négatif.")
def no_negative_price(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "products_no_negative_price"),
        lambda n, rows: (
            f"erp.xlsx : {n} produit(s) vendu(s) avec un prix négatif "
            f"(product_id {quote(rows, 'product_id', n)}). Corrigez le prix dans l'ERP."
        ),
    )


@gate(STAGE, "products.no_negative_quantity", ERROR, "business", "Aucun produit n'a une quantité vendue négative.")
def no_negative_quantity(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "products_no_negative_quantity"),
        lambda n, rows: (
            f"web.xlsx : {n} produit(s) avec des ventes négatives "
            f"(sku {quote(rows, 'sku', n)}). Corrigez total_sales dans l'export web."
        ),
    )


@gate(
    STAGE,
    "products.no_missing_values",
    ERROR,
    "missing_values",
    "Chaque produit fusionné a un product_id, un sku, un prix et une quantité (revérifié après la "
    "jointure : l'étape merge appelée seule reçoit des tables qui n'ont pas forcément passé le "
    "contrôle clean).",
)
def no_missing(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "products_no_missing_values"),
        lambda n, rows: f"{n} produit(s) fusionné(s) incomplet(s). Signalez-le à l'équipe data.",
    )
