"""Gates after clean, on the cleaned tables ``erp``, ``web``, ``liaison`` (and the ingested
``ingest_*`` tables they came from)."""

from __future__ import annotations

from . import CheckContext, quote
from .model import ERROR, WARN, Finding, gate

STAGE = "clean"


def _key_and_rows(row: dict, key: str) -> str:
    return f"{row[key]} (lignes {', '.join(str(line) for line in row['lignes'])})"


def _conflicts(ctx: CheckContext, table: str, key: str, values: str, label: str, what: str) -> Finding:
    """Rows sharing a key after exact duplicates were removed: they disagree on some value."""
    sql = (f"select {key}, count(*) as lignes_en_conflit, list(source_row order by source_row) as lignes, "
           f"{values} from {table} group by {key} having count(*) > 1 order by {key}")
    return ctx.offending(
        sql, lambda n, rows: (
            f"{label} : {n} {key}(s) apparaissent plusieurs fois avec des valeurs différentes "
            f"({what}) : {', '.join(_key_and_rows(r, key) for r in rows)}"
            f"{'…' if n > len(rows) else ''}. Le pipeline ne choisit pas à votre place : "
            "gardez une seule ligne par identifiant dans le fichier source."))


@gate(STAGE, "erp.unique_product_id", ERROR, "duplicates",
      "Un seul enregistrement par produit dans l'ERP (deux prix pour un produit fausseraient le CA).")
def erp_unique_product_id(ctx: CheckContext) -> Finding:
    return _conflicts(ctx, "erp", "product_id", "list(price_eur order by source_row) as prix",
                      "erp.xlsx", "prix ou stock")


@gate(STAGE, "web.unique_sku", ERROR, "duplicates",
      "Une seule ligne produit par sku dans l'export web (sinon les ventes seraient comptées deux fois).")
def web_unique_sku(ctx: CheckContext) -> Finding:
    return _conflicts(ctx, "web", "sku", "list(quantity_sold order by source_row) as ventes",
                      "web.xlsx", "ventes ou libellé")


@gate(STAGE, "liaison.unique_product_id", ERROR, "duplicates",
      "Chaque produit ERP est lié à un seul sku web.")
def liaison_unique_product_id(ctx: CheckContext) -> Finding:
    return _conflicts(ctx, "liaison", "product_id", "list(sku order by source_row) as skus",
                      "liaison.xlsx", "plusieurs sku pour un produit")


@gate(STAGE, "liaison.unique_sku", ERROR, "duplicates",
      "Chaque sku web est lié à un seul produit ERP.")
def liaison_unique_sku(ctx: CheckContext) -> Finding:
    return _conflicts(ctx, "liaison", "sku", "list(product_id order by source_row) as produits",
                      "liaison.xlsx", "plusieurs produits pour un sku")


def _missing(ctx: CheckContext, table: str, columns: tuple[str, ...], label: str) -> Finding:
    condition = " or ".join(f"{c} is null" for c in columns)
    return ctx.offending(
        f"select source_row as ligne, {', '.join(columns)} from {table} where {condition}",
        lambda n, rows: f"{label} : {n} ligne(s) gardée(s) avec une valeur manquante dans "
                        f"{', '.join(columns)} (lignes {quote(rows, 'ligne', n)}). "
                        "Défaut du nettoyage : signalez-le à l'équipe data.")


@gate(STAGE, "erp.no_missing_values", ERROR, "missing_values",
      "Aucune valeur manquante dans les colonnes ERP utilisées (product_id, prix).")
def erp_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "erp", ("product_id", "price_eur"), "erp.xlsx")


@gate(STAGE, "web.no_missing_values", ERROR, "missing_values",
      "Aucune valeur manquante dans les colonnes web utilisées (sku, ventes).")
def web_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "web", ("sku", "quantity_sold"), "web.xlsx")


@gate(STAGE, "liaison.no_missing_values", ERROR, "missing_values",
      "Aucune valeur manquante dans la table de liaison nettoyée (product_id, sku).")
def liaison_no_missing(ctx: CheckContext) -> Finding:
    return _missing(ctx, "liaison", ("product_id", "sku"), "liaison.xlsx")


@gate(STAGE, "web.only_product_rows", ERROR, "duplicates",
      "Seules les lignes 'product' restent (les lignes 'attachment' dupliquent chaque produit).")
def web_only_products(ctx: CheckContext) -> Finding:
    return ctx.offending(
        "select source_row as ligne, sku, post_type from web where post_type is distinct from 'product'",
        lambda n, rows: f"web.xlsx : {n} ligne(s) non 'product' restent après nettoyage "
                        f"(lignes {quote(rows, 'ligne', n)}). Défaut du nettoyage : signalez-le.")


def _not_empty(ctx: CheckContext, table: str, message: str) -> Finding:
    rows = ctx.count(f"select * from {table}")
    return Finding(int(rows == 0), rows, "> 0", message)


@gate(STAGE, "web.has_products", ERROR, "volumes",
      "L'export web contient des lignes produit (post_type = 'product').")
def web_has_products(ctx: CheckContext) -> Finding:
    types = ctx.con.execute("select coalesce(post_type, '(vide)'), count(*) from ingest_web "
                            "group by all order by 2 desc").fetchall()
    found = ", ".join(f"{t} : {n}" for t, n in types) or "aucune ligne"
    return _not_empty(ctx, "web", f"web.xlsx : aucune ligne produit exploitable (post_type = 'product' "
                                  f"avec sku et ventes). Types trouvés : {found}. Vérifiez que l'export "
                                  "inclut bien les produits et pas seulement les images.")


@gate(STAGE, "erp.has_rows", ERROR, "volumes", "Il reste des produits ERP après nettoyage.")
def erp_has_rows(ctx: CheckContext) -> Finding:
    return _not_empty(ctx, "erp", "erp.xlsx : aucun produit avec un prix après nettoyage. "
                                  "Vérifiez la colonne price de l'export ERP.")


@gate(STAGE, "liaison.has_rows", ERROR, "volumes", "Il reste des liens produit/sku après nettoyage.")
def liaison_has_rows(ctx: CheckContext) -> Finding:
    return _not_empty(ctx, "liaison", "liaison.xlsx : aucun lien product_id / id_web renseigné. "
                                      "Vérifiez la colonne id_web de la table de liaison.")


@gate(STAGE, "rows_accounted_for", ERROR, "volumes",
      "Lignes lues = lignes gardées + lignes retirées (par motif), pour chaque table.")
def rows_accounted_for(ctx: CheckContext) -> Finding:
    gaps = []
    for table in ("erp", "web", "liaison"):
        read = ctx.count(f"select * from ingest_{table}")
        kept = ctx.count(f"select * from {table}")
        removed = sum(ctx.manifest.get("removed", {}).get(table, {}).values())
        if read != kept + removed:
            gaps.append({"table": table, "lues": read, "gardees": kept, "retirees": removed})
    return Finding(len(gaps), gaps or "équilibré", "lues = gardées + retirées",
                   f"Le décompte du nettoyage ne tombe pas juste : {gaps}. Signalez-le à l'équipe data.",
                   gaps)


@gate(STAGE, "erp.no_negative_price", WARN, "business",
      "Aucun prix négatif dans l'ERP (bloquant seulement si le produit est vendu : voir merge).")
def erp_no_negative_price(ctx: CheckContext) -> Finding:
    return ctx.offending(
        "select source_row as ligne, product_id, price_eur from erp where price_eur < 0",
        lambda n, rows: f"erp.xlsx : {n} prix négatif(s) (produits {quote(rows, 'product_id', n)}). "
                        "Corrigez-les dans l'ERP.")


@gate(STAGE, "erp.stock_status_consistent", WARN, "business",
      "Le statut de stock est cohérent avec la quantité (instock si quantité > 0).")
def erp_stock_status(ctx: CheckContext) -> Finding:
    return ctx.offending(
        "select source_row as ligne, product_id, stock_quantity, stock_status from erp "
        "where (stock_status = 'instock' and stock_quantity <= 0) "
        "or (stock_status = 'outofstock' and stock_quantity > 0)",
        lambda n, rows: f"erp.xlsx : {n} produit(s) dont le statut de stock contredit la quantité "
                        f"({quote(rows, 'product_id', n)}). À corriger dans l'ERP ; sans effet sur le CA.")


@gate(STAGE, "web.product_name_present", WARN, "missing_values",
      "Chaque produit web a un libellé (post_title) pour le rapport.")
def web_product_name(ctx: CheckContext) -> Finding:
    return ctx.offending(
        "select source_row as ligne, sku from web where product_name is null",
        lambda n, rows: f"web.xlsx : {n} produit(s) sans libellé (sku {quote(rows, 'sku', n)}). "
                        "Ils figurent au rapport sans nom ; complétez post_title dans le CMS.")
