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
import os
import re
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
        "mono": workbook.add_format({"font_name": "Consolas", "font_size": 9}),
        "text": workbook.add_format({"valign": "top"}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "signed_euro": workbook.add_format({"num_format": SIGNED_EURO}),
        "signed_int": workbook.add_format({"num_format": SIGNED_INT}),
        "signed_pct": workbook.add_format({"num_format": SIGNED_PCT}),
        "z": workbook.add_format({"num_format": Z_FORMAT}),
        "name": workbook.add_format({"text_wrap": True}),
    }
    header, footer = _header_footer(summary.period)
    summary_sheet = workbook.add_worksheet(SUMMARY_SHEET)
    _summary_sheet(summary_sheet, summary, fmt)
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
        rows=_rows_xml(revenue, styles),
    )


def _header_footer(period: str) -> tuple[str, str]:
    """Printed on every page: the report and its period, the sheet; the period and page x of n."""
    words = period_fr(period).replace("&", "&&")
    return (
        f"&LBottleNeck — chiffre d'affaires {of_period(period)}&R&A",
        f"&LPériode : {words}&CPage &P sur &N&Rrapport_ca.xlsx",
    )


# --- the summary sheet ------------------------------------------------------------------------

# Cells only the end of the run knows (quality status and warnings, comparison with earlier
# months): key -> (label, format, column). They are laid out with a placeholder by the report
# stage and filled by ``fill_summary`` at the final step (publish.finalize), local and in Kestra.
PENDING = "calculé à la fin de l'exécution"
QUALITY_ROWS = [
    ("quality_status", "Statut qualité", "wrap", "quality_detail"),
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
    sheet.set_column(0, 0, 52)  # the longest label, "Prix seuil premium (moyenne + ...)"
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 2, 68)  # a SHA-256 in full; the wrapped details
    sheet.set_landscape()
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


def fill_summary(path: Path, values: dict) -> None:
    """Write the end-of-run values (``late_cells`` keys) into the summary sheet of a finished
    workbook, in place (atomically). A number keeps the cell's format (euro, %...); text and None
    (written '—') become text. Only the summary sheet's XML changes: the other parts, the product
    rows among them, are copied as they are, still compressed (0.1 s at 500,000 products, where
    inflating and deflating them again took 5 s)."""
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
                xml = source.read(info).decode("utf-8")
                for key, value in values.items():
                    xml = _set_cell(xml, cells[key], value)
                target.writestr(info.filename, xml.encode("utf-8"))
            else:
                _copy_compressed(raw, info, target)
    os.replace(tmp, path)


def _copy_compressed(raw, info: zipfile.ZipInfo, target: zipfile.ZipFile) -> None:
    """Append a member to ``target`` as its compressed bytes, without inflating it (what
    ZipFile.writestr does, minus the compression: same local header, data, central entry)."""
    if info.flag_bits & 0x1:  # encrypted: never written by XlsxWriter or this module
        raise ValueError(f"{info.filename}: encrypted member")
    raw.seek(info.header_offset)
    header = raw.read(30)
    name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    raw.seek(info.header_offset + 30 + name_length + extra_length)
    copied = zipfile.ZipInfo(info.filename, info.date_time)
    copied.compress_type, copied.external_attr = info.compress_type, info.external_attr
    copied.CRC, copied.compress_size, copied.file_size = info.CRC, info.compress_size, info.file_size
    out = target.fp
    if out is None:
        raise ValueError(f"{info.filename}: the target archive is closed")
    copied.header_offset = out.tell()
    out.write(copied.FileHeader())  # sizes and CRC known: no data descriptor
    remaining = info.compress_size
    while remaining:
        chunk = raw.read(min(remaining, 1 << 20))
        if not chunk:
            raise ValueError(f"{info.filename}: truncated member")
        out.write(chunk)
        remaining -= len(chunk)
    target.filelist.append(copied)
    target.NameToInfo[copied.filename] = copied
    target.start_dir = out.tell()
    target._didModify = True  # type: ignore[attr-defined]  # private flag (close() writes the directory), not in typeshed


def _set_cell(xml: str, ref: str, value) -> str:
    pattern = re.compile(rf'<c r="{ref}"(?P<style> s="\d+")?[^>]*?(?:/>|>.*?</c>)', re.S)
    found = pattern.search(xml)
    if found is None:
        raise KeyError(f"summary cell {ref} not found")
    style = found.group("style") or ""
    if value is None:
        value = "—"
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        cell = f'<c r="{ref}"{style} t="inlineStr">{_text_xml(str(value))}</c>'
    else:
        cell = f'<c r="{ref}"{style}><v>{repr(float(value)) if isinstance(value, float) else value}</v></c>'
    return xml[: found.start()] + cell + xml[found.end() :]


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
XLS_STRMAX = 32767  # UTF-16 units: longer text is cut, as XlsxWriter does
# XlsxWriter's escaping of text cells (xmlwriter.py), applied the same way: an existing
# '_xHHHH_' gets its underscore escaped, then control characters become '_xHHHH_'.
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
# Text that needs more than '<is><t>text</t></is>' (a superset, in RE2 syntax, of every case
# above: XML specials, control and non-characters, escape look-alikes, edge whitespace).
_SPACE = r"[\s\pZ\x{0b}\x{1c}-\x{1f}\x{85}]"
_SPECIAL_RE2 = (
    r"[&<>\x{00}-\x{08}\x{0b}-\x{1f}\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_|"
    rf"^{_SPACE}|{_SPACE}$"
)


def _utf16_truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units, never splitting a character above U+FFFF."""
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > limit:
            return text[:index]
    return text


def _text_xml(text: str) -> str:
    """``<is><t>...</t></is>`` content of an inline string cell, as XlsxWriter writes it (but
    always escaped: XlsxWriter passes a text shaped like '<r>...</r>' through as rich text)."""
    if len(text) > XLS_STRMAX // 2:
        text = _utf16_truncate(text, XLS_STRMAX)
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    preserve = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{preserve}>{text}</t></is>"


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of text arrays and constants (null if any part is null)."""
    arrays = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string()))


def _text_bodies(column: pa.Array) -> pa.Array:
    """The inline-string content of each text cell (null stays null)."""
    column = column.cast(pa.large_string())
    bodies = _join("<is><t>", column, "</t></is>")
    special = pc.or_(
        pc.match_substring_regex(column, _SPECIAL_RE2), pc.greater(pc.utf8_length(column), XLS_STRMAX // 2)
    )
    if pc.any(special).as_py():
        bodies = bodies.to_pylist()
        values = column.to_pylist()
        for i in pc.indices_nonzero(special).to_pylist():
            bodies[i] = _text_xml(values[i])
        bodies = pa.array(bodies, pa.large_string())
    return bodies


def _number_texts(column: pa.Array) -> pa.Array:
    """Numbers as exact text: a decimal's own digits ('71.30'), an integer's. Every reader parses
    them to the double nearest the exact value, what float(Decimal) gave XlsxWriter (which
    then printed it with 16 digits: 9.95 became '9.949999999999999')."""
    return pc.cast(column, pa.large_string())


def _rows_xml(revenue: pa.Table, styles: dict[str, int]) -> Iterator[memoryview]:
    """The ``<row>`` elements of the product rows (sheet rows 2 to num_rows + 1), in chunks.
    A null value writes no cell, as before; so does a column the table does not hold."""
    columns = list(REPORT_COLUMNS)
    for start in range(0, revenue.num_rows, CHUNK_ROWS):
        part = revenue.slice(start, CHUNK_ROWS).combine_chunks()
        numbers = pc.cast(pa.array(range(start + 2, start + 2 + part.num_rows), pa.int64()), pa.large_string())
        pieces = ['<row r="', numbers, '">']
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
