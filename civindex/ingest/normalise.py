"""Turn the text of a column into typed values, vectorised.

Text is NFKC-normalised (full-width digits and letters become half-width) and trimmed. Columns
with few distinct values — dates, ratings, units, districts, categories — are dictionary-encoded
and only the distinct values are parsed in Python; numbers are parsed with Arrow compute
kernels. Each parser returns the typed array and a mask of cells it could not read.
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from civindex import reference
from civindex.ingest.headers import header_key
from civindex.schema import RATING_LEVELS, REFERENCE_LISTS

BAD = object()  # a parser's answer for text it cannot read
# Stand-ins for "nothing" in Chinese office reports; they read as an empty cell.
PLACEHOLDERS = {"-", "--", "—", "——", "/", "无", "n/a", "na", "null", "none", "#n/a"}
TOTAL_ROW = r"^\s*(合\s*计|总\s*计|小\s*计|(?i:total|subtotal)(?:$|[^a-z]))"
NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
DATE_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:(?:[-/.月]\s*(\d{1,2})\s*日?)|月)?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")
EXCEL_SERIAL = re.compile(r"^(\d{5})(\.\d+)?$")
EXCEL_EPOCH = date(1899, 12, 30)
YEARS = (1990, 2100)


# Characters NFKC changes that turn up in office files: full-width forms, the ideographic and
# no-break spaces, circled numbers. A column without any skips the (costly) normalisation.
COMPATIBILITY = r"[\x{00A0}\x{2000}-\x{200B}\x{2150}-\x{24FF}\x{3000}\x{FF01}-\x{FFEE}]"
PLACEHOLDER_SET = pa.array(sorted({v for p in PLACEHOLDERS for v in (p, p.upper(), p.title())}))
SAMPLE = 10_000
WORKERS = min(os.cpu_count() or 1, 8)


def _clean_text(values: pa.Array, always_nfkc: bool) -> pa.Array:
    if always_nfkc or pc.any(pc.match_substring_regex(values, COMPATIBILITY)).as_py():
        values = pc.utf8_normalize(values, "NFKC")
    text = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.is_in(text, value_set=PLACEHOLDER_SET), "", text)


def _dictionary(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(distinct values, index of each value into them), without copying the strings."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.Array):
        return encoded.dictionary, encoded.indices
    encoded = encoded.unify_dictionaries()
    if encoded.num_chunks == 0:
        return pa.array([], pa.string()), pa.array([], pa.int32())
    indices = pa.chunked_array([c.indices for c in encoded.chunks], pa.int32())
    return encoded.chunk(0).dictionary, indices.combine_chunks()


@dataclass
class Cells:
    """A column's cleaned text. With few distinct values (units, dates, ratings) only those are
    kept, with an index per row, so each is cleaned and parsed once and no string is copied."""

    dictionary: pa.Array | None = None
    indices: pa.Array | None = None
    plain: pa.Array | None = None

    @property
    def values(self) -> pa.Array:
        if self.plain is None:
            self.plain = self.dictionary.take(self.indices)
        return self.plain

    def empty(self) -> np.ndarray:
        if self.dictionary is not None:
            return is_empty(self.dictionary)[self.indices.to_numpy(zero_copy_only=False)]
        return is_empty(self.plain)


def cells(values: pa.Array | pa.ChunkedArray, keep: np.ndarray | None = None) -> Cells:
    """NFKC-normalised, trimmed text of the rows in `keep` (all when None); placeholders for
    "nothing" become empty."""
    sample = values.slice(0, SAMPLE)
    if len(values) > SAMPLE and pc.count_distinct(sample).as_py() > len(sample) // 2:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if keep is not None:
            values = values.take(pa.array(keep, pa.int64()))
        return Cells(plain=_clean_text(values, always_nfkc=False))
    dictionary, indices = _dictionary(values)
    if keep is not None:
        indices = indices.take(pa.array(keep, pa.int64()))
    return Cells(_clean_text(dictionary, always_nfkc=True), indices)


def clean(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return cells(values).values


def parallel_map(function: Callable, items: list) -> list:
    """`function` over `items` on every core: Arrow kernels release the GIL."""
    if len(items) < 2 or WORKERS < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(function, items))


def is_empty(values: pa.Array) -> np.ndarray:
    return pc.equal(values, "").to_numpy(zero_copy_only=False)


def blank_and_total_rows(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """Rows where every cell is empty (or only spaces), and rows whose first non-empty cell
    says 合计, 总计 or 小计 (or Total); the text of a column is matched only for the rows whose
    earlier cells were all empty."""
    if not columns:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    rows = len(columns[0])
    # A cell is empty when it has no characters or only white space (utf8_is_space is false
    # for "", hence both).

    def cell_empty(column) -> np.ndarray:
        empty_text = pc.or_(pc.equal(pc.utf8_length(column), 0), pc.utf8_is_space(column))
        return empty_text.to_numpy(zero_copy_only=False)

    empty = parallel_map(cell_empty, columns)
    blank = np.logical_and.reduce(empty)

    totals = np.zeros(rows, dtype=bool)
    undecided = np.flatnonzero(~blank)  # rows whose cells so far were all empty
    for column, cell_empty in zip(columns, empty, strict=True):
        if not len(undecided):
            break
        picked = column if len(undecided) == rows else column.take(pa.array(undecided))
        marked = pc.match_substring_regex(picked, TOTAL_ROW).to_numpy(zero_copy_only=False)
        totals[undecided[marked]] = True
        undecided = undecided[cell_empty[undecided]]
    return blank, totals


def map_distinct(
    values: pa.Array | Cells, parse: Callable[[str], object], type_: pa.DataType
) -> tuple[pa.Array, np.ndarray]:
    """Parse each distinct value once; empty text gives null. Returns (array, bad mask)."""
    if isinstance(values, Cells) and values.dictionary is not None:
        dictionary, indices = values.dictionary, values.indices
    else:
        dictionary, indices = _dictionary(values.values if isinstance(values, Cells) else values)
    answers = [None if text == "" else parse(text) for text in dictionary.to_pylist()]
    bad_answer = np.array([a is BAD for a in answers], dtype=bool)
    typed = pa.array([None if a is BAD else a for a in answers], type_)
    return typed.take(indices), bad_answer[indices.to_numpy(zero_copy_only=False)]


@dataclass
class Numbers:
    values: pa.Array  # float64, null where empty or unreadable
    percent: np.ndarray  # the cell was written as a percentage (value already divided by 100)
    bad: np.ndarray


def numbers_of(values: Cells) -> Numbers:
    """`numbers` of a column's cells: a column with few distinct values (counts, scores) is
    parsed once per distinct value, not once per row."""
    if values.dictionary is None:
        return numbers(values.values)
    parsed = numbers(values.dictionary)
    rows = values.indices.to_numpy(zero_copy_only=False)
    return Numbers(parsed.values.take(values.indices), parsed.percent[rows], parsed.bad[rows])


def numbers(values: pa.Array) -> Numbers:
    """1,234 · 1 234 · ９５.３% · 12.0 · -3; thousands separators dropped, % divided out."""
    text = pc.replace_substring_regex(values, r"[,\s']", "")
    percent = pc.ends_with(text, "%")
    text = pc.if_else(percent, pc.utf8_slice_codeunits(text, 0, -1), text)
    readable = pc.match_substring_regex(text, NUMBER)
    empty = pc.equal(text, "")
    parsed = pc.cast(pc.if_else(readable, text, pa.scalar(None, pa.string())), pa.float64())
    parsed = pc.if_else(percent, pc.divide(parsed, 100.0), parsed)
    bad = pc.and_(pc.invert(readable), pc.invert(empty))
    return Numbers(
        parsed,
        percent.to_numpy(zero_copy_only=False) & ~empty.to_numpy(zero_copy_only=False),
        bad.to_numpy(zero_copy_only=False),
    )


def parse_date(text: str, month_only: bool = False):
    """2024-03 · 2024/3/5 · 2024年3月 · 2024年3月5日 · 202403 · 20240305 · Excel serial 45352.
    A month alone means its first day; `month_only` truncates any date to its month."""
    text = text.strip()
    year = month = None
    day = 1
    if (match := DATE_YMD.match(text)) or (match := DATE_COMPACT.match(text)):
        year, month = int(match.group(1)), int(match.group(2))
        day = int(match.group(3) or 1)
    elif match := EXCEL_SERIAL.match(text):
        serial = int(match.group(1))
        if not 20000 <= serial <= 80000:
            return BAD
        value = EXCEL_EPOCH + timedelta(days=serial)
        return value.replace(day=1) if month_only else value
    else:
        return BAD
    if not YEARS[0] <= year <= YEARS[1]:
        return BAD
    try:
        value = date(year, month, day)
    except ValueError:
        return BAD
    return value.replace(day=1) if month_only else value


def dates(values: pa.Array | Cells, month_only: bool = False):
    return map_distinct(values, lambda s: parse_date(s, month_only), pa.date32())


RATING_LABELS = {
    header_key(label): level for level, labels in RATING_LEVELS.items() for label in labels
}
RATING_NUMBER = re.compile(r"^(\d+)(?:\.0+)?(?:分|星)?$")


def parse_rating(text: str):
    """5 · 5分 · 5星 · 非常满意 … 非常不满意 · ★★★★ (☆ marks an empty star).
    Out-of-range numbers are returned as read, for the range check to name them."""
    key = header_key(text)
    if key in RATING_LABELS:
        return RATING_LABELS[key]
    if key and set(key) <= {"★", "☆"}:
        stars = key.count("★")
        return stars if stars else BAD
    if match := RATING_NUMBER.match(key):
        return int(match.group(1))
    return BAD


def ratings(values: pa.Array | Cells):
    return map_distinct(values, parse_rating, pa.int64())


class Lookup:
    """Codes of a reference list by code, full name, short name or English name (and a few
    common variants), ignoring case, spaces and full-width forms; close matches for the rest."""

    def __init__(self, kind: str, root: Path | None = None):
        self.kind = kind
        frame = reference.load(kind, root)
        code_column, name_columns = REFERENCE_LISTS[kind]
        self.names = dict(zip(frame[code_column], frame[name_columns[0]], strict=True))
        self.frame = frame
        forms: dict[str, set[str]] = {}
        self.display: dict[str, str] = {}  # form key -> the text to suggest

        def add(text, code, shown=None):
            key = header_key(text)
            if key:
                forms.setdefault(key, set()).add(code)
                self.display.setdefault(key, shown or str(text))

        for row in frame.to_dict("records"):
            code = row[code_column]
            add(code, code)
            for column in name_columns:
                if row.get(column):
                    add(row[column], code)
            for variant in _variants(kind, row):
                add(variant, code, row[name_columns[0]])
        self.codes = {k: next(iter(v)) for k, v in forms.items() if len(v) == 1}
        self.ambiguous = {k: sorted(v) for k, v in forms.items() if len(v) > 1}

    def code(self, text: str):
        key = header_key(text)
        return self.codes.get(key, BAD)

    def suggest(self, text: str) -> str | None:
        key = header_key(text)
        if key in self.ambiguous:
            return "、".join(self.names[c] for c in self.ambiguous[key])
        found = difflib.get_close_matches(key, list(self.display), n=1, cutoff=0.5)
        return self.display[found[0]] if found else None

    def map(self, values: pa.Array | Cells):
        return map_distinct(values, self.code, pa.string())


def _variants(kind: str, row: dict) -> list[str]:
    if kind == "units":
        name = row["unit_name"]
        return ["省" + name.removeprefix("福建省")] if name.startswith("福建省") else []
    if kind == "districts":
        return ["福州市" + row["district_name"], "福州" + row["district_name"]]
    if kind == "categories":
        name, short = row["category_name"], row["category_short_name"]
        return [name.removesuffix("共建"), short + "共建", name.removeprefix("文明")]
    return []


class Choices:
    """A closed list of allowed texts (channels, round types, methods)."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = allowed
        self.by_key = {header_key(a): a for a in allowed}

    def value(self, text: str):
        return self.by_key.get(header_key(text), BAD)

    def suggest(self, text: str) -> str | None:
        key = header_key(text)
        containing = [a for k, a in self.by_key.items() if key and (key in k or k in key)]
        if len(containing) == 1:
            return containing[0]
        found = difflib.get_close_matches(key, list(self.by_key), n=1, cutoff=0.5)
        return self.by_key[found[0]] if found else None

    def map(self, values: pa.Array | Cells):
        return map_distinct(values, self.value, pa.string())


def text(values: pa.Array) -> pa.Array:
    """Free text (window names, round names): trimmed and NFKC; empty becomes null."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value)
