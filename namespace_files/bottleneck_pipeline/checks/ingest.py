"""Gates of ingest, in two parts.

The contract checks (``CONTRACT_CHECKS``, defined by contracts.py): the file is there and
readable, its header holds the contract's columns once each, no cell the reader would read empty
although Excel shows a value, every value has the contract's type and range, keys are filled. The
ingest stage runs them while it reads each workbook (stages/ingest.py), since they need the raw
text and the sheet's XML; a blocking one stops the stage before it writes anything.

The gates on the Parquet files the stage wrote (what a Kestra test subflow sees), which every
later stage relies on: their schema, their row count against the workbook's (which also stops an
empty file), and the keys.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import xlsx_scan
from ..contracts import (
    CONTRACTS,
    INTEGER,
    KEY,
    KIND_LABELS_FR,
    LIMITS_FR,
    MONEY,
    TABLES,
    TEXT,
    Column,
    WorkbookContract,
    header_key,
    invalid_sql,
    out_of_range_sql,
    text_column,
)
from ..storage import aggregate_row, query_rows
from .context import CheckContext, quote
from .model import ERROR, MAX_ROWS, WARN, CheckResult, Finding, Gate, evaluate, gate

# The contract checks, run by the stage while it reads (they need the raw text). Ids are
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


def contract_result(contract: WorkbookContract, check: str, finding: Finding, column: str | None = None) -> CheckResult:
    severity, family, description = CONTRACT_CHECKS[check]
    name = check.replace("<column>", column) if column else check
    check_gate = Gate(f"ingest.{contract.table}.{name}", "ingest", severity, family, description, lambda: finding)
    return evaluate(check_gate, finding)


def _fail(contract: WorkbookContract, check: str, message: str, observed, expected) -> CheckResult:
    return contract_result(contract, check, Finding(1, observed, expected, message))


def _listed(items: list[str], count: int) -> str:
    return ", ".join(items[:MAX_ROWS]) + ("…" if count > MAX_ROWS else "")


def sheet_where(contract: WorkbookContract, sheet: str) -> str:
    return f"{contract.file_name} ({contract.label_fr}), feuille '{sheet}'"


def column_label(column: Column, letters: dict[str, str]) -> str:
    return f"colonne '{column.source}' ({letters.get(column.source, '?')})"


def file_present_result(contract: WorkbookContract, path: Path, found: list[Path]) -> CheckResult:
    """The failed check when ``found`` (the files named like the workbook) is not exactly one."""
    label = f"{contract.file_name} ({contract.label_fr})"
    several = f" : plusieurs fichiers portent ce nom ({', '.join(p.name for p in found)})" if found else ""
    return _fail(
        contract,
        "file_present",
        f"Fichier {label} introuvable ({path}){several}. Déposez un seul classeur du mois sous ce nom.",
        [p.name for p in found] or "absent",
        "présent",
    )


def file_readable_result(contract: WorkbookContract, err: Exception) -> CheckResult:
    detail = (str(err).splitlines() or [type(err).__name__])[0]
    return _fail(
        contract,
        "file_readable",
        f"Fichier {contract.file_name} ({contract.label_fr}) illisible : ce n'est pas un classeur "
        f".xlsx valide ({detail}). Réexportez-le depuis l'outil source au format .xlsx.",
        "illisible",
        "xlsx lisible",
    )


def sheet_not_empty_result(contract: WorkbookContract, sheet: str, rows: int, header_row: int) -> CheckResult:
    return contract_result(
        contract,
        "sheet_not_empty",
        Finding(
            int(rows == 0),
            rows,
            "> 0",
            f"{sheet_where(contract, sheet)} ne contient aucune ligne de données sous l'en-tête "
            f"(ligne {header_row}). Vérifiez l'export du mois.",
        ),
    )


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
        contract_result(contract, "required_columns", missing_finding),
        contract_result(contract, "unique_headers", twins_finding),
        contract_result(contract, "unexpected_columns", unexpected_finding),
    ]


def sheet_read_result(scan: xlsx_scan.SheetScan, contract: WorkbookContract) -> CheckResult:
    others = [f"'{s.name}'" + (" (masquée)" if s.hidden else "") for s in scan.sheets if s != scan.sheet]
    return contract_result(
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


def cell_results(scan: xlsx_scan.SheetScan, contract: WorkbookContract, letters: dict[str, str]) -> list[CheckResult]:
    """Cells of the contract columns that Excel shows with a value and the reader reads empty."""
    by_letter = {letter: source for source, letter in letters.items()}
    where = sheet_where(contract, scan.sheet.name)
    header_row = scan.header_row or 0  # no header row: every row is data

    def rows(cells: list[xlsx_scan.Cell]) -> list[dict]:
        return [
            {"cellule": c.ref, "colonne": by_letter[c.column], "valeur": c.value}
            for c in cells
            if c.column in by_letter and c.row > header_row
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
        if hidden and r2 > header_row:
            merges.append({"plage": rng, "colonnes": hidden})
    return [
        contract_result(
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
        contract_result(
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
        contract_result(
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


def _blank_sql(contract: WorkbookContract) -> str:
    return " and ".join(f"{text_column(c)} is null" for c in contract.columns)


def _sample(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, list[dict]]:
    count = aggregate_row(con, f"select count(*) from ({sql})")[0]
    return count, query_rows(con, f"select * from ({sql}) order by ligne", limit=MAX_ROWS)


def value_results(
    con: duckdb.DuckDBPyConnection, contract: WorkbookContract, sheet: str, letters: dict[str, str]
) -> list[CheckResult]:
    """Type, range, null and allowed-value checks of the cells' text, registered as the table ``raw``
    with each column's cleaned text (contracts.text_column) next to it."""
    where = sheet_where(contract, sheet)
    results = []
    for column in contract.columns:
        name, letter = column_label(column, letters), letters.get(column.source, "?")
        invalid = invalid_sql(column)
        if invalid:
            count, rows = _sample(
                con, f'select source_row as ligne, "{column.source}" as valeur from raw where {invalid}'
            )
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(
                contract_result(
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
                contract_result(
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
                f"where {text_column(column)} is null and not ({_blank_sql(contract)})",
            )
            lines = ", ".join(str(r["ligne"]) for r in rows)
            results.append(
                contract_result(
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
                f"select source_row as ligne, {text_column(column)} as valeur from raw "
                f"where {text_column(column)} is not null and {text_column(column)} not in ({allowed})",
            )
            values = sorted({str(r["valeur"]) for r in rows})
            results.append(
                contract_result(
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


# --- the gates on the typed Parquet files ---------------------------------------------------------

ARROW_KIND = {
    KEY: pa.string(),
    TEXT: pa.string(),
    MONEY: pa.decimal128(18, 2),
    INTEGER: pa.int64(),
}


def _typed_columns(ctx: CheckContext, table: str) -> Finding:
    contract = CONTRACTS[table]
    schema = dict(ctx.db.execute(f"select column_name, column_type from (describe {table})").fetchall())
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


for _table in TABLES:
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
