"""Read an uploaded office file into string columns with their Excel row numbers.

CSV text is decoded BOM → strict UTF-8 → strict GB18030 (what Chinese Excel and WPS write
without a BOM); anything else is refused rather than guessed as latin-1. The decoded text is
transcoded to UTF-8 in chunks and parsed by pyarrow's multi-threaded CSV reader, every column
as a string, so a million rows never become Python objects. `.xlsx` and `.xls` are read with
python-calamine. In both, the header row is found below any title rows, and a row number is
the one Excel shows for that row (the header itself is row 1 when nothing is above it).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import PurePath

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from civindex.i18n import t

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ""}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
DELIMITERS = (",", "\t", ";", "|")
HEADER_SCAN_ROWS = 20
HEAD_BYTES = 256 * 1024
CHUNK_BYTES = 8 * 1024 * 1024
EXCEL_CHUNK_ROWS = 65_536
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
MAX_COLUMNS = 1000  # survey files have dozens; a 200 MB header line would have millions
XLSX_MAX_UNPACKED = 1 << 30  # the XML of a full sheet of ordinary width
XLSX_MAX_RATIO = 100  # office XML deflates 5-20×; a zip bomb thousands of times
XLSX_MAX_ENTRIES = 10_000

Progress = Callable[[float, str], None]


class ReadError(Exception):
    """A file that cannot be read as a table; the message says what to do."""

    def __init__(self, code: str, **values):
        self.code = code
        self.values = values
        self.suggestion = t(f"ingest.read.{code}.fix", **values)
        super().__init__(t(f"ingest.read.{code}", **values))


@dataclass
class RawTable:
    headers: list[str]
    columns: list[pa.Array | pa.ChunkedArray]  # one string column per header, "" when empty
    row_numbers: np.ndarray  # the Excel row of each record
    header_row: int
    kind: str
    letters: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None
    bad_rows: list[tuple[int, int, int]] = field(default_factory=list)  # row, fields, expected

    @property
    def num_rows(self) -> int:
        return len(self.row_numbers)


def _noop(_fraction: float, _message: str) -> None:
    pass


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def file_kind(content: bytes, name: str) -> str:
    """csv, xlsx or xls, from the content first; the name only decides what a mismatch means."""
    suffix = PurePath(name or "").suffix.lower()
    if not content:
        raise ReadError("empty")
    if content.startswith(ZIP_MAGIC):
        return "xlsx"
    if content.startswith(OLE_MAGIC):
        return "xls"
    if suffix in EXCEL_SUFFIXES:
        raise ReadError("fake_excel", suffix=suffix)
    if suffix not in TEXT_SUFFIXES:
        raise ReadError("unsupported", suffix=suffix)
    return "csv"


def sheet_names(content: bytes, name: str) -> list[str]:
    """Worksheets of an Excel file, visible ones first; [] for CSV or an unreadable file."""
    try:
        if file_kind(content, name) == "csv":
            return []
        return _worksheets(_workbook(content, file_kind(content, name)))
    except ReadError:
        return []


def read(
    content: bytes,
    name: str,
    *,
    header_score: Callable[[list[str]], int],
    sheet: str | None = None,
    progress: Progress | None = None,
) -> RawTable:
    """The table in `content`; `header_score(cells)` rates a candidate header row."""
    progress = progress or _noop
    kind = file_kind(content, name)
    if kind == "csv":
        return _read_csv(content, header_score, progress)
    return _read_excel(content, kind, sheet, header_score, progress)


def _best_header(rows: list[list[str]], header_score) -> int:
    scores = [header_score(row) for row in rows]
    if scores and max(scores) > 0:
        return scores.index(max(scores))
    for index, row in enumerate(rows):
        if any(str(cell).strip() for cell in row):
            return index
    raise ReadError("no_header")


# --- CSV -------------------------------------------------------------------------------------


def _error_line(content: bytes, encoding: str, start: int) -> int:
    """The line of the first byte that does not decode: a second pass, only once one failed."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for offset in range(start, len(content), CHUNK_BYTES):
        try:
            decoder.decode(
                content[offset : offset + CHUNK_BYTES], offset + CHUNK_BYTES >= len(content)
            )
        except UnicodeDecodeError as error:
            return content.count(b"\n", 0, offset + max(error.start, 0)) + 1
    return 1


def _head(content: bytes, encoding: str, start: int) -> str:
    """The first HEAD_BYTES decoded strictly; a character cut at the end is left out."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    return decoder.decode(content[start : start + HEAD_BYTES], start + HEAD_BYTES >= len(content))


def detect(content: bytes) -> tuple[str, int, str]:
    """(codec, bytes of BOM to skip, decoded head): a BOM decides; otherwise strict UTF-8, then
    strict GB18030 (what Chinese Excel and WPS write). Never a lenient single-byte guess.
    The rest of the file is decoded by the CSV reader, strictly; see `_read_csv`."""
    boms = (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    for bom, encoding in boms:
        if content.startswith(bom):
            try:
                return encoding, len(bom), _head(content, encoding, len(bom))
            except UnicodeDecodeError:
                raise ReadError("encoding", line=_error_line(content, encoding, len(bom))) from None
    if CONTROL.search(content[:65536]) or b"\x00" in content:
        raise ReadError("binary")
    for encoding in ("utf-8", "gb18030"):
        try:
            return encoding, 0, _head(content, encoding, 0)
        except UnicodeDecodeError:
            continue
    raise ReadError("encoding", line=_error_line(content, "gb18030", 0))


ENCODING_NAMES = {"utf-16-le": "utf-16", "utf-16-be": "utf-16"}


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the most lines into the same number (> 1) of fields."""
    sample = [line for line in lines if line.strip()][:50]
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        if not counts:
            continue
        common = max(set(counts), key=counts.count)
        if common < 2:
            continue
        score = counts.count(common) / len(counts) + common / 1000
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes, header_score, progress: Progress) -> RawTable:
    progress(0.05, t("ingest.progress.decode"))
    encoding, bom, head = detect(content)
    lines = LINE.findall(head)
    if len(content) - bom > HEAD_BYTES and lines and not lines[-1].endswith(("\n", "\r")):
        lines = lines[:-1]  # cut in the middle
    if not any(line.strip() for line in lines):
        raise ReadError("empty")
    delimiter = _sniff_delimiter(lines)

    consumed = [0]

    def counting(source):
        for line in source:
            consumed[0] += 1
            yield line

    reader = csv.reader(counting(lines), delimiter=delimiter)
    records, ends = [], []
    for record in reader:
        records.append(record)
        ends.append(consumed[0])
        if len(records) >= HEADER_SCAN_ROWS:
            break
    header_index = _best_header(records, header_score)
    headers = [cell.strip() for cell in records[header_index]]
    if len(headers) > MAX_COLUMNS:
        raise ReadError("too_many_columns", count=len(headers), limit=MAX_COLUMNS)
    # The text up to the header re-encodes to exactly the bytes it was decoded from.
    offset = bom + len("".join(lines[: ends[header_index]]).encode(encoding))
    header_row = header_index + 1
    names = [f"c{i}" for i in range(len(headers))]
    progress(0.1, t("ingest.progress.parse"))

    invalid: list = []

    def parse(codec: str, use_threads: bool) -> pa.Table:
        invalid.clear()

        def on_invalid(row):
            invalid.append((row.number, row.actual_columns, row.expected_columns))
            return "skip"

        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(content)[offset:]),
            read_options=pacsv.ReadOptions(
                column_names=names,
                use_threads=use_threads,
                # pyarrow decodes other encodings (strictly) on a read-ahead thread.
                encoding="utf8" if codec == "utf-8" else codec,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=b'"' in content,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    def parse_all(use_threads: bool) -> pa.Table:
        nonlocal encoding
        try:
            return parse(encoding, use_threads)
        except UnicodeDecodeError:
            raise ReadError("encoding", line=_error_line(content, encoding, bom)) from None
        except pa.ArrowInvalid as error:
            if "utf8" not in str(error).lower() or encoding != "utf-8" or bom:
                detail = str(error).splitlines()[0][:200]
                raise ReadError("malformed", detail=detail) from None
            # Valid UTF-8 at the start but not further on: GB18030 if the start was plain
            # ASCII (the same in both); a file mixing encodings is refused.
            if not head.isascii():
                raise ReadError("encoding", line=_error_line(content, "utf-8", 0)) from None
            encoding = "gb18030"
            return parse_all(use_threads)

    if len(content) <= offset:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    else:
        table = parse_all(True)
        if invalid:  # rare: read again on one thread to learn the line numbers of bad rows
            table = parse_all(False)
    bad_rows = [
        (header_row + (number or 0), actual, expected) for number, actual, expected in invalid
    ]
    total = table.num_rows + len(bad_rows)
    rows = np.arange(header_row + 1, header_row + 1 + total, dtype=np.int64)
    if bad_rows:
        rows = rows[~np.isin(rows, [r for r, _a, _e in bad_rows])][: table.num_rows]
    progress(0.45, t("ingest.progress.parse"))
    return RawTable(
        headers=headers,
        columns=[table.column(n) for n in names],  # chunked; cleaning combines what it uses
        row_numbers=rows,
        header_row=header_row,
        kind="csv",
        letters=[column_letter(i) for i in range(len(headers))],
        encoding=ENCODING_NAMES.get(
            encoding, "utf-8-sig" if bom and encoding == "utf-8" else encoding
        ),
        delimiter=delimiter,
        bad_rows=bad_rows,
    )


# --- Excel -----------------------------------------------------------------------------------


def _check_zip(content: bytes) -> None:
    """Refuse a zip bomb from the sizes its directory declares (calamine reads no further
    than those) before anything is unpacked; the entry count comes first, from the end record."""
    end = content.rfind(b"PK\x05\x06", max(0, len(content) - 65_557))
    if end >= 0 and int.from_bytes(content[end + 10 : end + 12], "little") > XLSX_MAX_ENTRIES:
        raise ReadError("zip_bomb", size=len(content) >> 20)
    try:
        entries = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError, NotImplementedError) as error:
        raise ReadError("bad_xlsx", detail=str(error)[:200]) from None
    unpacked = sum(entry.file_size for entry in entries)
    if (
        len(entries) > XLSX_MAX_ENTRIES
        or unpacked > XLSX_MAX_UNPACKED
        or unpacked > max(XLSX_MAX_RATIO * len(content), 64 << 20)
    ):
        raise ReadError("zip_bomb", size=unpacked >> 20)


def _workbook(content: bytes, kind: str):
    from python_calamine import CalamineWorkbook

    if kind == "xlsx":
        _check_zip(content)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as error:  # calamine raises several types for corrupt or encrypted files
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ReadError("bad_xls" if kind == "xls" else "bad_xlsx", detail=detail) from None


def _worksheets(workbook) -> list[str]:
    sheets = [m for m in workbook.sheets_metadata if str(m.typ).endswith("WorkSheet")]
    visible = [m.name for m in sheets if str(m.visible).endswith("Visible")]
    return visible + [m.name for m in sheets if m.name not in visible]


def cell_text(value) -> str:
    """A cell as the text the analyst typed: 12 not 12.0, dates in ISO form."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _read_excel(
    content: bytes, kind: str, sheet: str | None, header_score, progress: Progress
) -> RawTable:
    workbook = _workbook(content, kind)
    sheets = _worksheets(workbook)
    if not sheets:
        raise ReadError("no_sheets")
    if sheet is None:
        sheet = sheets[0]
    elif sheet not in sheets:
        raise ReadError("sheet_missing", sheet=sheet, sheets="、".join(sheets))
    try:
        worksheet = workbook.get_sheet_by_name(sheet)
        rows = iter(worksheet.iter_rows())
        first_column = worksheet.start[1] if worksheet.start else 0
        total = max(worksheet.height, 1)
    except Exception as error:
        raise ReadError("bad_xlsx", detail=str(error)[:200]) from None
    head, filled = [], 0
    for row in rows:
        head.append([cell_text(v) for v in row])
        filled += any(head[-1])  # leading empty rows do not use up the scan
        if filled >= HEADER_SCAN_ROWS:
            break
    if not head:
        raise ReadError("empty")
    header_index = _best_header(head, header_score)
    named = sum(1 for cell in head[header_index] if cell.strip())
    if named > MAX_COLUMNS:
        raise ReadError("too_many_columns", count=named, limit=MAX_COLUMNS)
    width = max(len(r) for r in head)
    headers = [c.strip() for c in head[header_index]] + [""] * (width - len(head[header_index]))

    chunks: list[list[list[str]]] = [[] for _ in range(width)]
    columns: list[list[pa.Array]] = [[] for _ in range(width)]
    count = 0

    def flush():
        for i in range(width):
            columns[i].append(pa.array(chunks[i], pa.string()))
            chunks[i] = []

    def add(row_values):
        nonlocal count
        for i in range(width):
            chunks[i].append(row_values[i] if i < len(row_values) else "")
        count += 1
        if count % EXCEL_CHUNK_ROWS == 0:
            flush()
            progress(0.45 * count / total, t("ingest.progress.parse"))

    for row in head[header_index + 1 :]:
        add(row)
    for row in rows:
        add([cell_text(v) for v in row])
    flush()
    first_row = header_index + 2
    return RawTable(
        headers=headers,
        columns=[pa.concat_arrays(parts) for parts in columns],
        row_numbers=np.arange(first_row, first_row + count, dtype=np.int64),
        header_row=header_index + 1,
        kind=kind,
        letters=[column_letter(first_column + i) for i in range(width)],
        sheets=sheets,
        sheet=sheet,
    )
