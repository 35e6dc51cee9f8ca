"""Stage 1, ingest: read the three workbooks against their contract and type every column.

Only reads, renames and casts: no row is removed here (cleaning is the next stage's job), so
the row counts of the typed tables equal the workbooks' data rows. Before the reader runs,
xlsx_scan says which sheet to read, where its header is (so row numbers are Excel's) and which
contract cells the reader would read empty although Excel shows a value: those reject the file.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fastexcel
import pyarrow as pa

from .. import xlsx_scan
from ..checks.model import ERROR, MAX_ROWS, WARN, CheckResult, Finding, Gate, evaluate
from ..storage import query_arrow, query_rows
from ..contracts import (
    INTEGER,
    KEY,
    KIND_LABELS_FR,
    LIMITS,
    LIMITS_FR,
    MONEY,
    TEXT,
    Column,
    WorkbookContract,
    header_key,
    key_sql,
    strip_sql,
)

# The contract checks, run while reading (they need the raw text). Ids are
# ingest.<table>.<check>, with <column> the pipeline name of a column. Listed by `bottleneck checks`.
CONTRACT_CHECKS = {
    "file_present": (ERROR, "schema", "Le classeur du mois est présent (nom comparé sans tenir compte de la casse)."),
    "file_readable": (ERROR, "schema", "Le fichier est un classeur Excel lisible."),
    "sheet_read": (
        WARN,
        "schema",
        "La feuille lue est la première feuille visible : signalé quand le classeur en a plusieurs.",
    ),
    "required_columns": (ERROR, "schema", "Toutes les colonnes utilisées par l'analyse sont présentes."),
    "unique_headers": (
        ERROR,
        "schema",
        "Chaque colonne du contrat n'apparaît qu'une fois dans l'en-tête (casse et espaces ignorés).",
    ),
    "unexpected_columns": (WARN, "schema", "Aucune colonne inconnue : signale un changement de format de l'export."),
    "uncomputed_formulas": (
        ERROR,
        "missing_values",
        "Aucune formule enregistrée sans sa valeur calculée dans les colonnes du contrat (elle serait lue vide).",
    ),
    "error_cells": (
        ERROR,
        "missing_values",
        "Aucune cellule en erreur (#N/A, #REF!, #DIV/0!...) dans les colonnes du contrat (elle serait lue vide).",
    ),
    "merged_cells": (
        ERROR,
        "missing_values",
        "Aucune cellule fusionnée dans les colonnes du contrat (seule la première cellule d'une fusion a une valeur).",
    ),
    "sheet_not_empty": (ERROR, "volumes", "Le classeur contient au moins une ligne de données."),
    "<column>.type": (ERROR, "schema", "Chaque valeur a le type du contrat (montant à 2 décimales, entier)."),
    "<column>.range": (
        ERROR,
        "schema",
        "Chaque nombre reste sous 100 000 000 en valeur absolue (au-delà : erreur de saisie, et le CA ne tiendrait plus dans son type).",
    ),
    "<column>.not_null": (
        ERROR,
        "missing_values",
        "La clé est renseignée sur chaque ligne non vide ('N/A', '-', 'null'... comptent comme vides).",
    ),
    "<column>.allowed_values": (WARN, "schema", "La colonne ne prend que des valeurs connues."),
}


@dataclass
class RawSheet:
    """The contract columns of a workbook, as text, with their Excel row numbers."""

    table: pa.Table  # one string column per contract column present, plus source_row
    headers: list[str]
    results: list[CheckResult] = field(default_factory=list)
    sheet: str = ""  # the sheet read
    letters: dict[str, str] = field(default_factory=dict)  # contract header -> column letter

    def where(self, contract: WorkbookContract) -> str:
        return f"{contract.file_name} ({contract.label_fr}), feuille '{self.sheet}'"

    def column(self, column: Column) -> str:
        return f"colonne '{column.source}' ({self.letters.get(column.source, '?')})"


def _result(contract: WorkbookContract, check: str, finding: Finding, column: str | None = None) -> CheckResult:
    severity, family, description = CONTRACT_CHECKS[check]
    name = check.replace("<column>", column) if column else check
    gate = Gate(f"ingest.{contract.table}.{name}", "ingest", severity, family, description, lambda: finding)
    return evaluate(gate, finding)


def _fail(contract: WorkbookContract, check: str, message: str, observed, expected) -> CheckResult:
    return _result(contract, check, Finding(1, observed, expected, message))


def _listed(items: list[str], count: int) -> str:
    return ", ".join(items[:MAX_ROWS]) + ("…" if count > MAX_ROWS else "")


def candidates(path: Path) -> list[Path]:
    """The files of the folder named like ``path`` whatever the case ('ERP.xlsx' for erp.xlsx):
    a drop folder on Windows or a Mac does not tell them apart, so neither do we."""
    folder = Path(path).parent
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.lower() == Path(path).name.lower() and p.is_file())


def resolve(path: Path) -> Path:
    """The workbook to read for ``path``: itself, or its only namesake in another case."""
    found = candidates(path)
    return found[0] if len(found) == 1 else Path(path)


def check_header(
    headers: list[str],
    contract: WorkbookContract,
    letters: list[str] | None = None,
    sheet: str = "",
    header_row: int | None = None,
) -> list[CheckResult]:
    label = f"{contract.file_name} ({contract.label_fr})"
    letters = letters or [""] * len(headers)
    present = {header_key(h) for h in headers}
    missing = [c.source for c in contract.columns if header_key(c.source) not in present]
    expected = {header_key(e) for e in (*contract.source_columns, *contract.known_unused)}
    unexpected = [h for h in headers if header_key(h) not in expected]
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, unexpected, n=1, cutoff=0.5)
        hints.append(f"'{name}'" + (f" (renommée en '{close[0]}' ?)" if close else ""))
    where = f"la ligne {header_row} de la feuille '{sheet}'" if header_row else f"la feuille '{sheet}'"
    missing_finding = Finding(
        len(missing),
        sorted(missing) or "aucune",
        "aucune",
        f"{label} : colonne(s) obligatoire(s) absente(s) : {', '.join(hints)}. "
        f"Colonnes trouvées sur {where} : {', '.join(headers) or 'aucune (feuille vide)'}. "
        "Rétablissez l'en-tête attendu sur la première feuille visible du classeur.",
        [{"colonne_absente": m} for m in missing],
    )
    # The same contract column twice ('price' and ' PRICE'): which one holds the month's figures
    # is not ours to guess.
    twins = []
    for column in contract.columns:
        found = [(letter, h) for letter, h in zip(letters, headers) if header_key(h) == header_key(column.source)]
        if len(found) > 1:
            twins.append({"colonne": column.source, "en_tete": [f"{letter} '{h}'" for letter, h in found]})
    twins_finding = Finding(
        len(twins),
        [t["colonne"] for t in twins] or "aucune",
        "aucune",
        f"{label}, feuille '{sheet}' : en-tête ambigu, "
        + "; ".join(
            f"la colonne '{t['colonne']}' apparaît {len(t['en_tete'])} fois (colonnes {' et '.join(t['en_tete'])})"
            for t in twins
        )
        + ". Le pipeline ne choisit pas à votre place : supprimez ou renommez la colonne en trop, "
        "puis relancez.",
        twins,
    )
    unexpected_finding = Finding(
        len(unexpected),
        unexpected,
        "aucune",
        f"{label} : colonne(s) inattendue(s) ignorée(s) : {', '.join(unexpected)}. "
        "Vérifiez que l'export n'a pas changé de format.",
        [{"colonne_inattendue": u} for u in unexpected],
    )
    return [
        _result(contract, "required_columns", missing_finding),
        _result(contract, "unique_headers", twins_finding),
        _result(contract, "unexpected_columns", unexpected_finding),
    ]


def _sheet_read(scan: xlsx_scan.SheetScan, contract: WorkbookContract) -> CheckResult:
    others = [f"'{s.name}'" + (" (masquée)" if s.hidden else "") for s in scan.sheets if s != scan.sheet]
    return _result(
        contract,
        "sheet_read",
        Finding(
            len(others),
            scan.sheet.name,
            "une seule feuille",
            f"{contract.file_name} ({contract.label_fr}) : le classeur a {len(scan.sheets)} feuilles ; "
            f"seule la feuille '{scan.sheet.name}' (la première feuille visible) est lue, "
            f"les autres sont ignorées : {', '.join(others)}. "
            "Vérifiez que les données du mois sont sur cette feuille.",
            [{"feuille_ignoree": o} for o in others],
        ),
    )


def _cell_results(scan: xlsx_scan.SheetScan, raw: RawSheet, contract: WorkbookContract) -> list[CheckResult]:
    """Cells of the contract columns that Excel shows with a value and the reader reads empty."""
    by_letter = {letter: source for source, letter in raw.letters.items()}
    where = raw.where(contract)

    def rows(cells):
        return [
            {"cellule": c.ref, "colonne": by_letter[c.column], "valeur": c.value}
            for c in cells
            if c.column in by_letter and c.row > scan.header_row
        ]

    uncomputed, errors = rows(scan.uncomputed), rows(scan.errors)
    merges = []
    for rng in scan.merges:
        # every cell of a merge but its first (top left) is read empty: which columns hold one
        c1, r1, c2, r2 = xlsx_scan.merge_bounds(rng)
        hidden = [
            source
            for letter, source in by_letter.items()
            if c1 <= (n := xlsx_scan.column_number(letter)) <= c2 and (n != c1 or r2 > r1)
        ]
        if hidden and r2 > scan.header_row:
            merges.append({"plage": rng, "colonnes": hidden})
    return [
        _result(
            contract,
            "uncomputed_formulas",
            Finding(
                len(uncomputed),
                [r["cellule"] for r in uncomputed[:MAX_ROWS]] or "aucune",
                "aucune",
                f"{where} : {len(uncomputed)} formule(s) enregistrée(s) sans leur valeur calculée, donc "
                "lues vides : "
                + _listed(
                    [f"{r['cellule']} (colonne '{r['colonne']}', {r['valeur']})" for r in uncomputed], len(uncomputed)
                )
                + ". Ouvrez le fichier dans Excel, recalculez (F9) et enregistrez-le, puis relancez.",
                uncomputed,
            ),
        ),
        _result(
            contract,
            "error_cells",
            Finding(
                len(errors),
                sorted({r["valeur"] for r in errors}) or "aucune",
                "aucune",
                f"{where} : {len(errors)} cellule(s) en erreur, qui n'ont pas de valeur et seraient lues "
                "vides : "
                + _listed([f"{r['cellule']} = {r['valeur']} (colonne '{r['colonne']}')" for r in errors], len(errors))
                + ". Corrigez la formule ou la valeur de ces cellules dans Excel, enregistrez, puis relancez.",
                errors,
            ),
        ),
        _result(
            contract,
            "merged_cells",
            Finding(
                len(merges),
                [m["plage"] for m in merges[:MAX_ROWS]] or "aucune",
                "aucune",
                f"{where} : cellules fusionnées dans les colonnes du contrat : "
                + _listed(
                    [f"{m['plage']} (colonne {', '.join(repr(c) for c in m['colonnes'])})" for m in merges], len(merges)
                )
                + ". Seule la première cellule d'une fusion a une valeur, les autres seraient lues vides : "
                "supprimez la fusion de cellules, recopiez la valeur sur chaque ligne, puis relancez.",
                merges,
            ),
        ),
    ]


def read_raw(path: Path, contract: WorkbookContract) -> RawSheet:
    """Read the contract columns as text (exact ids, no float conversion) with row numbers."""
    label = f"{contract.file_name} ({contract.label_fr})"
    found = candidates(path)
    if len(found) != 1:
        several = f" : plusieurs fichiers portent ce nom ({', '.join(p.name for p in found)})" if found else ""
        return RawSheet(
            pa.table({}),
            [],
            [
                _fail(
                    contract,
                    "file_present",
                    f"Fichier {label} introuvable ({path}){several}. Déposez un seul classeur du mois sous ce nom.",
                    [p.name for p in found] or "absent",
                    "présent",
                )
            ],
        )
    path = found[0]
    keys = {header_key(c.source) for c in contract.columns}
    try:
        # One streaming pass over the sheet's XML: which sheet, the header row, and the cells the
        # reader would read empty although Excel shows a value (xlsx_scan.py).
        scan = xlsx_scan.scan(path, lambda text: header_key(text) in keys)
    except OSError:
        raise  # the file system, not the file: infrastructure
    except Exception as err:  # a broken zip or XML raises many types: report them all alike
        return _unreadable(contract, err)
    letters = [letter for letter, _ in scan.headers]
    headers = [text for _, text in scan.headers]
    raw = RawSheet(
        pa.table({}),
        headers,
        [_sheet_read(scan, contract)],
        scan.sheet.name,
        {
            c.source: letter
            for c in contract.columns
            for letter, h in scan.headers
            if header_key(h) == header_key(c.source)
        },
    )
    raw.results += check_header(headers, contract, letters, scan.sheet.name, scan.header_row)
    if any(r.blocking for r in raw.results):
        return raw
    raw.results += _cell_results(scan, raw, contract)
    if any(r.blocking for r in raw.results):
        return raw
    # The reader is told where the header is: rows above it (blank, a title) are skipped and the
    # data row i is Excel row header_row + 1 + i, whatever stands above. Eager: straight to Arrow.
    names = {header_key(h): h for h in headers}
    wanted = [names[header_key(c.source)] for c in contract.columns]
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(
            scan.sheet.name,
            header_row=scan.header_row - 1,
            use_columns=lambda col: col.name in wanted,
            dtypes="string",
            eager=True,
        )
    except Exception as err:  # the reader's errors carry no stable type
        raw.results.append(_unreadable(contract, err).results[0])
        return raw
    table = pa.Table.from_batches([sheet]) if isinstance(sheet, pa.RecordBatch) else sheet.to_arrow()
    table = table.select(wanted).rename_columns([c.source for c in contract.columns])
    first = scan.header_row + 1
    raw.table = table.append_column("source_row", pa.array(range(first, first + table.num_rows), pa.int64()))
    raw.results.append(
        _result(
            contract,
            "sheet_not_empty",
            Finding(
                int(table.num_rows == 0),
                table.num_rows,
                "> 0",
                f"{raw.where(contract)} ne contient aucune ligne de données sous l'en-tête "
                f"(ligne {scan.header_row}). Vérifiez l'export du mois.",
            ),
        )
    )
    return raw


def _unreadable(contract: WorkbookContract, err: Exception) -> RawSheet:
    detail = (str(err).splitlines() or [type(err).__name__])[0]
    return RawSheet(
        pa.table({}),
        [],
        [
            _fail(
                contract,
                "file_readable",
                f"Fichier {contract.file_name} ({contract.label_fr}) illisible : ce n'est pas un classeur "
                f".xlsx valide ({detail}). Réexportez-le depuis l'outil source au format .xlsx.",
                "illisible",
                "xlsx lisible",
            )
        ],
    )


# --- typing ------------------------------------------------------------------------------------


def _clean_sql(column: Column) -> str:
    """The cell's text, stripped of invisible characters; empty -> null, and for a key, a
    placeholder ('N/A', '-', 'null'...) too (contracts.normalise_key)."""
    source = f'"{column.source}"'
    return key_sql(source) if column.kind == KEY else f"nullif({strip_sql(source)}, '')"


def _text(column: Column) -> str:
    """The cleaned text, computed once per cell when the raw table is registered (ingest_workbook)."""
    return f"text_{column.name}"


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


def out_of_range_sql(column: Column) -> str | None:
    """Rows holding a number too large for the contract (contracts.LIMITS)."""
    if column.kind not in LIMITS:
        return None
    number = _number(column)
    return f"isfinite({number}) and abs({number}) >= {LIMITS[column.kind]}"


def invalid_sql(column: Column) -> str | None:
    """Rows whose text does not fit the column's kind (never rounded or dropped silently). Numbers
    out of range are out_of_range_sql's: their decimals mean nothing in a double."""
    if column.kind not in LIMITS:
        return None
    number = _number(column)
    not_a_number = f"{_text(column)} is not null and ({number} is null or not isfinite({number}))"
    in_range = f"abs({number}) < {LIMITS[column.kind]}"
    if column.kind == MONEY:
        # 1e-4 of a cent: above a double's error below 1e8 EUR, far below any third decimal
        return f"{not_a_number} or ({in_range} and abs({number} * 100 - round({number} * 100)) > 1e-4)"
    return f"{not_a_number} or ({in_range} and {number} <> floor({number}))"


def _blank_sql(contract: WorkbookContract) -> str:
    return " and ".join(f"{_text(c)} is null" for c in contract.columns)


def _sample(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, list[dict]]:
    count = con.execute(f"select count(*) from ({sql})").fetchone()[0]
    return count, query_rows(con, f"select * from ({sql}) order by ligne", limit=MAX_ROWS)


def contract_results(con: duckdb.DuckDBPyConnection, contract: WorkbookContract, raw: RawSheet) -> list[CheckResult]:
    """Type, range, null and allowed-value checks of the raw text table registered as ``raw``."""
    where = raw.where(contract)
    results = []
    for column in contract.columns:
        name, letter = raw.column(column), raw.letters.get(column.source, "?")
        invalid = invalid_sql(column)
        if invalid:
            count, rows = _sample(
                con, f'select source_row as ligne, "{column.source}" as valeur from raw where {invalid}'
            )
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(
                _result(
                    contract,
                    "<column>.type",
                    column=column.name,
                    finding=Finding(
                        count,
                        f"{count} valeur(s) invalide(s)",
                        KIND_LABELS_FR[column.kind],
                        f"{where}, {name} : {count} valeur(s) qui ne sont pas "
                        f"{KIND_LABELS_FR[column.kind]} (lignes {lines}"
                        f"{'…' if count > len(rows) else ''} ; ex. '{rows[0]['valeur'] if rows else ''}'). "
                        "Corrigez ces cellules dans le classeur puis relancez.",
                        rows,
                    ),
                )
            )
            count, rows = _sample(
                con,
                f"select source_row as ligne, '{letter}' || source_row as cellule, "
                f'"{column.source}" as valeur from raw where {out_of_range_sql(column)}',
            )
            results.append(
                _result(
                    contract,
                    "<column>.range",
                    column=column.name,
                    finding=Finding(
                        count,
                        [r["valeur"] for r in rows] or "aucune",
                        LIMITS_FR[column.kind],
                        f"{where}, {name} : {count} nombre(s) hors limites (attendu : {LIMITS_FR[column.kind]}) : "
                        + _listed([f"cellule {r['cellule']} = {r['valeur']}" for r in rows], count)
                        + ". Une valeur aussi grande est une erreur de saisie (et le CA ne tiendrait plus "
                        "dans son type) : corrigez la cellule puis relancez.",
                        rows,
                    ),
                )
            )
        if not column.nullable:
            count, rows = _sample(
                con,
                f'select source_row as ligne, "{column.source}" as valeur from raw '
                f"where {_text(column)} is null and not ({_blank_sql(contract)})",
            )
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(
                _result(
                    contract,
                    "<column>.not_null",
                    column=column.name,
                    finding=Finding(
                        count,
                        f"{count} ligne(s) sans {column.source}",
                        "0",
                        f"{where}, {name} vide sur {count} ligne(s) "
                        f"(lignes {lines}{'…' if count > len(rows) else ''} ; 'N/A', '-', 'null' et "
                        "les espaces seuls comptent comme vides). Chaque ligne doit avoir "
                        "un identifiant : complétez-le ou supprimez la ligne.",
                        rows,
                    ),
                )
            )
        if column.allowed:
            allowed = ", ".join(f"'{v}'" for v in column.allowed)
            count, rows = _sample(
                con,
                f"select source_row as ligne, {_text(column)} as valeur from raw "
                f"where {_text(column)} is not null and {_text(column)} not in ({allowed})",
            )
            values = sorted({str(r["valeur"]) for r in rows})
            results.append(
                _result(
                    contract,
                    "<column>.allowed_values",
                    column=column.name,
                    finding=Finding(
                        count,
                        values,
                        list(column.allowed),
                        f"{where}, {name} : valeur(s) inconnue(s) "
                        f"{', '.join(values)} sur {count} ligne(s). Valeurs attendues : {allowed}.",
                        rows,
                    ),
                )
            )
    return results


def type_table(con: duckdb.DuckDBPyConnection, contract: WorkbookContract) -> pa.Table:
    """Typed, renamed columns of the raw table registered as ``raw``."""
    columns = ", ".join(f"{typed_sql(c)} as {c.name}" for c in contract.columns)
    return query_arrow(con, f"select {columns}, source_row from raw order by source_row")


def ingest_workbook(
    con: duckdb.DuckDBPyConnection, path: Path, contract: WorkbookContract
) -> tuple[pa.Table | None, list[CheckResult]]:
    """Read, check and type one workbook. Returns no table when a blocking check failed."""
    raw = read_raw(path, contract)
    if any(r.blocking for r in raw.results):
        return None, raw.results
    con.register("raw_cells", raw.table)
    cleaned = ", ".join(f"{_clean_sql(c)} as {_text(c)}" for c in contract.columns)
    con.execute(f"create or replace temp table raw as select *, {cleaned} from raw_cells")
    try:
        results = raw.results + contract_results(con, contract, raw)
        if any(r.blocking for r in results):
            return None, results
        return type_table(con, contract), results
    finally:
        con.execute("drop table if exists raw")
        con.unregister("raw_cells")
