"""Deterministic scaled copies of the three input workbooks, for the benchmark.

A factor k writes k replicas of every row of erp.xlsx, web.xlsx and liaison.xlsx. Replica 0 is
the source unchanged; in replica r every key gets a fresh value, the same in every file, so the
joins still match one-to-one inside a replica and never across replicas:

- a number key n (product_id, sku, id_web) becomes n + r * OFFSET, still a number cell, with
  OFFSET the power of ten above the largest key of its family (product ids, web skus);
- a text key that starts with digits keeps its shape: "13127-1" -> "<13127 + r * OFFSET>-1";
- any other text key gets a suffix: "bon-cadeau-25-euros" -> "bon-cadeau-25-euros-r3".

Everything else (prices, sales, titles, dates, defects such as empty rows, duplicates, null
keys and negative prices) is copied as is. So every replica is the method's input again: the
product count and the CA scale by exactly k, and the premium count too (the population mean and
standard deviation of k copies of the prices are those of one copy).

The workbooks are written by a small template writer (xlsx = zipped XML; shared strings as
Excel writes them; numbers, dates and text keep their cell types): each source row's XML is
built once, and a replica only substitutes its row number and keys. That is ~20x faster than a
general writer (web.xlsx at ~690x, 1M rows x 28 columns, in well under a minute).

Usage: python bench/scale.py --source sample|real --factor 10 [--out bench/out/inputs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import load_workbook

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"
REAL_DIR = Path(__file__).resolve().parents[2] / "shared/data/bottleneck-p10"
CACHE_DIR = REPO / "bench" / "out" / "inputs"
FILES = ("erp", "web", "liaison")
XLSX_MAX_ROWS = 1_048_576  # rows of a sheet, header included
# (file, column) -> key family; both files of a family share one remapping
KEYS = {
    ("erp", "product_id"): "product",
    ("liaison", "product_id"): "product",
    ("liaison", "id_web"): "sku",
    ("web", "sku"): "sku",
}
FORMAT_VERSION = 1  # bump to invalidate cached inputs when the writer changes

LEADING_DIGITS = re.compile(r"^(\d+)(.*)$", re.S)
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def source_dir(source: str) -> Path:
    if source == "sample":
        return SAMPLE_DIR
    if source == "real":
        if not REAL_DIR.is_dir():
            raise SystemExit(f"real input folder not found: {REAL_DIR}")
        return REAL_DIR
    raise ValueError(source)


def load(folder: Path) -> dict[str, list[list]]:
    """Header + rows of each workbook's first sheet, cells typed (int, float, str, datetime, None).
    The sources are small (the real volume): openpyxl, a dependency the tests already have."""
    tables = {}
    for name in FILES:
        with warnings.catch_warnings():  # openpyxl: "Unknown extension is not supported"
            warnings.simplefilter("ignore")
            workbook = load_workbook(folder / f"{name}.xlsx", read_only=True, data_only=True)
            rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
            workbook.close()
        while rows and all(v is None for v in rows[-1]):  # trailing blank rows of the dimension
            rows.pop()
        width = len(rows[0])
        tables[name] = [[_none_if_empty(v) for v in row] + [None] * (width - len(row)) for row in rows]
    return tables


def _none_if_empty(value):
    return None if value == "" else value


def max_factor(tables: dict[str, list[list]]) -> int:
    """The largest factor whose biggest sheet still fits in an xlsx sheet."""
    return (XLSX_MAX_ROWS - 1) // max(len(rows) - 1 for rows in tables.values())


# --- keys --------------------------------------------------------------------------------------


def _integer_part(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else None
    if isinstance(value, str):
        match = LEADING_DIGITS.match(value.strip())
        return int(match.group(1)) if match else None
    return None


def offsets(tables: dict[str, list[list]]) -> dict[str, int]:
    """Per key family, the power of ten above its largest integer key."""
    largest = {"product": 0, "sku": 0}
    for (name, column), family in KEYS.items():
        rows = tables[name]
        j = rows[0].index(column)
        for row in rows[1:]:
            n = _integer_part(row[j])
            if n is not None:
                largest[family] = max(largest[family], n)
    return {family: 10 ** len(str(n)) for family, n in largest.items()}


def remap(value, replica: int, offset: int):
    """The key of a replica (replica 0: unchanged). See the module docstring."""
    if replica == 0 or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return int(value) + replica * offset
    if isinstance(value, str):
        match = LEADING_DIGITS.match(value)
        if match:
            digits, rest = match.groups()
            return str(int(digits) + replica * offset).zfill(len(digits)) + rest
        return f"{value}-r{replica}"
    return value  # a non-integer number as key: left alone (never seen in the inputs)


# --- the template writer -----------------------------------------------------------------------


def _col_name(j: int) -> str:
    name = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        name = chr(65 + rem) + name
    return name


def _xml_text(text: str) -> str:
    text = escape(text)
    return ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class SharedStrings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0  # references, as Excel counts them

    def ref(self, text: str) -> int:
        self.count += 1
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.index)
        return i

    def xml(self) -> bytes:
        parts = [
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}" '
            f'count="{self.count}" uniqueCount="{len(self.index)}">'
        ]
        for text in self.index:
            space = ' xml:space="preserve"' if text != text.strip() else ""
            parts.append(f"<si><t{space}>{_xml_text(text)}</t></si>")
        parts.append("</sst>")
        return "".join(parts).encode("utf-8")


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"""
# cellXfs 0: General; 1: built-in date-time format 22 (the source's datetime cells)
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def _cell(ref: str, value, strings: SharedStrings) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{_number(value)}</v></c>'
    if isinstance(value, (dt.datetime, dt.date)):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        serial = (moment - EXCEL_EPOCH) / dt.timedelta(days=1)
        return f'<c r="{ref}" s="1"><v>{serial!r}</v></c>'
    return f'<c r="{ref}" t="s"><v>{strings.ref(str(value))}</v></c>'


def write_scaled(path: Path, rows: list[list], factor: int, keys: dict[int, int]) -> int:
    """Write the header and ``factor`` replicas of ``rows[1:]``; ``keys`` maps a column index to
    its family's offset. Returns the number of data rows written."""
    header, data = rows[0], rows[1:]
    width = len(header)
    letters = [_col_name(j) for j in range(width)]
    strings = SharedStrings()
    # Each source row becomes a template built once: its cells' XML with "\0" where the row
    # number goes, split at its key cells (the only cells a replica changes).
    templates = []
    before = strings.count
    for row in data:
        segments: list[str] = []
        slots: list[tuple[int, object]] = []
        current: list[str] = []
        for j, value in enumerate(row):
            if j in keys:
                segments.append("".join(current))
                current = []
                slots.append((j, value))
            else:
                current.append(_cell(f"{letters[j]}\0", value, strings))
        segments.append("".join(current))
        templates.append((segments, slots))
    strings.count += (strings.count - before) * (factor - 1)  # the replicas' references
    total = len(data) * factor
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            last = f"{letters[-1]}{total + 1}"
            head = "".join(_cell(f"{letters[j]}1", h, strings) for j, h in enumerate(header))
            sheet.write(
                (
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                    f'xmlns="{NS}" xmlns:r="{REL_NS}"><dimension ref="A1:{last}"/><sheetData>'
                    f'<row r="1">{head}</row>'
                ).encode("utf-8")
            )
            n = 1
            for replica in range(factor):
                chunk = []
                for segments, slots in templates:
                    n += 1
                    ns = str(n)
                    chunk.append(f'<row r="{ns}">')
                    chunk.append(segments[0].replace("\0", ns))
                    for (j, value), segment in zip(slots, segments[1:]):
                        chunk.append(_cell(f"{letters[j]}{ns}", remap(value, replica, keys[j]), strings))
                        chunk.append(segment.replace("\0", ns))
                    chunk.append("</row>")
                sheet.write("".join(chunk).encode("utf-8"))
            sheet.write(b"</sheetData></worksheet>")
        archive.writestr("xl/sharedStrings.xml", strings.xml())
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", STYLES)
    return total


# --- cached build ------------------------------------------------------------------------------


def build(source: str, factor: int, out_root: Path = CACHE_DIR, tables: dict | None = None, log=print) -> Path:
    """The folder holding erp/web/liaison.xlsx at ``factor``; reused when already built."""
    folder = out_root / f"{source}-x{factor}"
    marker = folder / "scaled.json"
    src = source_dir(source)
    stamp = {
        "format": FORMAT_VERSION,
        "source": source,
        "factor": factor,
        "source_sizes": {f: (src / f"{f}.xlsx").stat().st_size for f in FILES},
    }
    if marker.is_file():
        try:
            done = json.loads(marker.read_text())
            if {k: done.get(k) for k in stamp} == stamp:
                return folder
        except (OSError, ValueError):
            pass
    tables = tables if tables is not None else load(src)
    limit = max_factor(tables)
    if factor > limit:
        raise ValueError(f"factor {factor} exceeds the xlsx row limit for {source} (max {limit})")
    folder.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    family_offsets = offsets(tables)
    started = time.perf_counter()
    rows_written = {}
    for name in FILES:
        header = tables[name][0]
        keys = {header.index(column): family_offsets[family] for (file, column), family in KEYS.items() if file == name}
        tmp = folder / f"{name}.xlsx.tmp"
        rows_written[name] = write_scaled(tmp, tables[name], factor, keys)
        tmp.replace(folder / f"{name}.xlsx")
    seconds = round(time.perf_counter() - started, 2)
    marker.write_text(
        json.dumps({**stamp, "rows": rows_written, "offsets": family_offsets, "seconds": seconds}, indent=1)
    )
    log(f"  scaled inputs {source} x{factor}: {rows_written} rows in {seconds} s -> {folder}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=("sample", "real"), default="sample")
    parser.add_argument("--factor", default="2", help="an integer, or 'max'")
    parser.add_argument("--out", type=Path, default=CACHE_DIR)
    args = parser.parse_args()
    tables = load(source_dir(args.source))
    factor = max_factor(tables) if args.factor == "max" else int(args.factor)
    print(build(args.source, factor, args.out, tables))


if __name__ == "__main__":
    main()
