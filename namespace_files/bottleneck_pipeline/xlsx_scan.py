"""What the xlsx reader does not say: which sheet Excel opens on, on which row the header stands,
and which cells Excel shows with a value that the reader returns empty.

The reader (fastexcel, on calamine) reads a formula saved without its computed value, an error
cell (#N/A, #REF!...) and every cell of a merged range but the first as empty cells, and it
skips blank rows above the header (so row numbers would shift). An empty price or key read in
place of a real one silently changes the CA, so ingest asks this module first.

One streaming pass over the sheet's XML. Only the first rows are parsed cell by cell (to find
the header); the rest is searched as raw bytes for the few markers that matter (a formula
element, an error type, a merge), which costs a fraction of parsing millions of cells in Python.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Iterator
from xml.etree import ElementTree

CHUNK = 1 << 20  # bytes of decompressed XML per read
HEADER_SEARCH_ROWS = 20  # non-empty rows looked at for the header before giving up

CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
VALUE = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
TEXT = re.compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
PHONETIC = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
ERROR_TYPE = re.compile(rb"t=[\"']e[\"']")  # literal first byte: a fast search (no alternation)
MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([^\"']+)[\"']")
ROOT = re.compile(rb"<(\w+:)?worksheet\b")
REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _attr(attrs: bytes, name: str) -> str | None:
    found = re.search(rb"(?:^|\s)" + name.encode() + rb"\s*=\s*[\"']([^\"']*)[\"']", attrs)
    return found.group(1).decode() if found else None


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _excel_text(text: str) -> str:
    """A string cell as Excel means it: control characters are stored as _xHHHH_ escapes."""
    return ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def split_ref(ref: str) -> tuple[str, int]:
    """'C12' -> ('C', 12)."""
    match = REF.fullmatch(ref.replace("$", ""))
    if not match:
        raise ValueError(f"not a cell reference: {ref}")
    return match.group(1), int(match.group(2))


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Sheet:
    name: str
    part: str  # its XML inside the zip, e.g. xl/worksheets/sheet1.xml
    hidden: bool


@dataclass(frozen=True)
class Cell:
    ref: str  # C12
    column: str  # C
    row: int  # 12
    value: str  # what Excel shows (an error such as #N/A) or the formula left uncomputed


@dataclass
class SheetScan:
    sheet: Sheet  # the sheet read: the first visible worksheet
    sheets: list[Sheet]  # every worksheet, in workbook order
    header_row: int | None = None  # Excel row of the header; None when the sheet holds nothing
    headers: list[tuple[str, str]] = field(default_factory=list)  # (letter, text), non-empty cells
    uncomputed: list[Cell] = field(default_factory=list)  # formulas saved without their value
    errors: list[Cell] = field(default_factory=list)  # error cells (#N/A, #REF!, #DIV/0!...)
    merges: list[str] = field(default_factory=list)  # merged ranges, "C5:C6"


# --- the package: which sheet, where its XML and its shared strings are ------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _relationships(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a package part."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in zf.namelist():
        return {}
    found: dict[str, tuple[str, str]] = {}
    for rel in ElementTree.fromstring(zf.read(rels)):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id", "")] = (rel.get("Type", ""), target)
    return found


def worksheets(zf: zipfile.ZipFile) -> tuple[list[Sheet], str | None]:
    """Every worksheet in workbook order (chart sheets left out), and the shared strings part."""
    workbook = next(
        (target for kind, target in _relationships(zf, "").values() if kind.endswith("/officeDocument")),
        "xl/workbook.xml",
    )
    rels = _relationships(zf, workbook)
    sheets = []
    for node in ElementTree.fromstring(zf.read(workbook)).iter():
        if _local(node.tag) != "sheet":
            continue
        rel_id = next((v for k, v in node.attrib.items() if _local(k) == "id"), "")
        kind, target = rels.get(rel_id, ("", ""))
        if kind.endswith("/worksheet"):
            sheets.append(Sheet(node.get("name", ""), target, node.get("state", "visible") in ("hidden", "veryHidden")))
    strings = next((target for kind, target in rels.values() if kind.endswith("/sharedStrings")), None)
    return sheets, strings


class SharedStrings:
    """The workbook's shared strings, parsed only as far as the header needs (they are stored in
    order of first use, so the header's come first)."""

    def __init__(self, zf: zipfile.ZipFile, part: str | None):
        self._items: list[str] = []
        self._parser = ElementTree.iterparse(zf.open(part)) if part else iter(())

    def __getitem__(self, index: int) -> str:
        while len(self._items) <= index:
            node = next((n for _, n in self._parser if _local(n.tag) == "si"), None)
            if node is None:
                return ""
            # the text runs of the item (rich text: one per <r>); phonetic hints (<rPh>) left out
            runs = [node] + [r for r in node if _local(r.tag) == "r"]
            self._items.append(_excel_text("".join(t.text or "" for run in runs for t in run if _local(t.tag) == "t")))
            node.clear()
        return self._items[index]


# --- the sheet ---------------------------------------------------------------------------------


def _cell_value(attrs: bytes, body: bytes | None, strings: SharedStrings) -> str | None:
    """The text of a cell as the reader sees it; None when empty."""
    body = body or b""
    kind = _attr(attrs, "t")
    if kind == "inlineStr":
        return _excel_text(_text(b"".join(TEXT.findall(PHONETIC.sub(b"", body)))))
    value = VALUE.search(body)
    if value is None or (not value.group(1) and kind != "s"):
        return None
    return strings[int(value.group(1))] if kind == "s" else _text(value.group(1))


def _row_cells(row: re.Match, strings: SharedStrings) -> list[tuple[str, str]]:
    """(letter, text) of a row's non-empty cells (a cell without a reference follows the last)."""
    cells, number = [], 0
    for cell in CELL.finditer(row.group(2) or b""):
        ref = _attr(cell.group(1), "r")
        number = column_number(split_ref(ref)[0]) if ref else number + 1
        value = _cell_value(cell.group(1), cell.group(2), strings)
        if value is not None:
            cells.append((column_letters(number), value))
    return cells


def _segments(stream, close: bytes, data: bytes) -> Iterator[bytes]:
    """The XML in pieces that each end after a closing row tag: no cell is ever cut in two."""
    while chunk := stream.read(CHUNK):
        data += chunk
        cut = data.rfind(close)
        if cut >= 0:
            cut += len(close)
            yield data[:cut]
            data = data[cut:]
    yield data


def _suspect_cells(segment: bytes, prefix: bytes) -> Iterator[re.Match]:
    """Cells holding a formula or an error type: found as raw bytes, then parsed one by one."""
    opening, closing = b"<" + prefix + b"c ", b"</" + prefix + b"c>"
    marks = [m.start() for m in re.finditer(b"<" + re.escape(prefix) + rb"f[\s>/]", segment)]
    marks += [m.start() for m in ERROR_TYPE.finditer(segment) if segment[m.start() - 1 : m.start()].isspace()]
    starts = set()
    for mark in sorted(marks):
        start = segment.rfind(opening, 0, mark)
        if start < 0 or start in starts or segment.find(closing, start, mark) >= 0:
            continue  # already seen (a formula in error), or not inside a cell (text, ...)
        cell = CELL.match(segment, start)
        if cell and cell.end() > mark:
            starts.add(start)
            yield cell


def scan(path, is_header: Callable[[str], bool]) -> SheetScan:
    """Scan the first visible worksheet. ``is_header(text)`` says whether a cell's text is one of
    the contract's column names: the header is the first row holding one (blank or title rows
    may stand above it); failing that, the first row holding anything."""
    with zipfile.ZipFile(path) as zf:
        sheets, strings_part = worksheets(zf)
        if not sheets:
            raise ValueError("aucune feuille de calcul")
        result = SheetScan(next((s for s in sheets if not s.hidden), sheets[0]), sheets)
        strings = SharedStrings(zf, strings_part)
        rows_seen, row_number, first_row = 0, 0, None
        with zf.open(result.sheet.part) as stream:
            head = stream.read(CHUNK)
            root = ROOT.search(head)
            prefix = (root.group(1) or b"") if root else b""
            for segment in _segments(stream, b"</" + prefix + b"row>", head):
                for row in ROW.finditer(segment) if rows_seen < HEADER_SEARCH_ROWS else ():
                    ref = _attr(row.group(1), "r")
                    row_number = int(ref) if ref else row_number + 1
                    cells = _row_cells(row, strings)
                    rows_seen += bool(cells)
                    if cells and first_row is None:
                        first_row = (row_number, cells)
                    if any(is_header(value) for _, value in cells):
                        result.header_row, result.headers = row_number, cells
                        rows_seen = HEADER_SEARCH_ROWS  # found: stop looking
                    if rows_seen >= HEADER_SEARCH_ROWS:
                        break
                for cell in _suspect_cells(segment, prefix):
                    _classify(cell, result)
                if b"mergeCell" in segment:
                    result.merges += [m.decode() for m in MERGE.findall(segment)]
        if result.header_row is None and first_row:
            result.header_row, result.headers = first_row
        return result


def _classify(cell: re.Match, result: SheetScan) -> None:
    attrs, body = cell.group(1), cell.group(2) or b""
    ref = _attr(attrs, "r")
    if ref is None:
        return  # a cell without a reference cannot be placed (no writer we know omits it)
    letter, row = split_ref(ref)
    kind = _attr(attrs, "t")
    formula = FORMULA.search(body)
    value = VALUE.search(body)
    if kind == "e":
        result.errors.append(Cell(ref, letter, row, _text(value.group(1)) if value else "#erreur"))
    elif formula and (value is None or (not value.group(1) and kind != "str")):
        # no cached value (an empty <v> is a computed empty text only for a text formula)
        shown = "=" + _text(formula.group(1)) if formula.group(1) else "formule partagée"
        result.uncomputed.append(Cell(ref, letter, row, shown))


def merge_bounds(rng: str) -> tuple[int, int, int, int]:
    """'B5:C6' -> (first column, first row, last column, last row), columns as numbers."""
    first, _, last = rng.partition(":")
    (c1, r1), (c2, r2) = split_ref(first), split_ref(last or first)
    return column_number(c1), r1, column_number(c2), r2
