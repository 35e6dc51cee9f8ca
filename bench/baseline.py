"""The analyst's method written the usual way: pandas.read_excel (openpyxl engine), pandas
merges, an openpyxl writer. Two uses: the benchmark's baseline, and an independent reference the
tests compare the pipeline's figures with (it shares no code with the pipeline).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd


def _key(value) -> str | None:
    """Keys as text, integers without a trailing '.0' (the link table mixes ints and text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def compute(
    input_dir: Path,
    z_threshold: float = 2.0,
    engine: Literal["openpyxl", "calamine"] = "openpyxl",
    timings: dict | None = None,
) -> dict:
    """Figures and tables of the method, from the three workbooks in ``input_dir``."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    erp = pd.read_excel(input_dir / "erp.xlsx", engine=engine, dtype=object)
    web = pd.read_excel(input_dir / "web.xlsx", engine=engine, dtype=object)
    links = pd.read_excel(input_dir / "liaison.xlsx", engine=engine, dtype=object)
    timings["ingest"] = time.perf_counter() - started

    started = time.perf_counter()
    erp["product_id"] = erp["product_id"].map(_key)
    links["product_id"] = links["product_id"].map(_key)
    links["sku"] = links["id_web"].map(_key)
    web["sku"] = web["sku"].map(_key)
    erp = erp.dropna(subset=["product_id", "price"]).drop_duplicates()
    web = web[web["post_type"] == "product"].dropna(subset=["sku", "total_sales"])
    web = web.drop_duplicates(subset=["sku", "total_sales", "post_title"])
    links = links.dropna(subset=["product_id", "sku"]).drop_duplicates(subset=["product_id", "sku"])
    timings["clean"] = time.perf_counter() - started

    started = time.perf_counter()
    merged = erp.merge(links[["product_id", "sku"]], on="product_id").merge(
        web[["sku", "total_sales", "post_title"]], on="sku"
    )
    timings["merge"] = time.perf_counter() - started

    started = time.perf_counter()
    merged["price"] = merged["price"].astype(float)
    merged["total_sales"] = merged["total_sales"].astype(float)
    merged["ca"] = merged["price"] * merged["total_sales"]
    merged = merged.sort_values(["ca", "product_id"], ascending=[False, True])
    ca_total = round(float(merged["ca"].sum()), 2)
    timings["report"] = time.perf_counter() - started

    started = time.perf_counter()
    std = merged["price"].std(ddof=0)
    merged["z"] = (merged["price"] - merged["price"].mean()) / std if std else 0.0
    premium = merged[merged["z"] > z_threshold]
    ordinary = merged[merged["z"] <= z_threshold]
    timings["classify"] = time.perf_counter() - started
    return {
        "products": len(merged),
        "ca_total": ca_total,
        "premium_count": len(premium),
        "ordinary_count": len(ordinary),
        "merged": merged,
        "premium": premium,
        "ordinary": ordinary,
    }


def run_baseline(input_dir: Path, output_dir: Path, z_threshold: float = 2.0) -> dict:
    """The whole method, deliverables included (openpyxl writer, pandas CSV)."""
    timings: dict = {}
    result = compute(input_dir, z_threshold, timings=timings)
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    columns = ["product_id", "sku", "post_title", "price", "total_sales", "ca"]
    with pd.ExcelWriter(output_dir / "rapport_ca.xlsx", engine="openpyxl") as writer:
        result["merged"][columns].to_excel(writer, sheet_name="CA par produit", index=False)
    csv_columns = columns[:4] + ["z"] + columns[4:]
    result["premium"][csv_columns].to_csv(output_dir / "vins_premium.csv", sep=";", index=False)
    result["ordinary"][csv_columns].to_csv(output_dir / "vins_ordinaires.csv", sep=";", index=False)
    timings["write"] = time.perf_counter() - started
    result["timings"] = timings
    return result
