"""The French labels of the deliverables (workbook, extracts, HTML page), in one place (code and
data stay in English). The checks' messages are written next to their checks; the COPIL deck's
sentences live in scripts/docs_generator/deck_text.py, which reuses the labels here."""

REPORT_FILE = "rapport_ca.xlsx"
PREMIUM_FILE = "vins_premium.csv"
ORDINARY_FILE = "vins_ordinaires.csv"
# The extracts in their machine-readable form (the format the extracts had before they were made
# for French Excel: decimal point, technical headers), for other teams: same file names, here.
MACHINE_DIR = "machine"

REVENUE_SHEET = "CA par produit"
SUMMARY_SHEET = "Synthèse"
TOTAL_LABEL = "Total"

# pipeline column -> heading in the Excel report
REPORT_COLUMNS = {
    "product_id": "Identifiant produit",
    "sku": "SKU web",
    "product_name": "Vin",
    "price_eur": "Prix (€)",
    "quantity_sold": "Quantité vendue",
    "revenue_eur": "CA (€)",
    "z_score": "Z-score du prix",
    "wine_class": "Classe",
}
CLASS_LABELS = {True: "premium", False: "ordinaire"}

# pipeline column -> heading of the CSV extracts for French Excel (the deliverables)
EXTRACT_HEADINGS_FR = {
    "product_id": "Identifiant produit",
    "sku": "SKU web",
    "product_name": "Vin",
    "price_eur": "Prix (€)",
    "z_score": "Z-score du prix",
    "quantity_sold": "Quantité vendue",
    "revenue_eur": "CA (€)",
}

# pipeline column -> CSV header of the machine-readable extracts (MACHINE_DIR)
EXTRACT_COLUMNS = {
    "product_id": "product_id",
    "sku": "sku",
    "product_name": "nom_du_vin",
    "price_eur": "prix_eur",
    "z_score": "z_score",
    "quantity_sold": "quantite_vendue",
    "revenue_eur": "ca_eur",
}
CSV_SEPARATOR = ";"  # what Excel in a French locale splits on
DECIMAL_COMMA = ","  # what Excel in a French locale reads as a number (a '.' makes it text)

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def period_fr(period: str) -> str:
    """'2026-11' -> 'novembre 2026'."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def of_period(period: str) -> str:
    """'de novembre 2026', "d'octobre 2026" (elided before a vowel)."""
    words = period_fr(period)
    return ("d'" if words[0] in "aeiouéè" else "de ") + words


# What the CA is, and what the sources say of VAT (shown on the summary sheet and the HTML page).
CA_DEFINITION = (
    "Somme, sur les vins vendus en ligne, du prix ERP (erp.xlsx, colonne price) x la "
    "quantité vendue sur le site (web.xlsx, colonne total_sales)."
)
VAT_NOTE = (
    "Prix TTC ou HT : non précisé par les sources (la colonne price d'erp.xlsx ne l'indique "
    "pas ; la colonne tax_status de web.xlsx dit seulement si un produit est soumis à la TVA)."
)

REMOVAL_REASONS = {
    "empty_row": "ligne vide",
    "missing_price": "prix manquant",
    "not_a_product": "ligne non produit (image 'attachment' ou type vide)",
    "missing_sku": "sku manquant",
    "missing_quantity": "ventes manquantes",
    "not_on_web": "produit non vendu en ligne (pas de sku)",
    "exact_duplicate": "doublon exact",
}

STAGE_LABELS = {
    "ingest": "lecture des classeurs",
    "clean": "nettoyage",
    "merge": "fusion ERP / web",
    "report": "rapport de CA",
    "classify": "classement premium / ordinaires",
    "compare": "comparaison avec les mois publiés",  # the final step's gates (not a stage)
}
