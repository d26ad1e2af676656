"""Deterministic demo data on the real reference lists, calibrated to the seed's figures.

Calibration (seed text, SPEC §2.4): 86% of department-level units claimed a task in the latest
full year; since 2012 about 3,500 practical matters (实事), ~90,000 volunteer person-times,
800+ moral lectures and 1,200+ households helped; window satisfaction mostly 95–99% with a few
windows below target; index scores 85–96 moving 1–3 points a round with district differences.
Every row carries a `demo-` upload_id so demo data can be cleared with one command.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from civindex import reference
from civindex.schema import CHANNELS, DEMO_PREFIX, METHODS
from civindex.store import Commit, Store, new_upload_id

SEED = 20120101
FIRST_MONTH = date(2012, 1, 1)
BASE_RESPONSES = 300_000
CLAIM_RATE_LATEST_YEAR = 0.86
TOTALS_SINCE_2012 = {
    ("community", "practical_matters"): 3_560,
    ("community", "households_helped"): 1_230,
    ("volunteer", "participants"): 89_600,
    ("moral", "activities"): 836,
}
# Expected rows per year for each category before growth; sparse categories keep the seed's
# small totals (800+ lectures in a decade) at realistic per-row values.
ROWS_PER_YEAR = {
    "community": 260,
    "traffic": 200,
    "window": 160,
    "environment": 240,
    "volunteer": 300,
    "moral": 45,
}
FASTEST_GROWING = "volunteer"
SATISFIED_LEVELS = (5, 4, 3)
SATISFIED_WEIGHTS = (0.62, 0.28, 0.10)
CHANNEL_WEIGHTS = (0.45, 0.2, 0.2, 0.05, 0.1)
WINDOW_SUFFIXES = ("办事大厅", "服务窗口", "咨询服务台")


@dataclass(frozen=True)
class DemoPlan:
    end_month: date
    scale: float = 1.0
    seed: int = SEED

    @property
    def months(self) -> pd.DatetimeIndex:
        return pd.date_range(FIRST_MONTH, self.end_month, freq="MS")

    @property
    def latest_full_year(self) -> int:
        return self.end_month.year - (0 if self.end_month.month == 12 else 1)


def last_full_month(today: date | None = None) -> date:
    today = today or date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return date(year, month, 1)


def _allocate(rng: np.random.Generator, total: int, rows: int, minimum: int = 0) -> np.ndarray:
    """Split an exact total over rows, each getting at least `minimum`."""
    base = np.full(rows, minimum, dtype=np.int64)
    rest = total - minimum * rows
    if rows == 0 or rest <= 0:
        return base
    weights = rng.gamma(2.0, 1.0, rows)
    return base + rng.multinomial(rest, weights / weights.sum())


def participation(plan: DemoPlan) -> pa.Table:
    rng = np.random.default_rng(plan.seed)
    units = reference.load("units")
    categories = list(ROWS_PER_YEAR)
    core = reference.load("districts").query("is_core_urban")["district_code"].to_numpy()
    years = range(FIRST_MONTH.year, plan.end_month.year + 1)
    is_department = units["is_department_level"].to_numpy()
    department_idx = np.flatnonzero(is_department)
    window_idx = np.flatnonzero(units["has_service_window"].to_numpy())
    shrinking = rng.choice(np.flatnonzero(~is_department), 3, replace=False)

    frames = []
    for year in years:
        months_in_year = 12 if year < plan.end_month.year else plan.end_month.month
        growth = 0.7 + 0.03 * (year - FIRST_MONTH.year)
        if year == plan.latest_full_year:
            claiming_department = rng.choice(
                department_idx,
                round(CLAIM_RATE_LATEST_YEAR * len(department_idx)),
                replace=False,
            )
        else:
            share = 0.6 + 0.02 * (year - FIRST_MONTH.year)
            share = min(share, 0.9) if year < plan.end_month.year else 0.82
            claiming_department = department_idx[rng.random(len(department_idx)) < share]
        others = np.flatnonzero(~is_department)
        claiming_others = others[rng.random(len(others)) < 0.55]
        claiming = np.concatenate([claiming_department, claiming_others])

        first_rows = pd.DataFrame(
            {
                "unit": claiming,
                "category": rng.choice(categories[:5], len(claiming)),
                "month": rng.integers(1, months_in_year + 1, len(claiming)),
                "claims": rng.integers(1, 4, len(claiming)),
            }
        )
        extra = []
        for category, per_year in ROWS_PER_YEAR.items():
            boost = 1.3 if category == FASTEST_GROWING and year >= plan.latest_full_year else 1
            expected = per_year * growth * boost * months_in_year / 12
            count = rng.poisson(expected)
            pool = np.intersect1d(window_idx, claiming) if category == "window" else claiming
            if year == plan.end_month.year:
                pool = np.setdiff1d(pool, shrinking)
            extra.append(
                pd.DataFrame(
                    {
                        "unit": rng.choice(pool, count),
                        "category": category,
                        "month": rng.integers(1, months_in_year + 1, count),
                        "claims": rng.poisson(0.4, count),
                    }
                )
            )
        year_rows = pd.concat([first_rows, *extra], ignore_index=True)
        year_rows["year"] = year
        frames.append(year_rows)

    rows = pd.concat(frames, ignore_index=True)
    paired = units["paired_district_code"].to_numpy()[rows["unit"].to_numpy()]
    elsewhere = rng.random(len(rows)) < 0.12
    rows["district_code"] = np.where(elsewhere, rng.choice(core, len(rows)), paired)
    rows = rows.groupby(["year", "month", "unit", "district_code", "category"], as_index=False)[
        "claims"
    ].sum()

    n = len(rows)
    claimed = rows["claims"].to_numpy()
    activities = rng.poisson(2.0, n) + 1
    participants = activities * (rng.poisson(9, n) + 3)
    completed = rng.binomial(claimed, 0.85)
    frame = pd.DataFrame(
        {
            "period_month": pd.to_datetime(
                {"year": rows["year"], "month": rows["month"], "day": 1}
            ).dt.date,
            "unit_code": units["unit_code"].to_numpy()[rows["unit"].to_numpy()],
            "district_code": rows["district_code"].to_numpy(),
            "category_code": rows["category"].to_numpy(),
            "tasks_claimed": claimed,
            "tasks_completed": completed,
            "activities": activities,
            "participants": participants,
            "households_helped": pd.array([pd.NA] * n, dtype="Int64"),
            "practical_matters": pd.array([pd.NA] * n, dtype="Int64"),
            "funds_yuan": np.where(
                rows["category"].eq("environment"), rng.integers(2, 60, n) * 1000.0, np.nan
            ),
        }
    )
    for (category, column), total in TOTALS_SINCE_2012.items():
        mask = frame["category_code"].eq(category).to_numpy()
        minimum = 1 if column in ("activities", "participants") else 0
        values = _allocate(rng, total, int(mask.sum()), minimum)
        if column in ("activities", "participants"):
            frame.loc[mask, column] = values
        else:
            frame.loc[mask, column] = pd.array(values, dtype="Int64")
    moral = frame["category_code"].eq("moral")
    frame.loc[moral, "participants"] = frame.loc[moral, "activities"] * rng.poisson(
        25, int(moral.sum())
    )
    frame["volunteer_hours"] = np.round(frame["participants"] * rng.uniform(1.5, 3.5, n) * 2) / 2
    frame = frame.sort_values(["period_month", "unit_code", "category_code"], kind="stable")
    return pa.Table.from_pandas(frame, preserve_index=False)


def _satisfaction_plan(plan: DemoPlan, rng: np.random.Generator) -> pd.DataFrame:
    """One row per window unit × month: expected responses and the satisfied probability."""
    units = reference.load("units").query("has_service_window").reset_index(drop=True)
    months = plan.months
    n_units, n_months = len(units), len(months)
    year_weight = 0.5 + (months.year.to_numpy() - FIRST_MONTH.year) / 14
    unit_weight = rng.uniform(0.6, 1.4, n_units)
    weights = np.outer(unit_weight, year_weight)
    expected = weights / weights.sum() * BASE_RESPONSES * plan.scale

    base = rng.uniform(0.965, 0.988, n_units)
    noise = rng.normal(0, 0.004, (n_units, n_months))
    probability = np.clip(base[:, None] + noise, 0.88, 0.998)
    # A few windows slip below target recently, so the warning list has real cases.
    slipping = rng.choice(n_units, 3, replace=False)
    probability[slipping, -3:] = rng.uniform(0.90, 0.935, (3, 3))
    expected[slipping, -3:] = np.maximum(expected[slipping, -3:], 60 * plan.scale)
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_months),
            "month": np.tile(months.to_numpy(), n_units),
            "expected": expected.ravel(),
            "probability": probability.ravel(),
            "unit_code": np.repeat(units["unit_code"].to_numpy(), n_months),
            "short_name": np.repeat(units["unit_short_name"].to_numpy(), n_months),
            "district_code": np.repeat(units["paired_district_code"].to_numpy(), n_months),
        }
    )


def satisfaction_batches(plan: DemoPlan) -> Iterator[pa.Table]:
    """Satisfaction responses a year at a time, so 50M rows never sit in memory at once."""
    rng = np.random.default_rng(plan.seed + 1)
    cells = _satisfaction_plan(plan, rng)
    cells["count"] = rng.poisson(cells["expected"])
    core = reference.load("districts").query("is_core_urban")["district_code"].to_numpy()
    next_id = 0
    for _year, year_cells in cells.groupby(cells["month"].dt.year, sort=True):
        counts = year_cells["count"].to_numpy()
        n = int(counts.sum())
        pick = np.repeat(np.arange(len(year_cells)), counts)
        month_start = year_cells["month"].to_numpy()[pick]
        days_in_month = np.array(
            [calendar.monthrange(m.year, m.month)[1] for m in year_cells["month"]]
        )[pick]
        surveyed = month_start + (rng.random(n) * days_in_month).astype("timedelta64[D]")
        satisfied = rng.random(n) < year_cells["probability"].to_numpy()[pick]
        overall = np.where(
            satisfied,
            rng.choice(SATISFIED_LEVELS, n, p=SATISFIED_WEIGHTS),
            rng.choice((2, 1), n, p=(0.7, 0.3)),
        )
        channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
        has_dimensions = channel != 0
        dimensions = {}
        for name in ("attitude", "timeliness", "convenience", "quality"):
            value = np.clip(overall + rng.choice((-1, 0, 0, 0, 1), n), 1, 5)
            dimensions[f"rating_{name}"] = pa.array(value, pa.int64(), mask=~has_dimensions)
        window_number = rng.integers(0, len(WINDOW_SUFFIXES), n)
        window = pd.Series(year_cells["short_name"].to_numpy()[pick]) + pd.Series(
            np.array(WINDOW_SUFFIXES)[window_number]
        )
        district = year_cells["district_code"].to_numpy()[pick]
        district = np.where(rng.random(n) < 0.1, rng.choice(core, n), district)
        ids = pd.Series(np.arange(next_id, next_id + n)).map("D{:09d}".format)
        next_id += n
        yield pa.table(
            {
                "response_id": pa.array(ids, pa.string()),
                "surveyed_on": pa.array(surveyed.astype("datetime64[D]"), pa.date32()),
                "unit_code": pa.array(year_cells["unit_code"].to_numpy()[pick], pa.string()),
                "district_code": pa.array(district, pa.string()),
                "window_name": pa.array(window, pa.string()),
                "channel": pa.array(np.array(CHANNELS)[channel], pa.string()),
                "rating_overall": pa.array(overall, pa.int64()),
                **dimensions,
                "response_count": pa.array(np.ones(n, dtype=np.int64)),
            }
        )


def _rounds(plan: DemoPlan) -> list[tuple[str, date, str]]:
    rounds = []
    for year in range(FIRST_MONTH.year, plan.end_month.year + 1):
        rounds.append((f"{year}年度测评", date(year, 12, 10), "年度测评"))
        if year >= 2020:
            for quarter in range(1, 5):
                name = f"{year}年第{quarter}季度模拟测评"
                rounds.append((name, date(year, quarter * 3, 20), "模拟测评"))
        if year >= 2023:
            rounds.append((f"{year}年上半年第三方暗访", date(year, 6, 5), "第三方暗访"))
            rounds.append((f"{year}年下半年第三方暗访", date(year, 11, 5), "第三方暗访"))
    last_day = date(
        plan.end_month.year,
        plan.end_month.month,
        calendar.monthrange(plan.end_month.year, plan.end_month.month)[1],
    )
    return sorted((r for r in rounds if r[1] <= last_day), key=lambda r: r[1])


def index_results(plan: DemoPlan) -> pa.Table:
    rng = np.random.default_rng(plan.seed + 2)
    districts = reference.load("districts")
    indicators = reference.load("indicators")
    core = districts["is_core_urban"].to_numpy()
    anchor = np.where(core, rng.uniform(90.5, 93.5, len(core)), rng.uniform(87.0, 90.0, len(core)))
    level = anchor.copy()
    offsets = rng.normal(0, 2.0, (len(core), len(indicators)))
    methods = rng.choice(METHODS, len(indicators))
    records = []
    for round_name, round_date, round_type in _rounds(plan):
        # Moves of 1–3 points a round, pulled back towards each district's own level; a move
        # past the 85–96 band is reflected back into it rather than flattened against it.
        step = rng.uniform(1.0, 3.0, len(core)) * rng.choice((-1.0, 1.0), len(core))
        level = level + step - 0.35 * (level - anchor)
        level = np.where(level < 85.5, 171.0 - level, level)
        level = np.where(level > 95.5, 191.0 - level, level)
        for d, district_code in enumerate(districts["district_code"]):
            raw = level[d] + offsets[d] + rng.normal(0, 1.0, len(indicators))
            raw += level[d] - np.average(raw, weights=indicators["max_points"])
            for i, indicator in indicators.iterrows():
                max_score = float(indicator["max_points"])
                score = min(max_score, round(raw[i] / 100 * max_score, 2))
                records.append(
                    (
                        round_name,
                        round_date,
                        round_type,
                        district_code,
                        indicator["indicator_code"],
                        score,
                        max_score,
                        methods[i],
                    )
                )
    columns = [
        "round_name",
        "round_date",
        "round_type",
        "district_code",
        "indicator_code",
        "score",
        "max_score",
        "method",
    ]
    return pa.Table.from_pandas(pd.DataFrame(records, columns=columns), preserve_index=False)


def build(
    store: Store,
    *,
    scale: float = 1.0,
    end_month: date | None = None,
    if_empty: bool = False,
    user: str = "demo",
) -> list[Commit]:
    """(Re)build the demo batches: clear earlier demo rows, then publish one batch per dataset."""
    if if_empty and any(v is not None and store.count_rows(n) for n, v in store.snapshot().items()):
        return []
    plan = DemoPlan(end_month=end_month or last_full_month(), scale=scale)
    store.clear_demo(user=user)
    source = f"demo generator seed={plan.seed} scale={scale:g} end={plan.end_month:%Y-%m}"
    commits = []
    for name, data in (
        ("participation", participation(plan)),
        ("satisfaction", satisfaction_batches(plan)),
        ("index_results", index_results(plan)),
    ):
        commits.append(
            store.publish(
                name,
                data,
                user=user,
                source_name=source,
                upload_id=new_upload_id(f"{DEMO_PREFIX}{name}-"),
                is_demo=True,
            )
        )
    return commits
