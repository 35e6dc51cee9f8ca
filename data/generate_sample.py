"""Write the bundled sample workbooks: synthetic wines, the real files' columns, the real defects.

Deterministic (fixed seed): run it again and the data is the same. Nothing in it comes from the
real BottleNeck files; only their shape and their quirks are imitated:
- web.xlsx lists every product twice, as 'product' and as an image 'attachment' whose
  total_sales can differ; it has empty rows (only the 0/1 flags filled) and products without sku;
- ids are integers except a few text ones ('bon-cadeau-25-euros', '<n>-1') on both sides;
- the link table leaves the products not sold on the web without id_web, and points a few
  skus that the web export no longer has;
- the ERP has negative prices (on products not sold online), stock statuses that contradict
  the quantity, and exact duplicate rows.

Usage: python data/generate_sample.py [--out data/sample] [--products 600] [--seed 10]
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

WEB_COLUMNS = [
    "sku",
    "virtual",
    "downloadable",
    "rating_count",
    "average_rating",
    "total_sales",
    "tax_status",
    "tax_class",
    "post_author",
    "post_date",
    "post_date_gmt",
    "post_content",
    "post_title",
    "post_excerpt",
    "post_status",
    "comment_status",
    "ping_status",
    "post_password",
    "post_name",
    "post_modified",
    "post_modified_gmt",
    "post_content_filtered",
    "post_parent",
    "guid",
    "menu_order",
    "post_type",
    "post_mime_type",
    "comment_count",
]
ERP_COLUMNS = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]
LIAISON_COLUMNS = ["product_id", "id_web"]

DOMAINS = [
    "Domaine des Trois Chênes",
    "Château Belle-Rive",
    "Clos Saint-Aubin",
    "Maison Vernet",
    "Domaine de la Source",
    "Château Haut-Mirail",
    "Cave des Coteaux",
    "Domaine Lamarque",
    "Château des Sablons",
    "Domaine Moreau-Lenoir",
    "Clos des Fées",
    "Maison Delorme",
]
APPELLATIONS = [
    "Bordeaux Supérieur",
    "Saint-Émilion Grand Cru",
    "Côtes du Rhône",
    "Chablis",
    "Pouilly-Fumé",
    "Bourgogne Pinot Noir",
    "Champagne Brut",
    "Crozes-Hermitage",
    "Sancerre",
    "Pessac-Léognan",
    "Gigondas",
    "Muscadet Sèvre et Maine",
]
CUVEES = [
    "Tradition",
    "Vieilles Vignes",
    "Réserve",
    "Cuvée Prestige",
    "Les Galets",
    "L'Instant",
    "Grande Cuvée",
    "Terroir",
    "Blanc de Blancs",
    "Les Hauts",
]


def slug(text: str) -> str:
    table = str.maketrans("éèêëàâîïôöûüçÉ'", "eeeeaaiioouucE-")
    return "-".join(text.translate(table).lower().replace("’", "-").split())


def build(products: int, seed: int) -> tuple[list, list, list]:
    rng = random.Random(seed)
    erp: list[list] = []
    liaison: list[list] = []
    web: list[dict] = []
    base_date = datetime(2019, 3, 1, 10, 0, 0)
    for i in range(products):
        product_id = 3800 + i * 3 + rng.randint(0, 2)
        sku: int | str = 10000 + i * 7 + rng.randint(0, 6)  # a few web skus are text
        if i == 17:
            sku = "bon-cadeau-25-euros"
        elif i in (200, 431):
            sku = f"{10000 + i * 7}-1"
        on_web = rng.random() > 0.12
        price = round(rng.lognormvariate(3.2, 0.6), 1 if rng.random() < 0.7 else 2)
        if i in (95, 96, 97, 98):  # a few very expensive wines: the premium ones
            price = round(rng.uniform(150, 260), 2)
        stock = max(0, int(rng.gauss(20, 25)))
        status = "instock" if stock > 0 else "outofstock"
        if i % 97 == 5:  # status contradicting the quantity, as in the real ERP
            status = "outofstock" if status == "instock" else "instock"
        if not on_web and i % 40 == 3:  # negative price, on a product not sold online
            price = -float(rng.randint(1, 9))
        erp.append([product_id, 1 if on_web else 0, price, stock, status])
        if not on_web:
            liaison.append([product_id, None])
            continue
        liaison.append([product_id, sku])
        if i % 113 == 50:  # the link points a sku the web export no longer has
            continue
        name = f"{rng.choice(DOMAINS)} {rng.choice(APPELLATIONS)} {rng.choice(CUVEES)} {rng.randint(2010, 2021)}"
        if sku == "bon-cadeau-25-euros":
            name, price = "Bon cadeau de 25€", 25.0
            erp[-1][2] = price
        sales = max(0, int(rng.expovariate(1 / 12)))
        created = base_date + timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 1440))
        modified = created + timedelta(days=rng.randint(100, 500))
        post_id = 20000 + i
        common: dict[str, object] = dict(
            sku=sku,
            virtual=0,
            downloadable=0,
            rating_count=0,
            average_rating=0,
            post_author=2,
            post_date=created,
            post_date_gmt=created - timedelta(hours=1),
            post_title=name,
            post_status="publish",
            comment_status="closed",
            ping_status="closed",
            post_name=slug(name),
            post_modified=modified,
            post_modified_gmt=modified - timedelta(hours=1),
            post_parent=0,
            menu_order=0,
            comment_count=0,
        )
        product = dict(
            common,
            total_sales=sales,
            tax_status="taxable",
            post_excerpt=f"Un vin {rng.choice(['gourmand', 'minéral', 'élégant', 'fruité'])}.",
            guid=f"https://www.example-bottleneck.test/?post_type=product&p={post_id}",
            post_type="product",
        )
        attachment_sales = sales if i % 61 else sales + rng.randint(1, 40)  # sales can differ
        attachment = dict(
            common,
            total_sales=attachment_sales,
            guid=f"https://www.example-bottleneck.test/wp-content/uploads/{slug(name)}.jpg",
            post_type="attachment",
            post_mime_type="image/jpeg",
        )
        if i % 151 == 9:  # a product row that lost its sku: cannot be linked
            product["sku"] = None
        web += [product, attachment]
    rng.shuffle(web)
    empty = dict(virtual=0, downloadable=0, rating_count=0)
    for _ in range(40):  # empty rows, scattered
        web.insert(rng.randint(0, len(web)), dict(empty))
    erp += [list(erp[10]), list(erp[250])]  # exact duplicates
    web.insert(rng.randint(0, len(web)), dict(next(r for r in web if r.get("post_type") == "product")))
    rng.shuffle(liaison)
    return erp, liaison, [[row.get(c) for c in WEB_COLUMNS] for row in web]


def write(path: Path, columns: list[str], rows: list[list]) -> None:
    workbook = Workbook()
    sheet = workbook.worksheets[0]  # a new workbook holds one worksheet, the active one
    sheet.title = "Sheet1"
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    stamp = datetime(2026, 1, 1)
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "sample")
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    erp, liaison, web = build(args.products, args.seed)
    write(args.out / "erp.xlsx", ERP_COLUMNS, erp)
    write(args.out / "liaison.xlsx", LIAISON_COLUMNS, liaison)
    write(args.out / "web.xlsx", WEB_COLUMNS, web)
    print(f"wrote {args.out}: erp {len(erp)} rows, web {len(web)} rows, liaison {len(liaison)} rows")


if __name__ == "__main__":
    main()
