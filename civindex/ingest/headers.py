"""Map a file's header row to the canonical columns of a dataset.

A header matches a column when, after NFKC (full-width forms to half-width), case folding and
removing every space and a required-marker `*`, it equals the column's canonical name, its
Chinese or English label or one of its aliases (all from civindex.schema). A trailing unit in
brackets, 志愿服务时长(小时), is dropped when the plain name matches. The analyst can map any
column by hand; a manual mapping wins over the automatic one.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from civindex.schema import DATASETS, RATING_LEVELS, STATED_RATE_HEADERS, Dataset, dataset

UNIT_SUFFIX = re.compile(r"\((小时|h|元|人次|次|件|户|个|分|人|项|家)\)$")
IGNORE = ""  # a manual mapping to this value ignores the column


def header_key(text: object) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return re.sub(r"\s+", "", text).strip("*")


def _column_keys(ds: Dataset) -> dict[str, tuple[str, int]]:
    """header key -> (column name, priority); a lower priority is a more specific header."""
    keys: dict[str, tuple[str, int]] = {}
    for column in ds.columns:
        for priority, header in enumerate(column.headers):
            keys.setdefault(header_key(header), (column.name, priority))
    return keys


_COLUMN_KEYS = {name: _column_keys(ds) for name, ds in DATASETS.items()}
LEVEL_KEYS = {
    header_key(label): level
    for level, labels in RATING_LEVELS.items()
    for label in labels
    if header_key(label)
}
STATED_RATE_KEYS = {header_key(h) for h in STATED_RATE_HEADERS}


def _lookup(keys: dict, text: str):
    key = header_key(text)
    if key in keys:
        return keys[key]
    plain = UNIT_SUFFIX.sub("", key)
    return keys.get(plain) if plain != key else None


def known_header_score(cells: list[str]) -> int:
    """How many cells are headers of some dataset: finds the header row below a title."""
    score = 0
    for cell in cells:
        if str(cell).strip():
            score += header_key(cell) in LEVEL_KEYS or any(
                _lookup(_COLUMN_KEYS[name], cell) for name in DATASETS
            )
    return score


@dataclass
class HeaderMatch:
    dataset: str
    headers: list[str]
    columns: dict[str, int] = field(default_factory=dict)  # canonical name -> source index
    levels: dict[int, int] = field(default_factory=dict)  # rating level -> source index
    stated_rate: int | None = None  # level tables: a 满意率 column to cross-check
    stated_total: int | None = None  # level tables: a 评价数 column to cross-check
    unmatched: list[int] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    # canonical name -> the source column kept for it, also where a level table has made it
    # the stated rate or total: what a duplicate is reported beside
    kept: dict[str, int] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)
    manual: dict[str, str] = field(default_factory=dict)

    @property
    def is_level_table(self) -> bool:
        return len(self.levels) >= 2

    def source_of(self, index: int) -> str | None:
        """What a source column became: a canonical name, `level:N`, or None."""
        for name, source in self.columns.items():
            if source == index:
                return name
        for level, source in self.levels.items():
            if source == index:
                return f"level:{level}"
        if index == self.stated_rate:
            return "stated_rate"
        if index == self.stated_total:
            return "stated_total"
        return None


def _header_priority(ds: Dataset, name: str, text: str) -> int:
    keys = [header_key(h) for h in ds.column(name).headers]
    key = header_key(text)
    plain = UNIT_SUFFIX.sub("", key)
    return keys.index(key) if key in keys else keys.index(plain) if plain in keys else 99


def match_headers(
    headers: list[str], dataset_name: str, mapping: dict[str, str] | None = None
) -> HeaderMatch:
    """Match source headers to `dataset_name`'s columns; `mapping` is header text -> column name
    (or "" to ignore that column), set by the analyst for what was not recognised."""
    ds = dataset(dataset_name)
    keys = _column_keys(ds)
    manual = {header_key(k): v for k, v in (mapping or {}).items()}
    for target in manual.values():
        if target != IGNORE and target not in ds.column_names:
            raise ValueError(f"{dataset_name} has no column {target!r}")
    match = HeaderMatch(dataset_name, list(headers), manual=dict(mapping or {}))
    candidates: dict[str, list[tuple[int, int]]] = {}
    level_mode = ds.name == "satisfaction"
    for index, text in enumerate(headers):
        key = header_key(text)
        if key in manual:
            if manual[key] == IGNORE:
                match.ignored.append(index)
            else:
                candidates.setdefault(manual[key], []).append((-1, index))
            continue
        found = _lookup(keys, text)
        if found:
            name, priority = found
            candidates.setdefault(name, []).append((priority, index))
        elif level_mode and key in LEVEL_KEYS and LEVEL_KEYS[key] not in match.levels:
            match.levels[LEVEL_KEYS[key]] = index
        elif level_mode and key in STATED_RATE_KEYS and match.stated_rate is None:
            match.stated_rate = index
        elif key:
            match.unmatched.append(index)
        else:
            match.unmatched.append(index)  # a blank header; kept only if the column has values
    for name, found in candidates.items():
        found.sort()
        match.columns[name] = found[0][1]
        match.duplicates.extend((index, name) for _priority, index in found[1:])
    match.kept = dict(match.columns)
    if match.is_level_table:
        # In a level-count table the overall-rating and count columns state totals to check.
        if "rating_overall" in match.columns:
            rate = match.columns.pop("rating_overall")
            if match.stated_rate is None:
                match.stated_rate = rate
            else:
                match.unmatched.append(rate)
        if "response_count" in match.columns:
            match.stated_total = match.columns.pop("response_count")
    elif match.levels:
        match.unmatched.extend(match.levels.values())
        match.levels = {}
    if match.stated_rate is not None and not match.is_level_table:
        match.unmatched.append(match.stated_rate)
        match.stated_rate = None
    match.unmatched.sort()
    return match


# Columns an upload may leave out because the pipeline can fill them in.
DEFAULTABLE = {
    "index_results": {"max_score", "round_type"},
}


def missing_columns(match: HeaderMatch) -> list[str]:
    ds = dataset(match.dataset)
    missing = []
    for column in ds.columns:
        if column.nullable or column.name in match.columns:
            continue
        if column.name in DEFAULTABLE.get(ds.name, set()):
            continue
        if column.name == "rating_overall" and match.is_level_table:
            continue
        missing.append(column.name)
    return missing


def likely_dataset(headers: list[str], chosen: str) -> str | None:
    """Another dataset this file plainly belongs to, when it is not `chosen`."""
    if not missing_columns(match_headers(headers, chosen)):
        return None
    best, best_found = None, 0
    for name in DATASETS:
        if name == chosen:
            continue
        match = match_headers(headers, name)
        if missing_columns(match):
            continue
        found = len(match.columns) + len(match.levels)
        if found > best_found:
            best, best_found = name, found
    return best


def close_header(text: str, dataset_name: str) -> str | None:
    """The dataset's Chinese label closest to an unrecognised header."""
    ds = dataset(dataset_name)
    labels = {header_key(h): c.label_zh for c in ds.columns for h in c.headers}
    found = difflib.get_close_matches(header_key(text), list(labels), n=1, cutoff=0.6)
    return labels[found[0]] if found else None
