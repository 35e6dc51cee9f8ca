"""The manager's Excel report: a summary sheet and the CA per product, in French.

Laid out with XlsxWriter (formats, widths, frozen header, filter, total formula, summary sheet),
chosen by measurement (docs/PERFORMANCE.md). The product rows, the only part that grows with the
data, are rendered in bulk: XlsxWriter spends ~6 us per cell in Python (20 s for 500,000
products), so it lays out the workbook without them and the rows' XML, built column-wise with
Arrow, is spliced into the revenue sheet: the cells XlsxWriter's constant-memory mode wrote
(inline strings with its escaping, the same styles), with numbers as their exact decimal text.
A test compares both cell by cell (tests/test_bench.py). 500,000 products: 1.2 s instead of 20 s.
Read back with the same fast reader as ingest, for the report gate."""

from __future__ import annotations

import io
import math
import os
import re
import textwrap
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from .labels_fr import (
    CA_DEFINITION,
    REPORT_COLUMNS,
    REVENUE_SHEET,
    SUMMARY_SHEET,
    TOTAL_LABEL,
    VAT_NOTE,
    of_period,
    period_fr,
)
from .xlsx_parts import SPECIAL_RE2, XLS_STRMAX, copy_compressed, set_cell, set_row_height, text_xml

EURO = '#,##0.00 "€"'
SIGNED_EURO = '+#,##0.00 "€";-#,##0.00 "€";0.00 "€"'
SIGNED_INT = "+#,##0;-#,##0;0"
SIGNED_PCT = "+0.0 %;-0.0 %;0.0 %"
Z_FORMAT = "0.00"
WIDTHS = {
    "product_id": 20,
    "sku": 22,
    "product_name": 60,
    "price_eur": 12,
    "quantity_sold": 16,
    "revenue_eur": 16,
    "z_score": 14,
    "wine_class": 12,
}
NAME_WIDTH = (30, 90)  # the wine column fits the longest name within these bounds; longer ones wrap
SUMMARY_WIDTHS = (52, 36, 80)  # labels; values; notes, wrapped (a SHA-256 in full fits too)
A4 = 9  # Excel's paper code: without it the printer's default applies (Letter in LibreOffice's C locale)
# XlsxWriter does not autofit rows: a wrapped cell's row is raised to its estimated line count
# times the height of one line of the default font (Calibri 11: 15 pt, Excel's default row).
LINE_HEIGHT = 15.0
MAX_ROW_HEIGHT = 409.0  # Excel's limit
NAME_WRAP_SLACK = 8  # characters a word wrap may leave at a line's end (names: short words)
# The wrapped notes are indented one level (a number right-aligned in the next column to the left
# would touch them): about 2 characters less per line.
INDENT_CHARS = 2
NOTE_CHARS = SUMMARY_WIDTHS[2] - INDENT_CHARS


@dataclass
class Summary:
    """The figures of the summary sheet (all computed elsewhere; this module only lays out)."""

    period: str
    ca_total: Decimal
    products: int
    premium_count: int
    premium_ca: Decimal
    ordinary_count: int
    ordinary_ca: Decimal
    z_threshold: float
    price_mean: float
    price_std: float
    cutoff_price: float
    generated_at: str
    sources: dict  # table -> {file, sha256, rows}


def write_report(path: Path, revenue: pa.Table, summary: Summary) -> None:
    """The workbook. ``revenue`` holds the REPORT_COLUMNS (``z_score`` and ``wine_class`` may be
    absent: their cells are then left empty). The summary sheet's cells that only the end of the
    run knows (quality status, comparison) hold a placeholder until ``fill_summary``."""
    layout = io.BytesIO()  # the workbook without the product rows: a few kilobytes
    workbook = xlsxwriter.Workbook(layout, {"constant_memory": True})
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "bold": workbook.add_format({"bold": True, "valign": "top"}),
        "section": workbook.add_format({"bold": True, "font_size": 12, "bottom": 1}),
        "head": workbook.add_format(
            {
                "bold": True,
                "bg_color": "#5B2333",
                "font_color": "#FFFFFF",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        ),
        "euro": workbook.add_format({"num_format": EURO}),
        "euro_bold": workbook.add_format({"num_format": EURO, "bold": True, "top": 1}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "dec": workbook.add_format({"num_format": "0.00"}),
        "total": workbook.add_format({"bold": True, "top": 1}),
        "mono": workbook.add_format({"font_name": "Consolas", "font_size": 9, "indent": 1}),
        "text": workbook.add_format({"valign": "top"}),
        "wrap": workbook.add_format({"text_wrap": True, "align": "left", "valign": "top", "indent": 1}),
        "wrap_value": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "signed_euro": workbook.add_format({"num_format": SIGNED_EURO, "valign": "top"}),
        "signed_int": workbook.add_format({"num_format": SIGNED_INT, "valign": "top"}),
        "signed_pct": workbook.add_format({"num_format": SIGNED_PCT, "valign": "top"}),
        "z": workbook.add_format({"num_format": Z_FORMAT, "align": "right", "indent": 1}),  # apart from the class
        "name": workbook.add_format({"text_wrap": True}),
    }
    # On the summary sheet every value is top-aligned: it stays level with its label in a row
    # raised for a long note.
    top = {"euro": {"num_format": EURO}, "int": {"num_format": "#,##0"}}
    summary_fmt = {**fmt, **{key: workbook.add_format({**spec, "valign": "top"}) for key, spec in top.items()}}
    header, footer = _header_footer(summary.period)
    summary_sheet = workbook.add_worksheet(SUMMARY_SHEET)
    _summary_sheet(summary_sheet, summary, summary_fmt)
    revenue_sheet = workbook.add_worksheet(REVENUE_SHEET)
    _revenue_sheet(revenue_sheet, revenue, summary.ca_total, fmt)
    for sheet in (summary_sheet, revenue_sheet):
        sheet.set_header(header)
        sheet.set_footer(footer)
    # The rows' style ids, registered before close so that styles.xml holds them whatever the
    # other cells use.
    styles = {
        "money": fmt["euro"]._get_xf_index(),
        "quantity": fmt["int"]._get_xf_index(),
        "z": fmt["z"]._get_xf_index(),
        "name": fmt["name"]._get_xf_index(),
    }
    workbook.close()
    _splice_rows(
        layout,
        Path(path),
        f"xl/worksheets/sheet{revenue_sheet.index + 1}.xml",
        before=f'<row r="{revenue.num_rows + 3}"',
        rows=_rows_xml(revenue, styles, _name_width(revenue)),
    )


def _header_footer(period: str) -> tuple[str, str]:
    """Printed on every page: the report and its period, the sheet; the period and page x of n."""
    words = period_fr(period).replace("&", "&&")
    return (
        f"&LBottleNeck — chiffre d'affaires {of_period(period)}&R&A",
        f"&LPériode : {words}&CPage &P sur &N&Rrapport_ca.xlsx",
    )


def text_lines(text: str, width: float) -> int:
    """Lines a wrapped cell ``width`` characters wide needs for ``text``: each paragraph word
    wrapped at one character per width unit (a '0' of the default font; prose is narrower, so
    this errs on the tall side), and never fewer than its characters / width."""
    per_line = max(int(width), 1)
    lines = 0
    for paragraph in str(text).split("\n"):
        wrapped = len(textwrap.wrap(paragraph, per_line, break_on_hyphens=False)) or 1
        lines += max(wrapped, math.ceil(len(paragraph) / per_line))
    return lines


def row_height(cells: list[tuple[str, float]]) -> float | None:
    """Height in points for a row holding the wrapped cells ``(text, column width)``; None when
    every text fits on one line (the row keeps its default height)."""
    lines = max((text_lines(text, width) for text, width in cells), default=1)
    return None if lines <= 1 else min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT)


# --- the summary sheet ------------------------------------------------------------------------

# Cells only the end of the run knows (quality status and warnings, comparison with earlier
# months): key -> (label, format, column). They are laid out with a placeholder by the report
# stage and filled by ``fill_summary`` at the final step (publish.finalize), local and in Kestra.
PENDING = "calculé à la fin de l'exécution"
QUALITY_ROWS = [
    ("quality_status", "Statut qualité", "wrap_value", "quality_detail"),
    ("warnings", "Avertissements (contrôles non bloquants)", "int", "warnings_detail"),
]
COMPARISON_ROWS = [
    ("previous_period", "Mois comparé (dernier mois publié avant celui-ci)", "text", None),
    ("previous_ca_total", "CA du mois comparé", "euro", None),
    ("ca_change", "Évolution du CA", "signed_euro", None),
    ("ca_change_share", "Évolution du CA (%)", "signed_pct", None),
    ("products_change", "Évolution du nombre de produits", "signed_int", None),
    ("premium_entered", "Vins entrés dans la liste premium", "int", "premium_entered_list"),
    ("premium_left", "Vins sortis de la liste premium", "int", "premium_left_list"),
    ("products_lost", "Produits du mois comparé absents de ce rapport", "int", "products_lost_detail"),
    ("year_ago_period", "Même mois un an plus tôt", "text", None),
    ("year_ago_ca_total", "CA du même mois un an plus tôt", "euro", None),
    ("year_ago_ca_change_share", "Évolution sur un an (%)", "signed_pct", None),
]
SUMMARY_TOP_ROWS = 14  # rows 2..15: period to cut-off price (see _summary_sheet)
QUALITY_START = 2 + SUMMARY_TOP_ROWS
COMPARISON_TITLE = QUALITY_START + len(QUALITY_ROWS) + 2  # after 'Généré le' and a blank row
COMPARISON_START = COMPARISON_TITLE + 1
WARNINGS_TITLE = "Détail des avertissements"  # the table after the source files
WARNINGS_HEADINGS = ("Contrôle", "Fichier à corriger", "Message")


def late_cells() -> dict[str, str]:
    """key -> cell reference ('B17') of every cell ``fill_summary`` fills."""
    cells = {}
    for start, rows in ((QUALITY_START, QUALITY_ROWS), (COMPARISON_START, COMPARISON_ROWS)):
        for i, (key, _, _, detail) in enumerate(rows):
            cells[key] = f"B{start + i + 1}"
            if detail:
                cells[detail] = f"C{start + i + 1}"
    return cells


def _summary_sheet(sheet, s: Summary, fmt: dict) -> None:
    """Rows are written in order (constant-memory mode drops a cell written above the last row)."""
    for j, width in enumerate(SUMMARY_WIDTHS):
        sheet.set_column(j, j, width)
    sheet.set_landscape()
    sheet.set_paper(A4)
    sheet.fit_to_pages(1, 0)  # one page wide
    sheet.write(0, 0, f"BottleNeck — chiffre d'affaires {of_period(s.period)}", fmt["title"])
    rows = [
        ("Période", period_fr(s.period), fmt["text"], None),
        ("CA total", float(s.ca_total), fmt["euro"], None),
        ("Définition du CA", "prix ERP x quantité vendue en ligne", fmt["text"], CA_DEFINITION),
        ("Prix TTC ou HT", "non précisé par les sources", fmt["text"], VAT_NOTE),
        ("Nombre de produits", s.products, fmt["int"], None),
        (f"Vins premium (z-score > {s.z_threshold:g})", s.premium_count, fmt["int"], None),
        ("CA des vins premium", float(s.premium_ca), fmt["euro"], None),
        ("Vins ordinaires", s.ordinary_count, fmt["int"], None),
        ("CA des vins ordinaires", float(s.ordinary_ca), fmt["euro"], None),
        ("Prix moyen", s.price_mean, fmt["euro"], None),
        ("Écart-type des prix (population)", s.price_std, fmt["euro"], None),
        ("Prix seuil premium (moyenne + seuil x écart-type)", s.cutoff_price, fmt["euro"], None),
        ("Période (AAAA-MM)", s.period, fmt["text"], None),
        (
            "Classement",
            f"premium si z-score > {s.z_threshold:g}",
            fmt["text"],
            "z-score = (prix - prix moyen) / écart-type des prix ; colonnes « Z-score du prix » et "
            "« Classe » de la feuille CA par produit.",
        ),
    ]
    assert len(rows) == SUMMARY_TOP_ROWS
    for i, (label, value, cell_format, detail) in enumerate(rows, start=2):
        height = row_height([(detail, NOTE_CHARS)] if detail else [])
        if height:
            sheet.set_row(i, height)
        sheet.write(i, 0, label, fmt["bold"])
        sheet.write(i, 1, value, cell_format)
        if detail:
            sheet.write(i, 2, detail, fmt["wrap"])
    for i, (_, label, kind, detail) in enumerate(QUALITY_ROWS, start=QUALITY_START):
        sheet.write(i, 0, label, fmt["bold"])
        sheet.write_string(i, 1, PENDING, fmt[kind])
        if detail:
            sheet.write_string(i, 2, "", fmt["wrap"])
    generated = QUALITY_START + len(QUALITY_ROWS)
    sheet.write(generated, 0, "Généré le", fmt["bold"])
    sheet.write(generated, 1, s.generated_at)
    sheet.write(COMPARISON_TITLE, 0, "Comparaison avec les mois publiés", fmt["section"])
    for i, (_, label, kind, detail) in enumerate(COMPARISON_ROWS, start=COMPARISON_START):
        sheet.write(i, 0, label, fmt["bold"])
        sheet.write_string(i, 1, PENDING, fmt[kind])
        if detail:
            sheet.write_string(i, 2, "", fmt["wrap"])
    start = COMPARISON_START + len(COMPARISON_ROWS) + 1
    sheet.write(start, 0, "Fichiers sources", fmt["bold"])
    for j, heading in enumerate(("Fichier", "Lignes", "Empreinte SHA-256")):
        sheet.write(start + 1, j if j < 2 else 2, heading, fmt["head"])
    for i, source in enumerate(s.sources.values(), start=start + 2):
        sheet.write(i, 0, source["file"])
        sheet.write(i, 1, source["rows"], fmt["int"])
        sheet.write(i, 2, source["sha256"], fmt["mono"])
    # The warnings, one per row: their number is known only at the end of the run, so the table
    # comes last and ``fill_summary`` replaces its placeholder row with as many rows as needed.
    title = start + 2 + len(s.sources) + 1
    sheet.write(title, 0, WARNINGS_TITLE, fmt["section"])
    for j, heading in enumerate(WARNINGS_HEADINGS):
        sheet.write(title + 1, j, heading, fmt["head"])
    sheet.write_string(title + 2, 0, PENDING, fmt["text"])
    sheet.write_string(title + 2, 1, "", fmt["text"])
    sheet.write_string(title + 2, 2, "", fmt["wrap"])


def fill_summary(path: Path, values: dict) -> None:
    """Write the end-of-run values (``late_cells`` keys) into the summary sheet of a finished
    workbook, in place (atomically). A number keeps the cell's format (euro, %...); text and None
    (written '—') become text. ``warnings_detail`` (one warning per line, or a list) fills the
    table "Détail des avertissements", one row per warning, and its own cell then points there.
    Every filled row is raised to fit its wrapped text. Only the summary sheet's XML changes: the
    other parts, the product rows among them, are copied as they are, still compressed (0.1 s at
    500,000 products, where inflating and deflating them again took 5 s)."""
    cells = late_cells()
    unknown = set(values) - set(cells)
    if unknown:
        raise KeyError(f"no summary cell for {sorted(unknown)}")
    member = "xl/worksheets/sheet1.xml"  # the summary sheet comes first
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with (
        open(path, "rb") as raw,
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=SHEET_COMPRESSLEVEL) as target,
    ):
        for info in source.infolist():
            if info.filename == member:
                xml = _filled_summary_xml(source.read(info).decode("utf-8"), values, cells)
                target.writestr(info.filename, xml.encode("utf-8"))
            else:
                copy_compressed(raw, info, target)
    os.replace(tmp, path)


def _filled_summary_xml(xml: str, values: dict, cells: dict[str, str]) -> str:
    values = dict(values)
    if "warnings_detail" in values:
        detail = values["warnings_detail"]
        lines = detail if isinstance(detail, (list, tuple)) else str(detail or "").splitlines()
        warnings = [_warning_cells(line) for line in lines if line.strip() and line.strip() != "aucun"]
        xml, first = _fill_warnings_table(xml, warnings or [("", "", "aucun avertissement")])
        values["warnings_detail"] = (
            f"un par ligne : tableau « {WARNINGS_TITLE} », ligne {first} et suivantes" if warnings else "aucun"
        )
    wrapped = _wrapped_late_cells()
    texts: dict[int, list[tuple[str, float]]] = {}
    for key, value in values.items():
        xml = set_cell(xml, cells[key], value)
        if key in wrapped and isinstance(value, str):
            texts.setdefault(int(cells[key][1:]), []).append((value, wrapped[key]))
    for row, row_texts in texts.items():
        xml = set_row_height(xml, row, row_height(row_texts))
    return xml


def _wrapped_late_cells() -> dict[str, float]:
    """key -> column width of the late cells that wrap their text (the details, the status)."""
    wrapped: dict[str, float] = {}
    for key, _, kind, detail in QUALITY_ROWS + COMPARISON_ROWS:
        if kind == "wrap_value":
            wrapped[key] = SUMMARY_WIDTHS[1]
        if detail:
            wrapped[detail] = NOTE_CHARS
    return wrapped


# '[clean.erp.no_negative_price] erp.xlsx : 2 prix négatif(s)...' (publish.warnings_fr)
WARNING_CHARS = 1500  # about 20 lines: a longer message would outgrow Excel's tallest row
WARNING_LINE = re.compile(r"^\[(?P<check>[^\]]+)\]\s*(?:(?P<file>[\w.-]+\.xlsx) : )?(?P<message>.*)$", re.S)


def _warning_cells(line: str) -> tuple[str, str, str]:
    """(check, file to correct, message) of a warning line; the file as the HTML page names it:
    from the message's opening, else from the check's id (clean.web.* -> web.xlsx)."""
    found = WARNING_LINE.match(line.strip())
    if found is None:  # not a check's warning ('et 2 autre(s)'): the message column only
        return "", "", line.strip()
    check, file = found["check"], found["file"]
    parts = check.split(".")
    if not file and len(parts) > 2 and parts[1] in ("erp", "web", "liaison"):
        file = f"{parts[1]}.xlsx"
    message = found["message"]
    if len(message) > WARNING_CHARS:
        message = message[: WARNING_CHARS - 1] + "… (message complet : rapport_qualite.html)"
    return check, file or "", message


def _fill_warnings_table(xml: str, rows: list[tuple[str, str, str]]) -> tuple[str, int]:
    """Replace the warnings table's body (every row after its heading, to the end of the sheet)
    with ``rows``, styled as its first body row; returns the first body row's number."""
    title = re.search(rf'<row r="(\d+)"[^>]*><c r="A\d+"[^>]*><is><t>{re.escape(WARNINGS_TITLE)}</t>', xml)
    if title is None:
        raise KeyError("summary sheet: no warnings table")
    first = int(title.group(1)) + 2
    body = re.search(rf'<row r="{first}"[^>]*>.*?</row>', xml, re.S)
    if body is None:
        raise KeyError(f"summary sheet: warnings row {first} not found")
    styles = dict(re.findall(r'<c r="([A-C])\d+"( s="\d+")?', body.group(0)))
    out = []
    for number, texts in enumerate(rows, start=first):
        height = row_height([(texts[2], NOTE_CHARS)])
        attrs = f' ht="{height:g}" customHeight="1"' if height else ""
        cells = "".join(
            f'<c r="{col}{number}"{styles.get(col, "")} t="inlineStr">{text_xml(text)}</c>'
            if text
            else f'<c r="{col}{number}"{styles.get(col, "")}/>'
            for col, text in zip("ABC", texts)
        )
        out.append(f'<row r="{number}"{attrs}>{cells}</row>')
    end = xml.index("</sheetData>")
    xml = xml[: body.start()] + "".join(out) + xml[end:]
    last = first + len(rows) - 1
    return re.sub(r'<dimension ref="[A-Z]+\d+(?::[A-Z]+\d+)?"/>', f'<dimension ref="A1:C{last}"/>', xml, count=1), first


def _revenue_sheet(sheet, revenue: pa.Table, total: Decimal, fmt: dict) -> None:
    """Headings, widths, frozen header, filter and the total line; the product rows (rows 2 to
    num_rows + 1) are left empty here and spliced in by ``write_report``."""
    columns = list(REPORT_COLUMNS)
    for j, name in enumerate(columns):
        sheet.set_column(j, j, _name_width(revenue) if name == "product_name" else WIDTHS[name])
    sheet.set_row(0, 30)
    for j, name in enumerate(columns):
        sheet.write(0, j, REPORT_COLUMNS[name], fmt["head"])
    sheet.freeze_panes(1, 0)
    last = revenue.num_rows  # 0-based index of the last data row
    sheet.autofilter(0, 0, max(last, 1), len(columns) - 1)
    # Printed: landscape, one page wide, the heading repeated on every page.
    sheet.set_landscape()
    sheet.set_paper(A4)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    # Ids are text on purpose (keys compared as text): no "number stored as text" warnings.
    sheet.ignore_errors({"number_stored_as_text": f"A2:B{max(last, 1) + 1}"})
    total_row = last + 2  # one blank row between the data and the total, outside the filter
    col = columns.index("revenue_eur")
    sheet.write(total_row, 0, TOTAL_LABEL, fmt["total"])
    letter = xlsxwriter.utility.xl_col_to_name(col)
    sheet.write_formula(total_row, col, f"=SUM({letter}2:{letter}{last + 1})", fmt["euro_bold"], float(total))


def _name_width(revenue: pa.Table) -> int:
    """Wide enough for the longest wine name (vintage included), within NAME_WIDTH; a longer name
    wraps (the name cells wrap their text)."""
    longest = pc.max(pc.utf8_length(revenue["product_name"])).as_py() if revenue.num_rows else None
    low, high = NAME_WIDTH
    return min(max((longest or 0) + 2, low), high)


# --- the product rows, in bulk -----------------------------------------------------------------

CHUNK_ROWS = 50_000
# zlib level of the rows' sheet: 1 deflates 170 MB of XML in 0.7 s instead of 2.5 s at the
# default 6, for a file 15 % larger (13 MB instead of 11 MB at 500,000 products).
SHEET_COMPRESSLEVEL = 1
MONEY_COLUMNS = ("price_eur", "revenue_eur")
QUANTITY_COLUMNS = ("quantity_sold",)


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of text arrays and constants (null if any part is null)."""
    arrays = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string()))


def _text_bodies(column: pa.Array) -> pa.Array:
    """The inline-string content of each text cell (null stays null)."""
    column = column.cast(pa.large_string())
    bodies = _join("<is><t>", column, "</t></is>")
    special = pc.or_(pc.match_substring_regex(column, SPECIAL_RE2), pc.greater(pc.utf8_length(column), XLS_STRMAX // 2))
    if pc.any(special).as_py():
        bodies = bodies.to_pylist()
        values = column.to_pylist()
        for i in pc.indices_nonzero(special).to_pylist():
            bodies[i] = text_xml(values[i])
        bodies = pa.array(bodies, pa.large_string())
    return bodies


def _number_texts(column: pa.Array) -> pa.Array:
    """Numbers as exact text: a decimal's own digits ('71.30'), an integer's. Every reader parses
    them to the double nearest the exact value, what float(Decimal) gave XlsxWriter (which
    then printed it with 16 digits: 9.95 became '9.949999999999999')."""
    return pc.cast(column, pa.large_string())


def _rows_xml(revenue: pa.Table, styles: dict[str, int], name_width: int) -> Iterator[memoryview]:
    """The ``<row>`` elements of the product rows (sheet rows 2 to num_rows + 1), in chunks.
    A null value writes no cell, as before; so does a column the table does not hold. A row
    whose wine name wraps is raised to the name's lines."""
    columns = list(REPORT_COLUMNS)
    for start in range(0, revenue.num_rows, CHUNK_ROWS):
        part = revenue.slice(start, CHUNK_ROWS).combine_chunks()
        numbers = pc.cast(pa.array(range(start + 2, start + 2 + part.num_rows), pa.int64()), pa.large_string())
        heights = _name_row_heights(part.column("product_name").combine_chunks(), name_width)
        pieces = ['<row r="', numbers, '"', heights, ">"]
        for j, name in enumerate(columns):
            if name not in part.column_names:
                continue
            column = part.column(name).combine_chunks()
            letter = xl_col_to_name(j)
            if name in MONEY_COLUMNS or name in QUANTITY_COLUMNS or name == "z_score":
                style = styles["money" if name in MONEY_COLUMNS else "quantity" if name in QUANTITY_COLUMNS else "z"]
                if name == "z_score":  # as the extracts show it: 2 decimals
                    column = pc.cast(column, pa.decimal128(18, 2))
                cell = _join(f'<c r="{letter}', numbers, f'" s="{style}"><v>', _number_texts(column), "</v></c>")
            else:
                name_style = f' s="{styles["name"]}"' if name == "product_name" else ""
                cell = _join(f'<c r="{letter}', numbers, f'"{name_style} t="inlineStr">', _text_bodies(column), "</c>")
            pieces.append(pc.fill_null(cell, pa.scalar("", pa.large_string())))  # null: no cell
        pieces.append("</row>")
        rows = _join(*pieces)
        _, offsets, data = rows.buffers()  # no nulls: the rows' text is one contiguous buffer
        offsets = memoryview(offsets).cast("q")  # large_string: 64-bit offsets
        yield memoryview(data)[offsets[rows.offset] : offsets[rows.offset + len(rows)]]


def _name_row_heights(names: pa.Array, width: int) -> pa.Array:
    """' ht="30" customHeight="1"' for a row whose name is longer than the column (sized at the
    longest name + 2, see _name_width) and wraps, else ''."""
    length = pc.fill_null(pc.utf8_length(names.cast(pa.large_string())), 0)
    per_line = max(width - NAME_WRAP_SLACK, 1)
    lines = pc.divide(pc.add(length, per_line - 1), per_line)  # integer division: the ceiling
    points = pc.min_element_wise(pc.multiply(lines, int(LINE_HEIGHT)), int(MAX_ROW_HEIGHT))
    raised = _join(' ht="', pc.cast(points, pa.large_string()), '" customHeight="1"')
    return pc.if_else(pc.greater(length, width - 2), raised, pa.scalar("", pa.large_string()))


def _splice_rows(layout: io.BytesIO, path: Path, member: str, before: str, rows: Iterator[memoryview]) -> None:
    """Copy the laid-out workbook to ``path``, inserting ``rows`` into ``member`` just before
    the text ``before`` (the total line's row)."""
    layout.seek(0)
    with (
        zipfile.ZipFile(layout) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=SHEET_COMPRESSLEVEL) as target,
    ):
        for info in source.infolist():
            if info.filename != member:
                target.writestr(info, source.read(info))  # small parts, as XlsxWriter wrote them
                continue
            xml = source.read(info)
            at = xml.index(before.encode("utf-8"))
            with target.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(xml[:at])
                for chunk in rows:
                    sheet.write(chunk)
                sheet.write(xml[at:])


def read_back(path: Path) -> tuple[int, Decimal]:
    """(product lines, total) as a reader of the delivered workbook sees them."""
    sheet = fastexcel.read_excel(str(path)).load_sheet(REVENUE_SHEET, dtypes="string")
    table = sheet.to_arrow()
    first = table.column(0).to_pylist()
    ca = table.column(list(REPORT_COLUMNS.values()).index(REPORT_COLUMNS["revenue_eur"])).to_pylist()
    if TOTAL_LABEL not in first:
        return len([v for v in first if v]), Decimal("NaN")
    at = first.index(TOTAL_LABEL)
    lines = len([v for v in first[:at] if v])
    return lines, Decimal(ca[at]).quantize(Decimal("0.01"))
