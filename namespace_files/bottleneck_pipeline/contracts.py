"""Input contracts: what each monthly workbook must contain, and how its columns are typed.

Ingest reads every contract column as text (so no id is ever turned into a float and no leading
zero is lost) and casts it here, explicitly, reporting the exact rows that do not fit.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds. Keys stay text: the link table holds ids such as "bon-cadeau-25-euros" and
# "13127-1" next to integers, so ERP ids and web skus are compared as text everywhere.
KEY = "key"  # text, trimmed
TEXT = "text"  # free text, trimmed, empty -> null
MONEY = "money"  # euros with at most 2 decimals -> DECIMAL(18,2)
INTEGER = "integer"  # whole number -> BIGINT

KIND_LABELS_FR = {
    KEY: "un identifiant",
    TEXT: "du texte",
    MONEY: "un montant en euros (au plus 2 décimales)",
    INTEGER: "un nombre entier",
}


@dataclass(frozen=True)
class Column:
    source: str  # header in the workbook
    name: str  # name in the pipeline (identical across stages)
    kind: str
    nullable: bool = True  # False: an empty cell rejects the file at ingest
    allowed: tuple[str, ...] = ()  # known values; others are reported (warn)


@dataclass(frozen=True)
class WorkbookContract:
    table: str  # erp | web | liaison
    file_name: str  # expected file name in the input folder
    label_fr: str  # how a business reader calls it
    columns: tuple[Column, ...]
    # Headers the export is known to carry but the analysis does not use: read past silently.
    # Anything else is reported as schema drift (warn).
    known_unused: tuple[str, ...] = ()

    @property
    def source_columns(self) -> list[str]:
        return [column.source for column in self.columns]


ERP = WorkbookContract(
    table="erp",
    file_name="erp.xlsx",
    label_fr="catalogue ERP",
    columns=(
        Column("product_id", "product_id", KEY, nullable=False),
        Column("onsale_web", "onsale_web", INTEGER),
        Column("price", "price_eur", MONEY),
        Column("stock_quantity", "stock_quantity", INTEGER),
        Column("stock_status", "stock_status", TEXT, allowed=("instock", "outofstock")),
    ),
)

WEB = WorkbookContract(
    table="web",
    file_name="web.xlsx",
    label_fr="export du site web (CMS)",
    columns=(
        Column("sku", "sku", KEY),
        Column("total_sales", "quantity_sold", INTEGER),
        Column("post_type", "post_type", TEXT, allowed=("product", "attachment")),
        Column("post_title", "product_name", TEXT),
    ),
    known_unused=(
        "virtual", "downloadable", "rating_count", "average_rating", "tax_status", "tax_class",
        "post_author", "post_date", "post_date_gmt", "post_content", "post_excerpt",
        "post_status", "comment_status", "ping_status", "post_password", "post_name",
        "post_modified", "post_modified_gmt", "post_content_filtered", "post_parent", "guid",
        "menu_order", "post_mime_type", "comment_count",
    ),
)

LIAISON = WorkbookContract(
    table="liaison",
    file_name="liaison.xlsx",
    label_fr="table de liaison ERP / web",
    columns=(
        Column("product_id", "product_id", KEY, nullable=False),
        # An ERP product that is not sold on the web has no sku: empty is legitimate here.
        Column("id_web", "sku", KEY),
    ),
)

CONTRACTS: dict[str, WorkbookContract] = {c.table: c for c in (ERP, WEB, LIAISON)}
