"""Gates after report, on ``revenue`` (and its input ``products``), the manifest's total and the
Excel report itself, read back: CA per line = price x quantity, total = sum of the lines, and
an independent recomputation (Python decimals against DuckDB) agreeing to the cent. Their
queries: ``sql/report/checks/``; the totals compared in Python stay here (checks/model.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .context import CheckContext, quote
from .model import ERROR, Finding, check_sql, gate

STAGE = "report"
CENT = Decimal("0.01")


def python_total(ctx: CheckContext) -> Decimal:
    """The total recomputed in Python decimals from price and quantity, not from revenue_eur."""
    rows = ctx.db.execute("select price_eur, quantity_sold from products").fetchall()
    return sum((price * quantity for price, quantity in rows), Decimal("0")).quantize(CENT)


@gate(
    STAGE, "revenue.line_is_price_times_quantity", ERROR, "revenue", "Pour chaque produit, CA = prix x quantité vendue."
)
def line_is_price_times_quantity(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "revenue_line_is_price_times_quantity"),
        lambda n, rows: (
            f"{n} ligne(s) du rapport où CA ≠ prix x quantité "
            f"({quote(rows, 'product_id', n)}). Ne diffusez pas ce rapport."
        ),
    )


@gate(
    STAGE, "revenue.one_line_per_product", ERROR, "volumes", "Le rapport a exactement une ligne par produit fusionné."
)
def one_line_per_product(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "revenue_one_line_per_product"),
        lambda n, rows: (
            f"{n} écart(s) entre les produits fusionnés et les lignes du rapport ({quote(rows, 'product_id', n)})."
        ),
    )


@gate(
    STAGE,
    "revenue.total_is_sum_of_lines",
    ERROR,
    "revenue",
    "CA total = somme des lignes, recalculé indépendamment (Python et DuckDB) au centime près.",
)
def total_is_sum_of_lines(ctx: CheckContext) -> Finding:
    sql_total = Decimal(ctx.scalar("select coalesce(sum(revenue_eur), 0) from revenue")).quantize(CENT)
    recomputed = python_total(ctx)
    reported = Decimal(str(ctx.manifest.get("ca_total"))).quantize(CENT)
    totals = {"rapport": str(reported), "sql": str(sql_total), "python": str(recomputed)}
    return Finding(
        int(len(set(totals.values())) > 1),
        totals,
        "trois totaux égaux",
        f"Les totaux de CA divergent : {totals}. Ne diffusez pas ce rapport.",
        [totals],
    )


@gate(
    STAGE,
    "revenue.no_negative_values",
    ERROR,
    "revenue",
    "Aucun prix, quantité ou CA négatif dans le rapport (revérifié sur le rapport : l'étape report "
    "appelée seule reçoit des produits qui n'ont pas forcément passé le contrôle merge).",
)
def no_negative(ctx: CheckContext) -> Finding:
    return ctx.offending(
        check_sql(STAGE, "revenue_no_negative_values"),
        lambda n, rows: f"{n} ligne(s) négative(s) dans le rapport ({quote(rows, 'product_id', n)}).",
    )


@gate(
    STAGE,
    "workbook.matches_revenue",
    ERROR,
    "revenue",
    "Le classeur Excel relu contient toutes les lignes et le bon total.",
)
def workbook_matches(ctx: CheckContext) -> Finding:
    from ..report_workbook import read_back  # local import: only this check reads the xlsx

    path = ctx.params.get("report_xlsx")
    if not path or not Path(path).is_file():
        return Finding(1, "absent", "rapport_ca.xlsx", "Le rapport Excel n'a pas été produit.")
    lines, total = read_back(Path(path))
    expected_lines = ctx.count("select * from revenue")
    expected_total = Decimal(ctx.scalar("select coalesce(sum(revenue_eur), 0) from revenue")).quantize(CENT)
    observed = {"lignes": lines, "total": str(total)}
    expected = {"lignes": expected_lines, "total": str(expected_total)}
    return Finding(
        int(observed != expected),
        observed,
        expected,
        f"Le classeur relu ne correspond pas aux données : {observed} au lieu de {expected}.",
    )
