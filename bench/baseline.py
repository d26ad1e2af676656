"""The pandas baseline: what a typical Streamlit app does for each page — read the snapshot's
Parquet files into pandas (only the columns the page needs) and compute the aggregates the page
shows with groupby. It is timed against the page's cold run (SPEC §7: ≥ 10× faster)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from civindex import reference
from civindex.kpi import shift_month
from civindex.schema import SATISFACTION_TARGET
from civindex.store import Store

SATISFACTION_COLUMNS = [
    "surveyed_on",
    "unit_code",
    "district_code",
    "window_name",
    "channel",
    "rating_overall",
    "rating_attitude",
    "rating_timeliness",
    "rating_convenience",
    "rating_quality",
    "response_count",
]
PARTICIPATION_COLUMNS = [
    "period_month",
    "unit_code",
    "district_code",
    "category_code",
    "tasks_claimed",
    "tasks_completed",
    "activities",
    "participants",
    "volunteer_hours",
    "practical_matters",
]
INDEX_COLUMNS = ["round_name", "round_date", "round_type", "district_code", "indicator_code"]
INDEX_COLUMNS += ["score", "max_score"]
DIMENSIONS = ["rating_overall", "rating_attitude", "rating_timeliness", "rating_convenience"]
DIMENSIONS += ["rating_quality"]


# What every page shows besides its charts: the months the filter bar offers and the 模拟数据
# banner (rows of demo batches), so every page reads these columns of every dataset.
FRAME_COLUMNS = {
    "satisfaction": ["surveyed_on", "upload_id"],
    "participation": ["period_month", "upload_id"],
    "index_results": ["round_date", "upload_id"],
}


class Data:
    """The snapshot's tables read into pandas (the page's columns of the datasets it shows, the
    frame's columns of the others), plus the period the page shows by default."""

    def __init__(self, store: Store, datasets: tuple[str, ...]):
        snapshot = store.snapshot()
        columns = {
            "satisfaction": SATISFACTION_COLUMNS,
            "participation": PARTICIPATION_COLUMNS,
            "index_results": INDEX_COLUMNS,
        }
        self.frames: dict[str, pd.DataFrame] = {}
        self.frame: dict[str, tuple] = {}
        for name, shown in FRAME_COLUMNS.items():
            files = store.file_uris(name, snapshot[name])
            wanted = [*columns[name], "upload_id"] if name in datasets else shown
            rows = pd.read_parquet(files, columns=wanted)
            dates = pd.to_datetime(rows[shown[0]])
            is_demo = rows["upload_id"].str.startswith("demo-")
            self.frame[name] = (dates.min(), dates.max(), len(rows), int(is_demo.sum()))
            if name in datasets:
                self.frames[name] = rows.assign(date=dates)
        self.units = reference.load("units", store.root)
        if "satisfaction" in self.frames:
            sat = self.frames["satisfaction"]
            sat["month"] = sat["date"].dt.to_period("M").dt.to_timestamp()
            sat["responses"] = sat["response_count"].fillna(1)
        if "participation" in self.frames:
            part = self.frames["participation"]
            part["month"] = part["date"]
            self.frames["participation"] = part
        if "index_results" in self.frames:
            self.frames["index_results"]["round_date"] = self.frames["index_results"]["date"]
        last = [f["month"].max() for k, f in self.frames.items() if "month" in f]
        self.end = max(last) if last else pd.Timestamp("2026-10-01")
        self.start = pd.Timestamp(shift_month(self.end.date(), -11))

    @property
    def sat(self) -> pd.DataFrame:
        return self.frames["satisfaction"]

    @property
    def part(self) -> pd.DataFrame:
        return self.frames["participation"]

    @property
    def index(self) -> pd.DataFrame:
        return self.frames["index_results"]


def wilson(k: pd.Series, n: pd.Series, z: float = 1.96) -> tuple[pd.Series, pd.Series]:
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def pooled(frame: pd.DataFrame, by: list[str], rating: str = "rating_overall") -> pd.DataFrame:
    rows = frame.assign(
        satisfied=frame["responses"].where(frame[rating] >= 3, 0),
        good=frame["responses"].where(frame[rating] >= 4, 0),
    )
    out = rows.groupby(by, dropna=False)[["responses", "satisfied", "good"]].sum().reset_index()
    out["satisfaction_rate"] = out["satisfied"] / out["responses"]
    out["rate_low"], out["rate_high"] = wilson(out["satisfied"], out["responses"])
    return out


def between(frame: pd.DataFrame, start, end, **equal) -> pd.DataFrame:
    mask = frame["month"].between(start, end)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def participation_totals(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    measures = ["tasks_claimed", "tasks_completed", "activities", "participants"]
    out = frame.groupby(by)[[*measures, "volunteer_hours"]].sum()
    out["participating_units"] = frame.groupby(by)["unit_code"].nunique()
    out["completion_rate"] = out["tasks_completed"] / out["tasks_claimed"]
    return out.reset_index()


def year_on_year(data: Data, by: list[str], **equal) -> pd.DataFrame:
    year = pd.DateOffset(years=1)
    now = participation_totals(between(data.part, data.start, data.end, **equal), by)
    before = participation_totals(between(data.part, data.start - year, data.end - year), by)
    return now.merge(before, on=by, how="left", suffixes=("", "_prev"))


def claim_rate_by_year(data: Data, end: pd.Timestamp) -> pd.DataFrame:
    department = data.units[data.units["is_department_level"]]["unit_code"]
    part = data.part
    claimed = part[
        (part["tasks_claimed"] > 0)
        & (part["month"].dt.month <= end.month)
        & part["unit_code"].isin(department)
    ]
    by_year = claimed.groupby(claimed["month"].dt.year)["unit_code"].nunique()
    return (by_year / len(department)).rename("claim_rate").reset_index()


def index_ranking(data: Data, round_type: str | None = None) -> pd.DataFrame:
    by = ["round_name", "round_date", "round_type", "district_code"]
    out = data.index.groupby(by)[["score", "max_score"]].sum().reset_index()
    out["civilization_index"] = 100 * out["score"] / out["max_score"]
    out["rank"] = out.groupby("round_name")["civilization_index"].rank(ascending=False)
    out = out.sort_values(["round_date", "round_name"])
    out["previous_rank"] = out.groupby(["round_type", "district_code"])["rank"].shift()
    out["rank_change"] = out["previous_rank"] - out["rank"]
    return out if round_type is None else out[out["round_type"] == round_type]


def index_by_round(data: Data) -> pd.DataFrame:
    out = data.index.groupby(["round_name", "round_date", "round_type"])[["score", "max_score"]]
    out = out.sum().reset_index()
    out["civilization_index"] = 100 * out["score"] / out["max_score"]
    return out


def index_breakdown(data: Data, district: str | None = None) -> pd.DataFrame:
    rows = data.index if district is None else data.index[data.index["district_code"] == district]
    rows = rows.assign(score_rate=rows["score"] / rows["max_score"])
    rows = rows.sort_values(["round_date", "round_name"])
    keys = ["round_type", "district_code", "indicator_code"]
    rows["score_rate_change"] = rows["score_rate"] - rows.groupby(keys)["score_rate"].shift()
    return rows


def warnings(data: Data, end: pd.Timestamp, **equal) -> list[pd.DataFrame]:
    recent = pooled(between(data.sat, shift(end, -1), end, **equal), ["unit_code", "month"])
    recent["is_below"] = (recent["responses"] >= 30) & (
        recent["satisfaction_rate"] < SATISFACTION_TARGET
    )
    below = recent.groupby("unit_code")["is_below"].sum()
    current = between(data.part, shift(end, -2), end, **equal)
    previous = between(data.part, shift(end, -5), shift(end, -3), **equal)
    drop = current.groupby("unit_code")["activities"].sum() / previous.groupby("unit_code")[
        "activities"
    ].sum().replace(0, np.nan)
    this_year = between(data.part, pd.Timestamp(end.year, 1, 1), end, **equal)
    claimed = this_year[this_year["tasks_claimed"] > 0]["unit_code"].unique()
    return [below[below == 2], drop[drop < 0.5], pd.DataFrame({"unit_code": claimed})]


def scoreboard(data: Data, **equal) -> pd.DataFrame:
    part = participation_totals(between(data.part, data.start, data.end, **equal), ["unit_code"])
    sat = pooled(between(data.sat, data.start, data.end, **equal), ["unit_code"])
    board = part.merge(sat, on="unit_code", how="left")
    for column in ("completion_rate", "activities", "participants", "satisfaction_rate"):
        board[f"{column}_pct"] = board[column].rank(pct=True)
    board["score"] = board.filter(like="_pct").mean(axis=1) * 100
    return board.sort_values("score", ascending=False)


def shift(month: pd.Timestamp, months: int) -> pd.Timestamp:
    return pd.Timestamp(shift_month(month.date(), months))


def dimensions(frame: pd.DataFrame) -> pd.DataFrame:
    long = frame.melt(
        id_vars=["responses"], value_vars=DIMENSIONS, var_name="dimension", value_name="rating"
    ).dropna(subset=["rating"])
    out = pooled(long, ["dimension"], rating="rating")
    out["mean_rating"] = (long["rating"] * long["responses"]).groupby(long["dimension"]).sum() / (
        long.groupby("dimension")["responses"].sum()
    ).reindex(out["dimension"]).to_numpy()
    return out


def overview(data: Data) -> list:
    wide = shift(data.end, -13)
    return [
        participation_totals(between(data.part, wide, data.end), ["month"]),
        pooled(between(data.sat, wide, data.end), ["month"]),
        claim_rate_by_year(data, data.end),
        claim_rate_by_year(data, shift(data.end, -1)),
        index_by_round(data),
        *warnings(data, data.end),
        *warnings(data, shift(data.end, -1)),
        participation_totals(between(data.part, data.start, data.end), ["month", "category_code"]),
        pooled(between(data.sat, data.start, data.end), ["month"]),
        index_ranking(data, "年度测评"),
        scoreboard(data),
    ]


def participation(data: Data) -> list:
    period = between(data.part, data.start, data.end)
    with_system = period.merge(data.units[["unit_code", "unit_system"]], on="unit_code")
    return [
        year_on_year(data, ["category_code"]),
        participation_totals(with_system, ["unit_system"]),
        participation_totals(period, ["unit_code"]),
        year_on_year(data, ["district_code"]),
        participation_totals(period, ["unit_code", "month"]),
    ]


def satisfaction(data: Data) -> list:
    period = between(data.sat, data.start, data.end)
    return [
        pooled(period, ["month"]),
        pooled(between(data.sat, data.end, data.end), ["unit_code"]),
        dimensions(period),
        pooled(period, ["unit_code"]),
        pooled(period, ["unit_code", "window_name"]),
        period.groupby("rating_overall")["responses"].sum(),
        pooled(period, ["channel"]),
    ]


def index(data: Data) -> list:
    return [index_ranking(data), index_ranking(data, "年度测评"), index_breakdown(data)]


def unit_profile(data: Data) -> list:
    unit = str(data.units["unit_code"].iloc[0])
    earlier = shift(data.start, -12)
    by_unit = participation_totals(between(data.part, earlier, data.end), ["unit_code"])
    own_sat = between(data.sat, data.start, data.end, unit_code=unit)
    return [
        by_unit.merge(pooled(between(data.sat, data.start, data.end), ["unit_code"]), how="left"),
        *warnings(data, data.end, unit_code=unit),
        participation_totals(
            between(data.part, data.start, data.end, unit_code=unit), ["month", "category_code"]
        ),
        pooled(own_sat, ["month"]),
        pooled(own_sat, ["window_name"]),
    ]


def district_profile(data: Data) -> list:
    district = str(reference.load("districts")["district_code"].iloc[0])
    here = between(data.sat, data.start, data.end, district_code=district)
    work = between(data.part, data.start, data.end, district_code=district)
    return [
        index_ranking(data),
        index_breakdown(data, district),
        participation_totals(work, ["unit_code"]),
        participation_totals(work, ["month", "category_code"]),
        pooled(here, ["month"]),
        pooled(here, ["unit_code", "window_name"]),
    ]


def warnings_page(data: Data) -> list:
    return [
        *warnings(data, data.end),
        *warnings(data, shift(data.end, -1)),
        pooled(between(data.sat, shift(data.end, -1), data.end), ["unit_code", "window_name"]),
    ]


PAGES: dict[str, tuple[tuple[str, ...], Callable[[Data], list]]] = {
    "overview": (("participation", "satisfaction", "index_results"), overview),
    "participation": (("participation",), participation),
    "satisfaction": (("satisfaction",), satisfaction),
    "index": (("index_results",), index),
    "unit": (("participation", "satisfaction"), unit_profile),
    "district": (("participation", "satisfaction", "index_results"), district_profile),
    "warnings": (("participation", "satisfaction"), warnings_page),
}


def run(store: Store, page: str) -> int:
    """Read and aggregate for one page; returns the number of result rows (so nothing is lazy)."""
    datasets, build = PAGES[page]
    data = Data(store, datasets)
    return sum(len(result) for result in build(data))
