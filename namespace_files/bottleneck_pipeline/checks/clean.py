"""Gates after clean, on the cleaned tables ``erp``, ``web``, ``liaison`` (and the ingested
``ingest_*`` tables they came from). Their queries: ``sql/clean/checks/`` (checks/model.py says
which stay here and why)."""

from __future__ import annotations

from ..storage import query_rows
from .context import CheckContext, quote
from .model import ERROR, MAX_ROWS, WARN, Finding, check_sql, gate

STAGE = "clean"


def _key_and_rows(row: dict, key: str) -> str:
    return f"{row[key]} (lignes {', '.join(str(line) for line in row['lignes'])})"


def _conflicts(ctx: CheckContext, table: str, key: str, values: str, label: str, what: str) -> Finding:
    """Rows sharing a key after exact duplicates were removed: they disagree on some value."""
    sql = (
        f"select {key}, count(*) as lignes_en_conflit, list(source_row order by source_row) as lignes, "
        f"{values} from {table} group by {key} having count(*) > 1 order by {key}"
    )
    return ctx.offending(
        sql,
        lambda n, rows: (
            f"{label} : {n} {key}(s) apparaissent plusieurs fois avec des valeurs différentes "
            f"({what}) : {', '.join(_key_and_rows(r, key) for r in rows)}"
            f"{'…' if n > len(rows) else ''}. Le pipeline ne choisit pas à votre place : "
            "gardez une seule ligne par identifiant dans le fichier source."
        ),
    )


@gate(
    STAGE,
    "erp.unique_product_id",
    ERROR,
    "duplicates",
    "Un seul enregistrement par produit dans l'ERP (deux prix pour un produit fausseraient le CA).",
)
def erp_unique_product_id(ctx: CheckContext) -> Finding:
    return _conflicts(
        ctx, "erp", "product_id", "list(price_eur order by source_row) as prix", "erp.xlsx", "prix ou stock"
    )


@gate(
    STAGE,
    "web.unique_sku",
    ERROR,
    "duplicates",
    "Une seule ligne produit par sku dans l'export web (sinon les ventes seraient comptées deux fois).",
)
def web_unique_sku(ctx: CheckContext) -> Finding:
    return _conflicts(
        ctx, "web", "sku", "list(quantity_sold order by source_row) as ventes", "web.xlsx", "ventes ou libellé"
    )


@gate(STAGE, "liaison.unique_product_id", ERROR, "duplicates", "Chaque produit ERP est lié à un seul sku web.")
def liaison_unique_product_id(ctx: CheckContext) -> Finding:
    return _conflicts(
        ctx,
        "liaison",
        "product_id",
        "list(sku order by source_row) as skus",
        "liaison.xlsx",
        "plusieurs sku pour un produit",
    )


@gate(STAGE, "liaison.unique_sku", ERROR, "duplicates", "Chaque sku web est lié à un seul produit ERP.")
def liaison_unique_sku(ctx: CheckContext) -> Finding:
    return _conflicts(
        ctx,
        "liaison",
        "sku",
        "list(product_id order by source_row) as produits",
        "liaison.xlsx",
        "plusieurs produits pour un sku",
    )


def _missing(ctx: CheckContext, table: str, columns: tuple[str, ...], label: str) -> Finding:
    condition = " or ".join(f"{c} is null" for c in columns)
    return ctx.offending(
        f"select source_row as ligne, {', '.join(columns)} from {table} where {condition}",
        lambda n, rows: (
            f"{label} : {n} ligne(s) gardée(s) avec une valeur manquante dans "
            f"{', '.join(columns)} (lignes {quote(rows, 'ligne', n)}). "
            "Défaut du nettoyage : signalez-le à l'équipe data."
        ),
    )


@gate(
    STAGE,
    "erp.no_missing_values",
    ERROR,
    "missing_values",
    "Aucune valeur manquante dans les colonnes ERP utilisées (product_id, prix).",
)
def erp_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "erp", ("product_id", "price_eur"), "erp.xlsx")


@gate(
    STAGE,
    "web.no_missing_values",
    ERROR,
    "missing_values",
    "Aucune valeur manquante dans les colonnes web utilisées (sku, ventes).",
)
def web_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "web", ("sku", "quantity_sold"), "web.xlsx")


@gate(
    STAGE,
    "liaison.no_missing_values",
    ERROR,
    "missing_values",
    "Aucune valeur manquante dans la table de liaison nettoyée (product_id, sku).",
)
def liaison_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "liaison", ("product_id", "sku"), "liaison.xlsx")


@gate(
    STAGE,
    "web.only_product_rows",
    ERROR,
    "duplicates",
    "Seules les lignes 'product' restent (les lignes 'attachment' dupliquent chaque produit).",
)
def web_only_products(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "web_only_product_rows"),
        lambda n, rows: (
            f"web.xlsx : {n} ligne(s) non 'product' restent après nettoyage "
            f"(lignes {quote(rows, 'ligne', n)}). Défaut du nettoyage : signalez-le."
        ),
    )


def _not_empty(ctx: CheckContext, table: str, message: str) -> Finding:
    rows = ctx.count(f"select * from {table}")
    return Finding(int(rows == 0), rows, "> 0", message)


@gate(STAGE, "web.has_products", ERROR, "volumes", "L'export web contient des lignes produit (post_type = 'product').")
def web_has_products(ctx: CheckContext) -> Finding:
    types = ctx.db.execute(check_sql(STAGE, "web_has_products")).fetchall()
    found = ", ".join(f"{t} : {n}" for t, n in types) or "aucune ligne"
    return _not_empty(
        ctx,
        "web",
        f"web.xlsx : aucune ligne produit exploitable (post_type = 'product' "
        f"avec sku et ventes). Types trouvés : {found}. Vérifiez que l'export "
        "inclut bien les produits et pas seulement les images.",
    )


@gate(STAGE, "erp.has_rows", ERROR, "volumes", "Il reste des produits ERP après nettoyage.")
def erp_has_rows(ctx: CheckContext) -> Finding:
    return _not_empty(
        ctx, "erp", "erp.xlsx : aucun produit avec un prix après nettoyage. Vérifiez la colonne price de l'export ERP."
    )


@gate(STAGE, "liaison.has_rows", ERROR, "volumes", "Il reste des liens produit/sku après nettoyage.")
def liaison_has_rows(ctx: CheckContext) -> Finding:
    return _not_empty(
        ctx,
        "liaison",
        "liaison.xlsx : aucun lien product_id / id_web renseigné. Vérifiez la colonne id_web de la table de liaison.",
    )


@gate(
    STAGE,
    "rows_accounted_for",
    ERROR,
    "volumes",
    "Lignes lues = lignes gardées + lignes retirées (par motif), pour chaque table.",
)
def rows_accounted_for(ctx: CheckContext) -> Finding:
    gaps = []
    for table in ("erp", "web", "liaison"):
        read = ctx.count(f"select * from ingest_{table}")
        kept = ctx.count(f"select * from {table}")
        removed = sum(ctx.manifest.get("removed", {}).get(table, {}).values())
        if read != kept + removed:
            gaps.append({"table": table, "lues": read, "gardees": kept, "retirees": removed})
    return Finding(
        len(gaps),
        gaps or "équilibré",
        "lues = gardées + retirées",
        f"Le décompte du nettoyage ne tombe pas juste : {gaps}. Signalez-le à l'équipe data.",
        gaps,
    )


@gate(
    STAGE,
    "erp.no_negative_price",
    WARN,
    "business",
    "Aucun prix négatif dans l'ERP (bloquant seulement si le produit est vendu : voir merge).",
)
def erp_no_negative_price(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "erp_no_negative_price"),
        lambda n, rows: (
            f"erp.xlsx : {n} prix négatif(s) (produits {quote(rows, 'product_id', n)}). Corrigez-les dans l'ERP."
        ),
    )


@gate(
    STAGE,
    "erp.stock_status_consistent",
    WARN,
    "business",
    "Le statut de stock est cohérent avec la quantité (instock si quantité > 0).",
)
def erp_stock_status(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "erp_stock_status_consistent"),
        lambda n, rows: (
            f"erp.xlsx : {n} produit(s) dont le statut de stock contredit la quantité "
            f"({quote(rows, 'product_id', n)}). À corriger dans l'ERP ; sans effet sur le CA."
        ),
    )


@gate(
    STAGE,
    "web.product_name_present",
    WARN,
    "missing_values",
    "Chaque produit web a un libellé (post_title) pour le rapport.",
)
def web_product_name(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "web_product_name_present"),
        lambda n, rows: (
            f"web.xlsx : {n} produit(s) sans libellé (sku {quote(rows, 'sku', n)}). "
            "Ils figurent au rapport sans nom ; complétez post_title dans le CMS."
        ),
    )


# --- sales that will not reach the report, weighed in units and in CA -----------------------------
# The clean gate is the last one that sees every raw web row next to the cleaned keys, so it
# weighs here every sale lost on the way: rows removed by the cleaning (no sku, no sales figure,
# another post_type) and products that the merge will not price (no link, no ERP price). The
# merge gate then checks that the join gives exactly what these keys predict.
# The rows lost, each priced through loose keys and tagged with the column to fix:
# sql/clean/checks/web_lost_sales.sql; what reaches the report: web_sales_reported.sql.
DEFAULT_MAX_LOST_SHARE = 0.01  # of the units sold and of the CA (README: "Lost sales")


def _eur(value) -> str:
    return f"{value:,.2f} €".replace(",", " ").replace(".", ",")


def _int(value) -> str:
    return f"{value:,}".replace(",", " ")


def _pct(share: float, exact: bool = False) -> str:
    """'28,14 %'; ``exact`` for a ceiling: '1 %', '2,5 %'."""
    text = f"{share * 100:.6f}".rstrip("0").rstrip(".") if exact else f"{share * 100:.2f}"
    return text.replace(".", ",") + " %"


def _why(row: dict) -> str:
    typed = f"'{row['post_type']}'" if row["post_type"] else "vide"
    return {
        "post_type": f"post_type {typed} au lieu de 'product' (web.xlsx, colonne post_type)",
        "sku": "sans sku (web.xlsx, colonne sku)",
        "total_sales": "ventes vides (web.xlsx, colonne total_sales)",
        "id_web": "sku absent de liaison.xlsx (colonne id_web)",
        "near_sku": f"sku écrit '{row['linked_sku']}' dans liaison.xlsx (colonne id_web)",
        "near_product_id": f"product_id {row['product_id']} écrit '{row['erp_product_id']}' dans "
        "erp.xlsx (colonne product_id)",
        "price": f"product_id {row['product_id']} sans prix dans erp.xlsx (colonne price)",
    }[row["colonne"]]


def _lost_row(row: dict) -> str:
    what = [f"sku {row['sku']}"] if row["sku"] else []
    what.append("ventes inconnues" if row["unites"] is None else f"{_int(row['unites'])} unité(s)")
    if row["ca"] is not None:
        what.append(_eur(row["ca"]))
    return f"ligne {row['ligne']} ({', '.join(what)}) : {_why(row)}"


def lost_sales(ctx: CheckContext) -> tuple[dict, list[dict], bool, str]:
    """What does not reach the report (figures, first rows), whether it is over the ceiling, and
    a French account of it, for the two lost-sales checks (the run summary's ``left_out`` is the
    first one's result)."""
    ceiling = ctx.params.get("max_lost_share")
    ceiling = DEFAULT_MAX_LOST_SHARE if ceiling is None else float(ceiling)
    lost = check_sql(STAGE, "web_lost_sales")
    ctx.db.execute(f"create temp table if not exists lost_sales as {lost}")  # once for both gates
    rows_lost, unknown, units, unpriced, ca = ctx.aggregate(
        "select count(*), count(*) filter (where unites is null), coalesce(sum(unites), 0), "
        "count(*) filter (where prix is null), coalesce(sum(ca), 0) from lost_sales"
    )
    kept_units, kept_ca = ctx.aggregate(check_sql(STAGE, "web_sales_reported"))
    unit_share = units / (kept_units + units) if units else 0.0
    ca_share = float(ca / (kept_ca + ca)) if ca else 0.0
    observed = {
        "lignes": rows_lost,
        "unites_perdues": int(units),
        "part_unites": round(unit_share, 6),
        "ca_perdu_eur": str(ca),
        "part_ca": round(ca_share, 6),
        "lignes_sans_prix": unpriced,
        "lignes_sans_ventes": unknown,
        "unites_au_rapport": int(kept_units),
        "ca_au_rapport_eur": str(kept_ca),
        "plafond": ceiling,
    }
    rows = (
        query_rows(
            ctx.db,
            "select * from lost_sales order by unites is null desc, ca desc nulls last, unites desc, ligne",
            limit=MAX_ROWS,
        )
        if rows_lost
        else []
    )
    over = unknown > 0 or unit_share > ceiling or ca_share > ceiling
    text = (
        f"{_int(units)} unité(s) vendue(s) sur {_int(kept_units + units)} ({_pct(unit_share)}) et "
        f"{_eur(ca)} de CA chiffrable sur {_eur(kept_ca + ca)} ({_pct(ca_share)}) n'atteignent pas "
        "le rapport"
    )
    if not kept_units:
        text += (
            " (aucune vente ne relie l'ERP et le site web : vérifiez que les trois fichiers sont "
            "du même mois et du même format)"
        )
    if unpriced:
        text += f" ; CA non chiffrable pour {unpriced} ligne(s) sans prix connu"
    if unknown:
        text += f" ; {unknown} ligne(s) produit sans ventes (total_sales vide) : perte impossible à chiffrer"
    text += f". Lignes de web.xlsx : {' ; '.join(_lost_row(r) for r in rows)}"
    if rows_lost > len(rows):
        text += f" ; et {rows_lost - len(rows)} autre(s) ligne(s)"
    return observed, rows, over, text


@gate(
    STAGE,
    "web.lost_sales_within_ceiling",
    ERROR,
    "revenue",
    "Les ventes web qui n'atteignent pas le rapport (lignes retirées, produits sans lien ou sans prix) "
    "restent sous le plafond, en unités et en CA (1 % par défaut) ; des ventes inconnues bloquent.",
)
def lost_sales_within_ceiling(ctx: CheckContext) -> Finding:
    observed, rows, over, text = lost_sales(ctx)
    ceiling = _pct(observed["plafond"], exact=True)
    return Finding(
        observed["lignes"] if over else 0,
        observed,
        f"<= {ceiling} des unités et du CA",
        f"Ventes perdues au-delà du plafond de {ceiling} : {text}. Ne diffusez pas ce CA : "
        "ajoutez les liens manquants dans liaison.xlsx (colonne id_web), les prix dans "
        "erp.xlsx (colonne price), ou complétez sku, total_sales et post_type dans web.xlsx, "
        "puis relancez le mois. Si cette perte est connue et acceptée pour ce mois, "
        "relancez avec --max-lost-share.",
        rows,
    )


@gate(
    STAGE,
    "web.lost_sales",
    WARN,
    "revenue",
    "Ventes web hors rapport sous le plafond : unités et CA laissés de côté, ligne par ligne et pourquoi.",
)
def lost_sales_listed(ctx: CheckContext) -> Finding:
    observed, rows, over, text = lost_sales(ctx)
    ceiling = _pct(observed["plafond"], exact=True)
    return Finding(
        0 if over else observed["lignes"],
        observed,
        0,
        f"Ventes hors rapport, sous le plafond de {ceiling} : {text}. Elles manquent au CA "
        "publié : corrigez-les dans les fichiers cités.",
        rows,
    )


# --- keys that match only once case and leading zeros are ignored --------------------------------


def _near_matches(ctx: CheckContext, sold: bool) -> Finding:
    # One list of pairs (the SQL file), graded by the sales at stake: sold is an error, unsold a warning.
    condition = "coalesce(unites, 0) > 0" if sold else "coalesce(unites, 0) <= 0"
    pairs = check_sql(STAGE, "keys_near_match")
    sql = f"select * from ({pairs}) where {condition} order by unites desc nulls last, cle, ligne_liaison"

    def pair(r: dict) -> str:
        column = "id_web" if r["cle"] == "sku" else "product_id"
        sales = f" ; {_int(r['unites'])} unité(s) vendue(s)" if sold else ""
        return (
            f"{r['cle']} '{r['valeur_liaison']}' (liaison.xlsx ligne {r['ligne_liaison']}, colonne "
            f"{column}) ≈ '{r['valeur']}' ({r['fichier']} ligne {r['ligne']}, colonne "
            f"{r['colonne']}{sales})"
        )

    def message(n: int, rows: list[dict]) -> str:
        listed = " ; ".join(pair(r) for r in rows) + ("…" if n > len(rows) else "")
        if sold:
            return (
                f"{n} identifiant(s) de produits vendus ne correspondent qu'en ignorant la casse ou "
                f"les zéros de tête : {listed}. Leurs ventes manquent au CA. Le pipeline ne devine "
                "pas lequel est juste : écrivez l'identifiant à l'identique dans les deux fichiers, "
                "puis relancez le mois."
            )
        return (
            f"{n} identifiant(s) ne correspondent qu'en ignorant la casse ou les zéros de tête : "
            f"{listed}. Aucune vente retenue n'y est rattachée ce mois-ci ; harmonisez l'identifiant "
            "dans les deux fichiers avant qu'ils ne se vendent."
        )

    return ctx.offending(sql, message)


@gate(
    STAGE,
    "keys.near_match_with_sales",
    ERROR,
    "volumes",
    "Aucun produit vendu n'est perdu parce que ses identifiants diffèrent seulement par la casse ou "
    "des zéros de tête (liaison.xlsx face à web.xlsx ou erp.xlsx).",
)
def near_match_with_sales(ctx: CheckContext) -> Finding:
    return _near_matches(ctx, sold=True)


@gate(
    STAGE,
    "keys.near_match",
    WARN,
    "volumes",
    "Identifiants qui ne diffèrent que par la casse ou des zéros de tête, sur des produits sans ventes.",
)
def near_match_without_sales(ctx: CheckContext) -> Finding:
    return _near_matches(ctx, sold=False)
