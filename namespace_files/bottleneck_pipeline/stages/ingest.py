"""Stage 1, ingest: read the three workbooks against their contract and type every column.

Only reads, renames and casts: no row is removed here (cleaning is the next stage's job), so
the row counts of the typed tables equal the workbooks' data rows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fastexcel
import pyarrow as pa

from ..checks.model import ERROR, MAX_ROWS, WARN, CheckResult, Finding, Gate, evaluate
from ..storage import query_arrow, query_rows
from ..contracts import INTEGER, KEY, KIND_LABELS_FR, MONEY, TEXT, Column, WorkbookContract

HEADER_ROW = 1  # Excel row of the header; data rows start at HEADER_ROW + 1

# The contract checks, run while reading (they need the raw text). Ids are
# ingest.<table>.<check>, with <column> the pipeline name of a column. Listed by `bottleneck checks`.
CONTRACT_CHECKS = {
    "file_present": (ERROR, "schema", "Le classeur du mois est présent."),
    "file_readable": (ERROR, "schema", "Le fichier est un classeur Excel lisible."),
    "required_columns": (ERROR, "schema", "Toutes les colonnes utilisées par l'analyse sont présentes."),
    "unexpected_columns": (WARN, "schema", "Aucune colonne inconnue : signale un changement de format de l'export."),
    "sheet_not_empty": (ERROR, "volumes", "Le classeur contient au moins une ligne de données."),
    "<column>.type": (ERROR, "schema", "Chaque valeur a le type du contrat (montant à 2 décimales, entier)."),
    "<column>.not_null": (ERROR, "missing_values", "La clé est renseignée sur chaque ligne non vide."),
    "<column>.allowed_values": (WARN, "schema", "La colonne ne prend que des valeurs connues."),
}


@dataclass
class RawSheet:
    """The contract columns of a workbook, as text, with their Excel row numbers."""

    table: pa.Table  # one string column per contract column present, plus source_row
    headers: list[str]
    results: list[CheckResult] = field(default_factory=list)


def _result(contract: WorkbookContract, check: str, finding: Finding, column: str | None = None) -> CheckResult:
    severity, family, description = CONTRACT_CHECKS[check]
    name = check.replace("<column>", column) if column else check
    gate = Gate(f"ingest.{contract.table}.{name}", "ingest", severity, family, description,
                lambda: finding)
    return evaluate(gate, finding)


def _fail(contract: WorkbookContract, check: str, message: str, observed, expected) -> CheckResult:
    return _result(contract, check, Finding(1, observed, expected, message))


def open_sheet(path: Path, contract: WorkbookContract) -> RawSheet:
    """Open the first sheet and check its header against the contract."""
    label = f"{contract.file_name} ({contract.label_fr})"
    if not path.is_file():
        return RawSheet(pa.table({}), [], [_fail(
            contract, "file_present",
            f"Fichier {label} introuvable ({path}). Déposez le classeur du mois sous ce nom.",
            "absent", "présent")])
    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, n_rows=0)
        headers = [c.name for c in sheet.available_columns()]
    except Exception as err:  # the reader's errors carry no stable type: report them all alike
        detail = str(err).splitlines()[0]
        return RawSheet(pa.table({}), [], [_fail(
            contract, "file_readable",
            f"Fichier {label} illisible : ce n'est pas un classeur .xlsx valide ({detail}). "
            "Réexportez-le depuis l'outil source au format .xlsx.", "illisible", "xlsx lisible")])
    return RawSheet(pa.table({}), headers, check_header(headers, contract))


def check_header(headers: list[str], contract: WorkbookContract) -> list[CheckResult]:
    label = f"{contract.file_name} ({contract.label_fr})"
    present = {h.strip().lower() for h in headers}
    missing = [c.source for c in contract.columns if c.source.lower() not in present]
    expected = set(contract.source_columns) | set(contract.known_unused)
    unexpected = [h for h in headers if h.strip().lower() not in {e.lower() for e in expected}]
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, unexpected, n=1, cutoff=0.5)
        hints.append(f"'{name}'" + (f" (renommée en '{close[0]}' ?)" if close else ""))
    missing_finding = Finding(
        len(missing), sorted(missing) or "aucune", "aucune",
        f"{label} : colonne(s) obligatoire(s) absente(s) : {', '.join(hints)}. "
        f"Colonnes trouvées : {', '.join(headers) or 'aucune (feuille vide)'}. "
        "Rétablissez l'en-tête attendu sur la première ligne de la première feuille.",
        [{"colonne_absente": m} for m in missing])
    unexpected_finding = Finding(
        len(unexpected), unexpected, "aucune",
        f"{label} : colonne(s) inattendue(s) ignorée(s) : {', '.join(unexpected)}. "
        "Vérifiez que l'export n'a pas changé de format.",
        [{"colonne_inattendue": u} for u in unexpected])
    return [
        _result(contract, "required_columns", missing_finding),
        _result(contract, "unexpected_columns", unexpected_finding),
    ]


def read_raw(path: Path, contract: WorkbookContract) -> RawSheet:
    """Read the contract columns as text (exact ids, no float conversion) with row numbers."""
    # One parse of the workbook: the reader materialises the whole sheet whatever it is asked
    # for (even the header alone), so the header check and the data share a single load
    # (docs/PERFORMANCE.md: at 1M web rows, ingest 27 s -> 15 s, peak 2.5 GB -> 2.1 GB).
    # Loaded eagerly (straight to Arrow: ~9 % faster than lazily at 1M rows); the reader asks
    # the column filter about every column of the header, which is how the header is known.
    sources = {c.source.lower() for c in contract.columns}
    seen: dict[int, str] = {}

    def use(column) -> bool:
        seen[column.index] = column.name
        return column.name.strip().lower() in sources

    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, use_columns=use, dtypes="string",
                                                           eager=True)
        headers = [seen[i] for i in sorted(seen)]
    except Exception:  # missing or unreadable file: open_sheet says which, in the contract's words
        raw = open_sheet(path, contract)
        if any(r.blocking for r in raw.results):
            return raw
        raise
    raw = RawSheet(pa.table({}), headers, check_header(headers, contract))
    if any(r.blocking for r in raw.results):
        return raw
    by_lower = {h.strip().lower(): h for h in raw.headers}
    wanted = [by_lower[c.source.lower()] for c in contract.columns]
    table = pa.Table.from_batches([sheet]) if isinstance(sheet, pa.RecordBatch) else sheet.to_arrow()
    table = table.select(wanted).rename_columns([c.source for c in contract.columns])
    rows = pa.array(range(HEADER_ROW + 1, HEADER_ROW + 1 + table.num_rows), pa.int64())
    raw.table = table.append_column("source_row", rows)
    raw.results.append(_result(
        contract, "sheet_not_empty", Finding(int(table.num_rows == 0), table.num_rows, "> 0",
                f"{contract.file_name} ({contract.label_fr}) ne contient aucune ligne de données. "
                "Vérifiez l'export du mois.")))
    return raw


# --- typing ------------------------------------------------------------------------------------

def _text(column: Column) -> str:
    return f"nullif(trim(\"{column.source}\"), '')"


def _number(column: Column) -> str:
    return f"try_cast({_text(column)} as double)"


def typed_sql(column: Column) -> str:
    """The typed value of a column, from its text."""
    if column.kind in (KEY, TEXT):
        return _text(column)
    if column.kind == MONEY:
        return f"cast(round({_number(column)}, 2) as decimal(18, 2))"
    if column.kind == INTEGER:
        return f"cast({_number(column)} as bigint)"
    raise ValueError(column.kind)


def invalid_sql(column: Column) -> str | None:
    """Rows whose text does not fit the column's kind (never rounded or dropped silently)."""
    number = _number(column)
    not_a_number = f"{_text(column)} is not null and ({number} is null or not isfinite({number}))"
    if column.kind == MONEY:
        return (f"{not_a_number} or abs({number}) >= 1e15 "
                f"or abs({number} * 100 - round({number} * 100)) > 1e-6")
    if column.kind == INTEGER:
        return f"{not_a_number} or abs({number}) >= 1e15 or {number} <> floor({number})"
    return None


def _blank_sql(contract: WorkbookContract) -> str:
    return " and ".join(f"{_text(c)} is null" for c in contract.columns)


def _sample(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, list[dict]]:
    count = con.execute(f"select count(*) from ({sql})").fetchone()[0]
    return count, query_rows(con, f"select * from ({sql}) order by ligne", limit=MAX_ROWS)


def contract_results(con: duckdb.DuckDBPyConnection, contract: WorkbookContract) -> list[CheckResult]:
    """Type, null and allowed-value checks of the raw text table registered as ``raw``."""
    label = f"{contract.file_name} ({contract.label_fr})"
    results = []
    for column in contract.columns:
        invalid = invalid_sql(column)
        if invalid:
            count, rows = _sample(con, f"select source_row as ligne, \"{column.source}\" as valeur "
                                       f"from raw where {invalid}")
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(_result(
                contract, "<column>.type", column=column.name, finding=Finding(count, f"{count} valeur(s) invalide(s)", KIND_LABELS_FR[column.kind],
                        f"{label}, colonne '{column.source}' : {count} valeur(s) qui ne sont pas "
                        f"{KIND_LABELS_FR[column.kind]} (lignes {lines}"
                        f"{'…' if count > len(rows) else ''} ; ex. '{rows[0]['valeur'] if rows else ''}'). "
                        "Corrigez ces cellules dans le classeur puis relancez.", rows)))
        if not column.nullable:
            count, rows = _sample(con, f"select source_row as ligne from raw where "
                                       f"{_text(column)} is null and not ({_blank_sql(contract)})")
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(_result(
                contract, "<column>.not_null", column=column.name, finding=Finding(count, f"{count} ligne(s) sans {column.source}", "0",
                        f"{label}, colonne '{column.source}' vide sur {count} ligne(s) "
                        f"(lignes {lines}{'…' if count > len(rows) else ''}). Chaque ligne doit avoir "
                        "un identifiant : complétez-le ou supprimez la ligne.", rows)))
        if column.allowed:
            allowed = ", ".join(f"'{v}'" for v in column.allowed)
            count, rows = _sample(con, f"select source_row as ligne, {_text(column)} as valeur from raw "
                                       f"where {_text(column)} is not null and {_text(column)} not in ({allowed})")
            values = sorted({str(r["valeur"]) for r in rows})
            results.append(_result(
                contract, "<column>.allowed_values", column=column.name, finding=Finding(count, values, list(column.allowed),
                        f"{label}, colonne '{column.source}' : valeur(s) inconnue(s) "
                        f"{', '.join(values)} sur {count} ligne(s). Valeurs attendues : {allowed}.",
                        rows)))
    return results


def type_table(con: duckdb.DuckDBPyConnection, contract: WorkbookContract) -> pa.Table:
    """Typed, renamed columns of the raw table registered as ``raw``."""
    columns = ", ".join(f"{typed_sql(c)} as {c.name}" for c in contract.columns)
    return query_arrow(con, f"select {columns}, source_row from raw order by source_row")


def ingest_workbook(con: duckdb.DuckDBPyConnection, path: Path,
                    contract: WorkbookContract) -> tuple[pa.Table | None, list[CheckResult]]:
    """Read, check and type one workbook. Returns no table when a blocking check failed."""
    raw = read_raw(path, contract)
    if any(r.blocking for r in raw.results):
        return None, raw.results
    con.register("raw", raw.table)
    try:
        results = raw.results + contract_results(con, contract)
        if any(r.blocking for r in results):
            return None, results
        return type_table(con, contract), results
    finally:
        con.unregister("raw")
