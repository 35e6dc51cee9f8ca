"""The XML of a worksheet inside an xlsx file, edited in place: inline text cells escaped as
XlsxWriter escapes them, one cell's value, one row's height; and a zip member copied still
compressed. Used by report_workbook (the product rows in bulk, the summary sheet's late cells)."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal

XLS_STRMAX = 32767  # UTF-16 units: longer text is cut, as XlsxWriter does
# XlsxWriter's escaping of text cells (xmlwriter.py), applied the same way: an existing
# '_xHHHH_' gets its underscore escaped, then control characters become '_xHHHH_'.
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
# Text that needs more than '<is><t>text</t></is>' (a superset, in RE2 syntax, of every case
# above: XML specials, control and non-characters, escape look-alikes, edge whitespace).
_SPACE = r"[\s\pZ\x{0b}\x{1c}-\x{1f}\x{85}]"
SPECIAL_RE2 = (
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


def text_xml(text: str) -> str:
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


def set_row_height(xml: str, row: int, height: float | None) -> str:
    """The row's height in points (None: the default height)."""
    found = re.search(rf'<row r="{row}"(?P<attrs>[^>]*?)(?P<end>/?>)', xml)
    if found is None:
        raise KeyError(f"row {row} not found")
    attrs = re.sub(r' (?:ht|customHeight)="[^"]*"', "", found["attrs"])
    if height:
        attrs += f' ht="{height:g}" customHeight="1"'
    return xml[: found.start()] + f'<row r="{row}"{attrs}{found["end"]}' + xml[found.end() :]


def copy_compressed(raw, info: zipfile.ZipInfo, target: zipfile.ZipFile) -> None:
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


def set_cell(xml: str, ref: str, value) -> str:
    pattern = re.compile(rf'<c r="{ref}"(?P<style> s="\d+")?[^>]*?(?:/>|>.*?</c>)', re.S)
    found = pattern.search(xml)
    if found is None:
        raise KeyError(f"cell {ref} not found")
    style = found.group("style") or ""
    if value is None:
        value = "—"
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        cell = f'<c r="{ref}"{style} t="inlineStr">{text_xml(str(value))}</c>'
    else:
        cell = f'<c r="{ref}"{style}><v>{repr(float(value)) if isinstance(value, float) else value}</v></c>'
    return xml[: found.start()] + cell + xml[found.end() :]
