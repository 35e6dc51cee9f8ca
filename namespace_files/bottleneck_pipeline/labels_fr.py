"""Every French label of the deliverables, in one place (code and data stay in English)."""

REPORT_FILE = "rapport_ca.xlsx"
PREMIUM_FILE = "vins_premium.csv"
ORDINARY_FILE = "vins_ordinaires.csv"

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
}

# pipeline column -> CSV header of the extracts (machine-friendly, still French)
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
}
