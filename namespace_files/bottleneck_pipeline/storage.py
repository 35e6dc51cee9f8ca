"""File plumbing shared by every stage: Parquet with provenance, JSON, hashes, SQL files, DuckDB.

pipeline.py (each stage at file level) reads and writes the files; the stages and the gates only
use the SQL files and the DuckDB helpers. Which errors are infrastructure is failures.py's call.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .contracts import key_sql
from .failures import InfrastructureFailure

SQL_DIR = Path(__file__).parent / "sql"
PROVENANCE_KEY = b"bottleneck.provenance"


def sql_text(name: str) -> str:
    """The SQL file ``sql/<name>.sql`` (one file per table produced, grouped by stage)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


# Where DuckDB keeps its working tables. In memory by default: private to the process, so no
# lock to contend for. `--database FILE` puts them on disk (volumes beyond memory); a file is
# single-writer, so two runs must never share one (a lock held elsewhere is an infrastructure
# failure, retried).
DATABASE = {"path": ":memory:"}


def use_database(path: str | None) -> None:
    DATABASE["path"] = path or ":memory:"


def connect() -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(DATABASE["path"])
        con.execute("set threads to 2")  # the workers have 2 cores; more threads only contend
        create_key_macros(con)
        return con
    except duckdb.Error as err:
        raise InfrastructureFailure(
            f"DuckDB ne peut pas ouvrir sa base {DATABASE['path']} : {str(err).splitlines()[0]}",
            hint="Une autre exécution tient peut-être la base : attendez qu'elle finisse ou "
            "utilisez une base par exécution ; l'erreur est réessayée automatiquement.",
        ) from err


def create_key_macros(con: duckdb.DuckDBPyConnection) -> None:
    """``normalise_key(x)``: contracts.normalise_key in SQL (contracts.key_sql), so that every
    stage and gate compares keys one way. ``loose_key(x)``: a normalised key without case or
    leading zeros, only to *report* keys that nearly match (the joins never use it)."""
    con.execute(f"create or replace temp macro normalise_key(x) as {key_sql('x')}")
    con.execute(r"create or replace temp macro loose_key(x) as lower(regexp_replace(x, '^0+(.)', '\1'))")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_parquet(table: pa.Table, path: Path, provenance: dict) -> None:
    """Write a typed table; the provenance (source files, hashes) travels inside the file so a
    subflow called alone still knows where its data came from."""
    metadata = dict(table.schema.metadata or {})
    metadata[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")
    os.replace(tmp, path)


def read_parquet(path: Path) -> tuple[pa.Table, dict]:
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(PROVENANCE_KEY, b"{}")
    return table.replace_schema_metadata(None), json.loads(raw)


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run a query and return an Arrow table (no row-by-row Python conversion)."""
    return con.sql(sql).to_arrow_table()


def aggregate_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The one row of an aggregate query without ``group by`` (one row even over no input row)."""
    row = con.execute(sql).fetchone()
    assert row is not None, "an aggregate without group by returns exactly one row"
    return row


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, limit: int | None = None) -> list[dict]:
    cursor = con.execute(sql if limit is None else f"select * from ({sql}) limit {limit}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
