"""The warning list (预警名单): the seed's incentive mechanism (激励机制), which warns a
civilized unit whose co-building work slackens or slides. Three rules, thresholds here only:

1. satisfaction: pooled 满意率 below `SATISFACTION_TARGET` in each of the last
   `BELOW_TARGET_MONTHS` months to the filter end, every month on n ≥ `MIN_RESPONSES`;
2. participation: activities in the `ACTIVITY_WINDOW_MONTHS` months to the filter end fell by
   more than `PARTICIPATION_DROP` against the same number of months before (rolling windows, so
   January is not compared with a full year);
3. claims: a department-level unit (厅局机关) that claimed no task from January to the filter
   end's month of that year.

A warning is about a unit: the district filter picks units by their paired district, the system
and unit filters pick units, and each rule looks at the unit's whole record (all districts and
categories).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from civindex.i18n import t
from civindex.kpi import Card, shift_month
from civindex.schema import SATISFACTION_TARGET, SMALL_SAMPLE

MIN_RESPONSES = SMALL_SAMPLE
BELOW_TARGET_MONTHS = 2
ACTIVITY_WINDOW_MONTHS = 12
PARTICIPATION_DROP = 0.5

RULES = ("satisfaction", "participation", "claims")
Runner = Callable[..., pd.DataFrame]


def params() -> dict[str, float | int]:
    """The thresholds as query parameters; every warnings_*.sql reads them from here."""
    return {
        "satisfaction_target": SATISFACTION_TARGET,
        "min_responses": MIN_RESPONSES,
        "below_months": BELOW_TARGET_MONTHS,
        "window_months": ACTIVITY_WINDOW_MONTHS,
        "participation_drop": PARTICIPATION_DROP,
    }


@dataclass(frozen=True)
class WarningList:
    """The rows of each rule. `satisfaction` holds one row per window unit × recent month; only
    its `is_warning` rows are on the list."""

    satisfaction: pd.DataFrame
    participation: pd.DataFrame
    claims: pd.DataFrame

    def rule(self, name: str) -> pd.DataFrame:
        if name == "satisfaction":
            return self.satisfaction[self.satisfaction["is_warning"]]
        return getattr(self, name)

    def units(self, name: str | None = None) -> list[str]:
        names = RULES if name is None else (name,)
        codes: set[str] = set()
        for each in names:  # the code column alone: filtering the frame costs a copy of it
            frame = getattr(self, each)
            column = frame["unit_code"].tolist()
            if each == "satisfaction":
                column = [c for c, w in zip(column, frame["is_warning"].tolist(), strict=True) if w]
            codes.update(column)
        return sorted(codes)

    @property
    def watch(self) -> pd.DataFrame:
        """Units below target in the last month that are not (yet) warned."""
        frame = self.satisfaction
        return frame[frame["is_below_at_end"] & ~frame["is_warning"]]


def requests(**overrides) -> list[tuple[str, dict]]:
    """The rule queries `collect` runs, as (name, params): what a page prefetches."""
    return [(f"warnings_{rule}", params() | overrides) for rule in RULES]


def collect(run: Runner, **overrides) -> WarningList:
    """Run the three rule queries through `run(name, **params)` (a page context or Database)."""
    named = zip(RULES, requests(**overrides), strict=True)
    frames = {rule: run(name, **bound) for rule, (name, bound) in named}
    return WarningList(**frames)


def _count_months(month: date) -> tuple[date, date, date]:
    return month, shift_month(month, -1), shift_month(month, -12)


def count_requests(month: date) -> list[tuple[str, dict]]:
    """The queries `count_card` runs."""
    return [request for at in _count_months(month) for request in requests(end=at)]


def count_card(run: Runner, month: date) -> Card:
    """预警单位: units on the list at `month`, with 环比 and 同比 against earlier lists."""
    counts = [len(collect(run, end=at).units()) for at in _count_months(month)]
    return Card("warning_units", *counts)


def _month(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m}"


def satisfaction_evidence(months: pd.DataFrame) -> str:
    """'2026-09 93.1% (n=120) · 2026-10 92.4% (n=98)' for one unit's rows."""
    parts = [
        t(
            "warnings.evidence.month",
            month=_month(row.period_month),
            rate=f"{row.satisfaction_rate:.1%}",
            n=f"{int(row.responses):,}",
        )
        for row in months.sort_values("period_month").itertuples()
    ]
    return " · ".join(parts)


def participation_evidence(row) -> str:
    return t(
        "warnings.evidence.participation",
        months=ACTIVITY_WINDOW_MONTHS,
        current_from=_month(row.current_start),
        current_to=_month(row.current_end),
        current=f"{int(row.current_activities):,}",
        previous_from=_month(row.previous_start),
        previous_to=_month(row.previous_end),
        previous=f"{int(row.previous_activities):,}",
        change=f"{row.activity_change:+.0%}",
    )


def claims_evidence(row) -> str:
    if row.last_claim_month is None or pd.isna(row.last_claim_month):
        return t("warnings.evidence.never_claimed", year=int(row.year))
    return t("warnings.evidence.claims", year=int(row.year), last=_month(row.last_claim_month))
