"""The queries a page opens with, started by dashboard.py as soon as the filters are known.

DuckDB answers them on the other core while dashboard.py draws the sidebar, the filter bar and
the banners (~3 ms of Python on a cold run), and the page's own `context.run` finds each one
running or done. A page is listed here with what it can ask for from the filters alone: what
needs an earlier result, or a profile's subject picked on the page, the page prefetches itself.
tests/test_prefetch.py runs every page and checks that no query runs twice and that the page
runs on its own thread only the queries that must wait.
"""

from __future__ import annotations

from collections.abc import Callable

from civindex import warnings
from civindex.kpi import shift_month
from civindex.schema import SATISFACTION_TARGET
from civindex.ui.context import PageContext

Requests = list[str | tuple[str, dict]]


def trend_months(context: PageContext) -> dict:
    """总览's monthly trends: the month shown and the 13 before it, for 环比 and 同比."""
    return {"start": shift_month(context.filters.end, -13)}


def month_windows(context: PageContext) -> dict:
    """Every unit's windows in the month: 预警名单 shows those of the warned units (one scan of
    the month either way), so no query waits for the list of warned units."""
    month = context.filters.end
    return {"start": month, "end": month, "units": [], "districts": [], "systems": []}


def _overview(context: PageContext) -> Requests:
    month = context.filters.end
    return [
        ("participation_monthly", trend_months(context)),
        ("satisfaction_monthly", trend_months(context)),
        "claim_rate_by_year",
        ("claim_rate_by_year", {"end": shift_month(month, -1)}),
        ("index_by_round", {"start": context.choices.first_month}),
        ("index_district_ranking", {"round_type": ""}),  # every type: the latest round's is kept
        *warnings.count_requests(month),
        "participation_by_category_monthly",
        "satisfaction_monthly",
        "unit_scoreboard",
    ]


def _participation(context: PageContext) -> Requests:
    return [
        "participation_by_category",
        "participation_by_system",
        "participation_by_unit",
        "participation_by_district",
        "participation_unit_month",
    ]


def _satisfaction(context: PageContext) -> Requests:
    month = context.filters.end
    return [
        "satisfaction_monthly",
        ("satisfaction_by_unit", {"start": month, "satisfaction_target": SATISFACTION_TARGET}),
        "satisfaction_dimensions",
        ("satisfaction_by_unit", {"satisfaction_target": SATISFACTION_TARGET}),
        "profile_windows",
        "satisfaction_distribution",
        "satisfaction_by_channel",
    ]


def _index(context: PageContext) -> Requests:
    # The ranking alone: the page starts the indicators once it is in (pages/index_results.py).
    return [("index_district_ranking", {"districts": [], "round_type": ""})]


def _warnings(context: PageContext) -> Requests:
    month = context.filters.end
    return [
        *warnings.requests(),
        *warnings.count_requests(month),
        ("profile_windows", month_windows(context)),
    ]


OPENING: dict[str, Callable[[PageContext], Requests]] = {
    "pages/overview.py": _overview,
    "pages/participation.py": _participation,
    "pages/satisfaction.py": _satisfaction,
    "pages/index_results.py": _index,
    "pages/warnings.py": _warnings,
}


def start(context: PageContext, page: str) -> None:
    """Start the opening queries of `page` (its path, as dashboard.py names it), if it has any
    and there is data to query."""
    requests = OPENING.get(page)
    if requests is not None and context.has_data:
        context.prefetch(*requests(context))
