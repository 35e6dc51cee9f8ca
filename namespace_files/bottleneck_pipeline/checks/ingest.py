"""Gates after ingest, on the typed tables ``erp``, ``web``, ``liaison``.

The contract checks (missing file, unreadable file, missing columns, values of the wrong type,
empty keys, empty sheet) run while reading, in stages/ingest.py, since they need the workbook's raw
text. These re-check what every later stage relies on, on the Parquet files that travel to the
next stage (what a Kestra test subflow sees): their schema, their row count against the workbook's
(which also stops an empty file), and the keys.
"""

from __future__ import annotations

import pyarrow as pa

from ..contracts import CONTRACTS, INTEGER, KEY, MONEY, TEXT
from . import CheckContext, quote
from .model import ERROR, Finding, gate

ARROW_KIND = {
    KEY: pa.string(),
    TEXT: pa.string(),
    MONEY: pa.decimal128(18, 2),
    INTEGER: pa.int64(),
}


def _typed_columns(ctx: CheckContext, table: str) -> Finding:
    contract = CONTRACTS[table]
    schema = dict(ctx.con.execute(f"select column_name, column_type from (describe {table})").fetchall())
    expected = {c.name: str(ARROW_KIND[c.kind]) for c in contract.columns}
    duck = {"string": "VARCHAR", "decimal128(18, 2)": "DECIMAL(18,2)", "int64": "BIGINT"}
    wrong = [
        {"colonne": name, "type": schema.get(name, "absente"), "attendu": duck[kind]}
        for name, kind in expected.items()
        if schema.get(name) != duck[kind]
    ]
    return Finding(
        len(wrong),
        wrong or "conforme",
        "colonnes typées selon le contrat",
        f"{contract.file_name} : colonnes mal typées après lecture : "
        f"{', '.join(w['colonne'] for w in wrong)}. Relancez l'étape ingest.",
        wrong,
    )


def _rows_match_source(ctx: CheckContext, table: str) -> Finding:
    rows = ctx.count(f"select * from {table}")
    expected = ctx.manifest.get("sources", {}).get(table, {}).get("rows")
    return Finding(
        int(expected is None or rows != expected),
        rows,
        expected,
        f"{CONTRACTS[table].file_name} : {rows} lignes typées pour {expected} lignes lues. "
        "Des lignes ont été perdues à la lecture : relancez l'étape ingest.",
    )


def _key_not_null(ctx: CheckContext, table: str) -> Finding:
    contract = CONTRACTS[table]
    blank = " and ".join(f"{c.name} is null" for c in contract.columns)
    return ctx.offending(
        f"select source_row as ligne from {table} where product_id is null and not ({blank})",
        lambda n, rows: (
            f"{contract.file_name} : product_id vide sur {n} ligne(s) "
            f"(lignes {quote(rows, 'ligne', n)}). Complétez l'identifiant."
        ),
    )


for _table in ("erp", "web", "liaison"):
    _label = CONTRACTS[_table].file_name
    gate("ingest", f"{_table}.typed_columns", ERROR, "schema", f"Les colonnes de {_label} ont le type du contrat.")(
        lambda ctx, t=_table: _typed_columns(ctx, t)
    )
    gate("ingest", f"{_table}.rows_match_source", ERROR, "volumes", f"Toutes les lignes de {_label} ont été lues.")(
        lambda ctx, t=_table: _rows_match_source(ctx, t)
    )

for _table in ("erp", "liaison"):
    gate(
        "ingest",
        f"{_table}.product_id_present",
        ERROR,
        "missing_values",
        f"Chaque ligne de {CONTRACTS[_table].file_name} a un product_id, relu sur le fichier Parquet "
        f"transmis à l'étape clean (ingest.{_table}.product_id.not_null le vérifie sur le classeur).",
    )(lambda ctx, t=_table: _key_not_null(ctx, t))
