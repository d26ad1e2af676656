"""Hypothesis-generated upload files through the validator: headers mixed from every alias and
junk, cells from plausible values (dates in every spelling, unit and district names, rating
labels, percentages, full-width digits) and arbitrary text, in every encoding, delimiter and
as xlsx; now and then plain random bytes. The only outcomes are a report or a valid table;
never an exception, never a write. CIVINDEX_FUZZ_EXAMPLES sets the count (1,000 by default,
the same ones every run; set, it draws new ones)."""

from __future__ import annotations

import os
from datetime import date

import pyarrow as pa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ingest_files import csv_bytes, xlsx_bytes

from civindex import ingest, reference
from civindex.schema import DATASETS, RATING_LEVELS, dataset
from civindex.store import Store, conform

EXAMPLES = int(os.environ.get("CIVINDEX_FUZZ_EXAMPLES", "1000"))
UNITS = reference.load("units")
DISTRICTS = reference.load("districts")
HEADERS = sorted({h for ds in DATASETS.values() for c in ds.columns for h in c.headers})
HEADERS += [label for labels in RATING_LEVELS.values() for label in labels] + ["满意率", "合计"]
PLAUSIBLE = [
    *UNITS["unit_code"][:5],
    *UNITS["unit_name"][:5],
    *UNITS["unit_short_name"][:5],
    *DISTRICTS["district_name"],
    *DISTRICTS["district_code"],
    "community",
    "文明交通共建",
    "满意",
    "★★★★",
    "非常不满意",
    "2024-03",
    "2024/3/5",
    "2024年3月",
    "202403",
    "45000",
    "２０２４－０３",
    "1,234",
    "95.3%",
    "-1",
    "0",
    "5",
    "1e308",
    "NaN",
    "合计",
    "总计",
    "年度测评",
    "key_tasks",
    "问卷",
    "=1+1",
    '"',
    "",
    " ",
]

cells = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
headers = st.lists(
    st.one_of(st.sampled_from(HEADERS), st.text(max_size=8)), min_size=1, max_size=12
)


PREFIXES = {"units": "unit_", "districts": "district_", "categories": "category_"}
PREFIXES["indicators"] = "indicator_"
REFERENCE = {  # every code and name a file may use for a unit, district, category, indicator
    kind: [
        value
        for column, values in reference.load(kind).items()
        if column.startswith(prefix) and column.endswith(("_code", "_name"))
        for value in values
    ]
    for kind, prefix in PREFIXES.items()
}
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y-%m", "%Y%m", "%Y年%m月"]


def valid_cells(column) -> st.SearchStrategy[str]:
    """Values a correct file would hold in this column, in the spellings analysts use."""
    if column.reference:
        return st.sampled_from(REFERENCE[column.reference])
    if column.choices:
        return st.sampled_from(column.choices)
    if column.dtype == "date":
        days = st.dates(min_value=date(2012, 1, 1), max_value=date(2026, 10, 31))
        return st.builds(lambda d, f: d.strftime(f), days, st.sampled_from(DATE_FORMATS))
    if column.name in ("score", "max_score"):  # score ≤ max_score: 0–5 out of 5–30
        return st.integers(*((0, 5) if column.name == "score" else (5, 30))).map(str)
    if column.dtype in ("int", "float"):
        low = int(column.minimum if column.minimum is not None else 0)
        high = int(column.maximum if column.maximum is not None else 5000)
        return st.integers(low, high).map(str)
    return st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=10)


@st.composite
def near_valid(draw, name: str) -> list[list]:
    """A correct table of `name` (every column, shuffled) with some cells made hostile (none
    in a third of them)."""
    columns = draw(st.permutations(dataset(name).columns))
    header = [draw(st.sampled_from(c.headers)) for c in columns]
    hostile = draw(st.sampled_from([0, 0, 0.01, 0.2]))
    rows = [
        [draw(cells) if draw(st.floats(0, 1)) < hostile else draw(valid_cells(c)) for c in columns]
        for _ in range(draw(st.integers(1, 20)))
    ]
    return [header, *rows]


@st.composite
def upload_files(draw) -> tuple[bytes, str, str]:
    name = draw(st.sampled_from(list(DATASETS)))
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=2000)), draw(st.sampled_from(["x.csv", "x.xlsx"])), name
    if draw(st.booleans()):
        header, *rows = draw(near_valid(name))
    else:
        header = draw(headers)
        rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=25))
    title = [[draw(st.text(max_size=20))]] if draw(st.booleans()) else []
    table = [*title, header, *rows]
    if draw(st.integers(0, 9)) == 0:
        return (
            xlsx_bytes({draw(st.sampled_from(["数据", "Sheet1", "表 1", "2025年3月"])): table}),
            "x.xlsx",
            name,
        )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    delimiter = draw(st.sampled_from([",", "\t", ";", "|"]))
    text = csv_bytes(table, "utf-8", delimiter).decode("utf-8")
    content = text.encode(encoding, errors="replace")
    if draw(st.booleans()):  # cut anywhere, as a failed transfer would
        content = content[: draw(st.integers(0, len(content)))]
    return content, draw(st.sampled_from(["上报.csv", "x.txt", "x.tsv", "x"])), name


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The default run (CI's) tries the same examples every time, so a change never fails on a
    # new draw that finds an old bug; CIVINDEX_FUZZ_EXAMPLES draws new ones each run.
    derandomize="CIVINDEX_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(upload=upload_files())
def test_any_file_gives_a_report_or_a_valid_table_and_writes_nothing(tmp_path_factory, upload):
    content, file_name, name = upload
    root = tmp_path_factory.getbasetemp() / "fuzz"
    root.mkdir(exist_ok=True)
    prepared = ingest.prepare(content, file_name, name, store=Store(root))
    assert not any(root.iterdir())
    errors = [p for p in prepared.report.problems if p.severity == "error"]
    assert prepared.ok == (prepared.table is not None and not errors)
    assert bool(errors) == (prepared.report.errors > 0)
    assert all(p.problem for p in errors)
    event("valid" if prepared.ok else "refused")
    if prepared.ok:
        stored = conform(dataset(name), prepared.table, "u-fuzz")
        assert isinstance(stored, pa.Table) and stored.num_rows == prepared.row_count > 0
