"""From string columns to the dataset's typed rows, reporting every problem on the way.

Checks come from civindex.schema: required columns, types, ranges, reference lists, allowed
values and keys. Cross-field rules: score ≤ max_score; no key (or response_id) twice in a
file; a level-count table's stated 满意率 and total agree with its counts. Rows are dropped
only when blank or a 合计/总计/小计 line; a row with an error stays, and blocks the publish.

A level-count row becomes one weighted row per non-zero level, with a response_id made from
its unit, district, window, channel, date and level (`agg:…`), so a corrected report for the
same window and month shows up as an overlap instead of being counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from civindex import config, reference
from civindex.i18n import t
from civindex.ingest import normalise as norm
from civindex.ingest.headers import HeaderMatch, close_header
from civindex.ingest.read import RawTable
from civindex.ingest.report import ERROR, INFO, LISTED_PER_CHECK, WARNING, Report, Text
from civindex.schema import RATING_LEVELS, Column, dataset

LEVEL_KEY = ("surveyed_on", "unit_code", "district_code", "window_name", "channel")
RATE_TOLERANCE = 0.001  # a stated 满意率 may be rounded to 0.1 percentage point


@dataclass
class Built:
    table: pa.Table  # every column of the dataset, typed; nulls where a value was missing
    rows: np.ndarray  # the Excel row each table row came from
    skipped_blank: int
    skipped_totals: int
    is_level_table: bool


def _numpy(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _fmt(number: float) -> str:
    return f"{number:g}"


class Builder:
    def __init__(self, raw: RawTable, match: HeaderMatch, report: Report, root: Path | None):
        self.raw = raw
        self.match = match
        self.report = report
        self.root = root
        self.ds = dataset(match.dataset)
        self.values: dict[str, pa.Array] = {}
        self.keep = np.arange(raw.num_rows)
        self.rows = raw.row_numbers
        self._cells: dict[int, norm.Cells] = {}
        self.score_percent: np.ndarray | None = None  # 得分 cells written as a percentage

    # --- helpers -----------------------------------------------------------------------------

    def label(self, index: int | None, name: str | None = None) -> str:
        """How the report names a column: the header the analyst wrote, else the schema label."""
        if index is not None:
            header = self.raw.headers[index]
            return header or t("ingest.column_letter", letter=self.raw.letters[index])
        return self.ds.column(name).label_zh if name else ""

    def raw_values(self, index: int, positions: np.ndarray) -> list[str]:
        picked = self.keep[positions[:LISTED_PER_CHECK]]
        return self.raw.columns[index].take(pa.array(picked, pa.int64())).to_pylist()

    def cells(self, index: int) -> norm.Cells:
        """The cleaned text of a source column, for the rows kept."""
        if index not in self._cells:
            keep = None if len(self.keep) == self.raw.num_rows else self.keep
            self._cells[index] = norm.cells(self.raw.columns[index], keep)
        return self._cells[index]

    def clean_columns(self) -> None:
        """Clean every column the dataset uses at once, on all cores."""
        match = self.match
        used = [*match.columns.values(), *match.levels.values()]
        used += [i for i in (match.stated_rate, match.stated_total) if i is not None]
        used = [i for i in dict.fromkeys(used) if i not in self._cells]
        keep = None if len(self.keep) == self.raw.num_rows else self.keep
        cleaned = norm.parallel_map(lambda i: norm.cells(self.raw.columns[i], keep), used)
        self._cells.update(zip(used, cleaned, strict=True))

    def cleaned(self, index: int) -> pa.Array:
        return self.cells(index).values

    def flag(
        self,
        mask: np.ndarray,
        index: int | None,
        problem: Text,
        *,
        name: str | None = None,
        suggestion: Text = "",
        severity: str = ERROR,
        values: list[str] | None = None,
    ) -> None:
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        if values is None:
            values = (
                self.raw_values(index, positions)
                if index is not None
                else [""] * min(len(positions), LISTED_PER_CHECK)
            )
        self.report.add_rows(
            severity,
            self.rows[positions],
            values,
            column=self.label(index, name),
            problem=problem,
            suggestion=suggestion,
        )

    # --- steps -------------------------------------------------------------------------------

    def drop_blank_and_total_rows(self) -> tuple[int, int]:
        raw = self.raw
        if raw.num_rows == 0:
            return 0, 0
        blank, totals = norm.blank_and_total_rows(raw.columns)
        if totals.any():
            self.report.add_rows(
                INFO,
                raw.row_numbers[totals],
                [""] * int(totals.sum()),
                column="",
                problem=t("ingest.problem.total_row"),
            )
        self.keep = np.flatnonzero(~blank & ~totals)
        self.rows = raw.row_numbers[self.keep]
        return int(blank.sum()), int(totals.sum())

    def report_unused_columns(self) -> None:
        for index in self.match.unmatched:
            if not self.raw.headers[index] and self.cells(index).empty().all():
                continue  # an empty column past the table's edge
            guess = close_header(self.raw.headers[index], self.ds.name)
            self.report.add(
                WARNING,
                t("ingest.problem.unmatched_column"),
                row=self.raw.header_row,
                column=self.label(index),
                suggestion=t("ingest.suggest.did_you_mean", value=guess) if guess else "",
            )
        for index, name in self.match.duplicates:
            self.report.add(
                WARNING,
                t(
                    "ingest.problem.duplicate_column",
                    other=self.label(self.match.kept[name]),
                    label=self.ds.column(name).label_zh,
                ),
                row=self.raw.header_row,
                column=self.label(index),
            )

    def parse_column(self, column: Column, index: int) -> pa.Array:
        values = self.cells(index)
        empty = values.empty()
        if column.reference:
            lookup = _lookup(column.reference, self.root)
            codes, bad = lookup.map(values)
            problem = t(f"ingest.problem.unknown_{column.reference}")
            self.flag(bad, index, problem, suggestion=_suggester(lookup))
            result = codes
        elif column.choices:
            choices = norm.Choices(column.choices)
            result, bad = choices.map(values)
            allowed = "、".join(column.choices)
            self.flag(
                bad,
                index,
                t("ingest.problem.not_allowed", allowed=allowed),
                suggestion=_suggester(choices),
            )
        elif column.dtype == "date":
            result, bad = norm.dates(values, month_only=column.name == "period_month")
            self.flag(bad, index, t("ingest.problem.bad_date"), suggestion=t("ingest.suggest.date"))
        elif column.dtype == "int" and column.maximum == 5 and column.minimum == 1:
            result, bad = norm.ratings(values)
            self.flag(
                bad, index, t("ingest.problem.bad_rating"), suggestion=t("ingest.suggest.rating")
            )
        elif column.dtype in ("int", "float"):
            result = self.parse_number(column, index, values)
        else:
            result = norm.text(values.values)
        if not column.nullable:
            self.flag(empty, index, t("ingest.problem.required"))
        self.check_range(column, index, result)
        return result

    def parse_number(self, column: Column, index: int, values: norm.Cells | pa.Array) -> pa.Array:
        parsed = (norm.numbers_of if isinstance(values, norm.Cells) else norm.numbers)(values)
        self.flag(parsed.bad, index, t("ingest.problem.bad_number"))
        numbers = parsed.values
        # NaN, ±inf and 1e19 parse as floats but are no count, sum or score (and 1e19 would not
        # fit the int64 column); above 2**53 a double no longer holds every whole number.
        huge = ~_numpy(pc.fill_null(pc.less(pc.abs(numbers), 2.0**53), True))
        self.flag(huge, index, t("ingest.problem.number_too_large"))
        numbers = pc.if_else(pa.array(huge), None, numbers)
        if parsed.percent.any():
            if column.name == "score":
                # 得分 written as a score rate: the share of the indicator's full marks.
                self.score_percent = parsed.percent
            else:
                self.flag(parsed.percent, index, t("ingest.problem.percent"))
                numbers = pc.if_else(pa.array(parsed.percent), None, numbers)
        if column.dtype == "int":
            whole = pc.equal(numbers, pc.floor(numbers))
            fraction = ~_numpy(pc.fill_null(whole, True))
            self.flag(fraction, index, t("ingest.problem.not_integer"))
            numbers = pc.cast(pc.if_else(pa.array(fraction), None, numbers), pa.int64())
        return numbers

    def check_range(self, column: Column, index: int, values: pa.Array) -> None:
        if column.dtype not in ("int", "float"):
            return
        if column.minimum is not None:
            below = _numpy(pc.fill_null(pc.less(values, column.minimum), False))
            self.flag(below, index, t("ingest.problem.below", minimum=_fmt(column.minimum)))
        if column.maximum is not None:
            above = _numpy(pc.fill_null(pc.greater(values, column.maximum), False))
            problem = (
                t("ingest.problem.rating_range")
                if column.maximum == 5
                else t("ingest.problem.above", maximum=_fmt(column.maximum))
            )
            self.flag(above, index, problem)

    # --- defaults and dataset rules ------------------------------------------------------------

    def fill_defaults(self, n: int) -> None:
        name = self.ds.name
        if name == "participation":
            self.default_district(n)
        if name == "index_results":
            self.default_index_columns(n)
        if name == "satisfaction" and self.values.get("response_count") is None:
            self.values["response_count"] = pa.array(np.ones(n, dtype=np.int64))

    def default_district(self, n: int) -> None:
        units = reference.load("units", self.root)
        paired = dict(zip(units["unit_code"], units["paired_district_code"], strict=True))
        unit_codes = self.values.get("unit_code")
        if unit_codes is None:
            return
        district = self.values.get("district_code")
        if district is None:
            district = pa.nulls(n, pa.string())
        fill, _bad = norm.map_distinct(
            pc.fill_null(unit_codes, ""), lambda c: paired.get(c) or None, pa.string()
        )
        missing = _numpy(pc.and_(pc.is_null(district), pc.is_valid(unit_codes)))
        if missing.any():
            self.report.add(
                INFO,
                t("ingest.problem.district_defaulted", n=f"{int(missing.sum()):,}"),
                column=self.ds.column("district_code").label_zh,
            )
        self.values["district_code"] = pc.coalesce(district, fill)

    def default_index_columns(self, n: int) -> None:
        if self.values.get("max_score") is None and "indicator_code" in self.values:
            indicators = reference.load("indicators", self.root)
            points = dict(
                zip(
                    indicators["indicator_code"],
                    indicators["max_points"].astype(float),
                    strict=True,
                )
            )
            codes = pc.fill_null(self.values["indicator_code"], "")
            self.values["max_score"], _ = norm.map_distinct(codes, points.get, pa.float64())
            self.report.add(
                INFO,
                t("ingest.problem.max_score_defaulted"),
                column=self.ds.column("max_score").label_zh,
            )
        if self.values.get("round_type") is None and "round_name" in self.values:
            inferred, bad = norm.map_distinct(
                pc.fill_null(self.values["round_name"], ""), _round_type, pa.string()
            )
            self.values["round_type"] = inferred
            self.flag(
                bad,
                self.match.columns.get("round_name"),
                t("ingest.problem.round_type_unknown"),
                suggestion=t("ingest.suggest.round_type"),
            )
        if self.score_percent is not None and self.values.get("max_score") is not None:
            scaled = pc.multiply(self.values["score"], self.values["max_score"])
            share = pa.array(self.score_percent)
            self.values["score"] = pc.if_else(share, scaled, self.values["score"])
        if self.values.get("score") is not None and self.values.get("max_score") is not None:
            above = _numpy(
                pc.fill_null(pc.greater(self.values["score"], self.values["max_score"]), False)
            )
            maxima = _numpy(self.values["max_score"])
            self.flag(
                above,
                self.match.columns.get("score"),
                [
                    t("ingest.problem.score_above_max", max_score=_fmt(maxima[p]))
                    for p in np.flatnonzero(above)[:LISTED_PER_CHECK]
                ],
                name="score",
            )

    def expand_levels(self, n: int) -> np.ndarray:
        """A level-count table to one weighted row per (source row, rating level)."""
        counts: dict[int, np.ndarray] = {}
        for level, index in sorted(self.match.levels.items(), reverse=True):
            column = Column(f"level_{level}", "int", RATING_LEVELS[level][0], "", minimum=0)
            parsed = self.parse_number(column, index, self.cleaned(index))
            self.check_range(column, index, parsed)
            counts[level] = np.nan_to_num(
                _numpy(pc.if_else(pc.less(parsed, 0), 0, parsed)).astype(float)
            ).astype(np.int64)
        total = sum(counts.values())
        satisfied = sum(c for level, c in counts.items() if level >= 3)
        empty_rows = total == 0
        self.flag(
            empty_rows,
            None,
            t("ingest.problem.no_responses"),
            severity=WARNING,
        )
        if self.match.stated_total is not None:
            stated = norm.numbers(self.cleaned(self.match.stated_total)).values
            stated = _numpy(pc.fill_null(stated, -1.0)).astype(float)
            off = (stated >= 0) & (stated != total)
            self.flag(
                off,
                self.match.stated_total,
                [
                    t("ingest.problem.total_mismatch", total=f"{total[p]:,}")
                    for p in np.flatnonzero(off)[:LISTED_PER_CHECK]
                ],
                severity=WARNING,
            )
        if self.match.stated_rate is not None:
            parsed = norm.numbers(self.cleaned(self.match.stated_rate))
            stated = _numpy(pc.fill_null(parsed.values, np.nan)).astype(float)
            stated = np.where(~parsed.percent & (stated > 1), stated / 100, stated)
            computed = satisfied / np.maximum(total, 1)
            off = ~np.isnan(stated) & (total > 0)
            off &= np.abs(np.nan_to_num(stated) - computed) > RATE_TOLERANCE
            self.flag(
                off,
                self.match.stated_rate,
                [
                    t("ingest.problem.rate_mismatch", rate=f"{computed[p]:.1%}")
                    for p in np.flatnonzero(off)[:LISTED_PER_CHECK]
                ],
                severity=WARNING,
            )
        return np.stack([counts.get(level, np.zeros(n, np.int64)) for level in (5, 4, 3, 2, 1)])

    def level_rows(self, counts: np.ndarray, n: int) -> tuple[dict[str, pa.Array], np.ndarray]:
        parts, sources = [], []
        for position, level in enumerate((5, 4, 3, 2, 1)):
            selected = np.flatnonzero(counts[position] > 0)
            sources.append(selected)
            parts.append((level, selected, counts[position][selected]))
        order_source = np.concatenate(sources) if sources else np.zeros(0, np.int64)
        order_level = np.concatenate([np.full(len(s), lv) for lv, s, _ in parts])
        order = np.lexsort((-order_level, order_source))
        source = order_source[order]
        values = {name: array.take(pa.array(source)) for name, array in self.values.items()}
        values["rating_overall"] = pa.array(order_level[order].astype(np.int64))
        values["response_count"] = pa.array(np.concatenate([c for _, _, c in parts])[order])
        values["response_id"] = _level_ids(values)
        return values, source

    def duplicates(self, names: tuple[str, ...], values: dict[str, pa.Array]) -> None:
        columns = {n: values[n] for n in names if values.get(n) is not None}
        if len(columns) < len(names) and self.ds.name != "satisfaction":
            return
        if not columns:
            return
        n = len(next(iter(columns.values())))
        nullable = {"district_code", "window_name", "channel"} if names == LEVEL_KEY else set()
        required = [c for c in columns if c not in nullable]
        where = " and ".join(f'"{c}" is not null' for c in required) or "true"
        partition = ", ".join(f'"{c}"' for c in columns)
        connection = duckdb.connect(config=config.duckdb_settings())
        connection.register("file_keys", pa.table(columns))
        repeated = connection.execute(
            f"select count(*) from (select 1 from file_keys where {where} "
            f"group by {partition} having count(*) > 1)"
        ).fetchall()[0][0]
        if not repeated:  # the common case; only now number the rows to find the repeats
            return
        connection.register("file_keys", pa.table(columns | {"_i": pa.array(np.arange(n))}))
        same = " and ".join(f'k."{c}" is not distinct from r."{c}"' for c in columns)
        found = connection.execute(  # a join, not a window: a third less memory at 10M rows
            f"""
            with repeated as (
                select {partition}, min(_i) as first_i
                from file_keys where {where}
                group by all having count(*) > 1
            )

            select k._i, r.first_i from file_keys as k
            inner join repeated as r on {same}
            where k._i <> r.first_i order by k._i
            """
        ).fetchnumpy()
        if not len(found["_i"]):
            return
        positions, firsts = found["_i"].astype(np.int64), found["first_i"].astype(np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[positions] = True
        listed = slice(LISTED_PER_CHECK)  # a dict for every repeat is 1 GB at 10M rows
        first_rows = dict(
            zip(positions[listed].tolist(), self.rows[firsts[listed]].tolist(), strict=True)
        )
        shown = [
            " / ".join(str(columns[c][int(p)].as_py() or "") for c in columns)
            for p in positions[:LISTED_PER_CHECK]
        ]
        key_label = "+".join(self.ds.column(c).label_zh for c in columns)
        problem = (
            "ingest.problem.duplicate_response_id"
            if names == ("response_id",)
            else "ingest.problem.duplicate_key"
        )
        self.report.add_rows(
            ERROR,
            self.rows[positions],
            shown,
            column=key_label,
            problem=[
                t(problem, first=first_rows[p]) for p in positions[:LISTED_PER_CHECK].tolist()
            ],
        )

    # --- the whole build -----------------------------------------------------------------------

    def build(self) -> Built | None:
        blank, totals = self.drop_blank_and_total_rows()
        self.report_unused_columns()
        n = len(self.keep)
        if n == 0:
            self.report.add(
                ERROR,
                t("ingest.problem.header_only"),
                row=self.raw.header_row,
                suggestion=t("ingest.suggest.header_only"),
            )
            return None
        self.clean_columns()
        for column in self.ds.columns:
            index = self.match.columns.get(column.name)
            if index is not None:
                self.values[column.name] = self.parse_column(column, index)
        self.fill_defaults(n)
        level_table = self.match.is_level_table and self.ds.name == "satisfaction"
        if level_table:
            counts = self.expand_levels(n)
            self.duplicates(LEVEL_KEY, self.values)
            values, source = self.level_rows(counts, n)
            rows = self.rows[source]
        else:
            values, rows = self.values, self.rows
            self.duplicates(self.ds.key, values)
            if self.ds.name == "satisfaction" and values.get("response_id") is None:
                self.report.add(INFO, t("ingest.problem.no_response_ids"))
        total = len(rows)
        arrays = []
        for column in self.ds.columns:
            array = values.get(column.name)
            arrays.append(
                pa.nulls(total, column.arrow_type)
                if array is None
                else array.cast(column.arrow_type)
            )
        table = pa.Table.from_arrays(arrays, names=self.ds.column_names)
        return Built(table, rows, blank, totals, level_table)


@lru_cache(maxsize=16)
def _lookup_cached(kind: str, root: str | None, mtime: int) -> norm.Lookup:
    return norm.Lookup(kind, Path(root) if root else None)


def _lookup(kind: str, root: Path | None) -> norm.Lookup:
    from civindex import config

    path = config.reference_dir(root) / f"{kind}.csv"
    return _lookup_cached(kind, str(root) if root else None, path.stat().st_mtime_ns)


def _suggester(lookup) -> Callable[[str], str]:
    @lru_cache(maxsize=1024)
    def suggest(value: str) -> str:
        found = lookup.suggest(value) if value else None
        return t("ingest.suggest.did_you_mean", value=found) if found else ""

    return suggest


def _round_type(name: str):
    if "模拟" in name:
        return "模拟测评"
    if "暗访" in name:
        return "第三方暗访"
    if "年度" in name:
        return "年度测评"
    return norm.BAD


def _level_ids(values: dict[str, pa.Array]) -> pa.Array:
    """Stable ids for level rows, so re-sending a corrected report shows as an overlap."""
    n = len(values["rating_overall"])
    parts = [pa.array(["agg"] * n, pa.string())]
    for name in LEVEL_KEY:
        array = values.get(name)
        if array is None:
            parts.append(pa.array([""] * n, pa.string()))
        else:
            parts.append(pc.fill_null(pc.cast(array, pa.string()), ""))
    parts.append(pc.cast(values["rating_overall"], pa.string()))
    return pc.binary_join_element_wise(*parts, ":")


def build(raw: RawTable, match: HeaderMatch, report: Report, root: Path | None) -> Built | None:
    return Builder(raw, match, report, root).build()
