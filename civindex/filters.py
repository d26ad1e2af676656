"""Global filters and their URL form. Plain Python: the Streamlit glue lives in civindex.ui.

URL keys: from, to (YYYY-MM), district, system, unit, category (repeatable), as_of (ISO
timestamp), lang (zh|en), present (1). Bad or stale values are dropped with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from civindex.kpi import shift_month

LIST_KEYS = {
    "district": "districts",
    "system": "systems",
    "unit": "units",
    "category": "categories",
}
MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    districts: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    as_of: datetime | None = None
    lang: str = "zh"
    present: bool = False

    def params(self) -> dict[str, object]:
        """Query parameters shared by the named queries."""
        return {
            "start": self.start,
            "end": self.end,
            "districts": list(self.districts),
            "systems": list(self.systems),
            "units": list(self.units),
            "categories": list(self.categories),
        }

    def to_query(self) -> dict[str, str | list[str]]:
        query: dict[str, str | list[str]] = {
            "from": f"{self.start:%Y-%m}",
            "to": f"{self.end:%Y-%m}",
        }
        for url_key, attribute in LIST_KEYS.items():
            values = getattr(self, attribute)
            if values:
                query[url_key] = list(values)
        if self.as_of:
            query["as_of"] = self.as_of.isoformat(timespec="seconds")
        if self.lang != "zh":
            query["lang"] = self.lang
        if self.present:
            query["present"] = "1"
        return query

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)


@dataclass
class Choices:
    """What the URL may name: the reference codes and the months that hold data."""

    first_month: date
    last_month: date
    districts: Sequence[str] = ()
    systems: Sequence[str] = ()
    units: Sequence[str] = ()
    categories: Sequence[str] = ()
    notices: list[tuple[str, str]] = field(default_factory=list)


def default_filters(choices: Choices) -> Filters:
    start = max(choices.first_month, shift_month(choices.last_month, -11))
    return Filters(start=start, end=choices.last_month)


def parse_month(text: str) -> date | None:
    match = MONTH.match(text.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1) if 1 <= month <= 12 and 1900 < year < 2200 else None


def parse_as_of(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_query(
    query: Mapping[str, Sequence[str]], choices: Choices
) -> tuple[Filters, list[tuple[str, str]]]:
    """Filters from URL parameters (each a list of strings); invalid values become notices."""
    notices: list[tuple[str, str]] = []
    filters = default_filters(choices)

    def first(key: str) -> str | None:
        values = query.get(key) or []
        return values[0] if values else None

    months = {}
    for key in ("from", "to"):
        text = first(key)
        if text is None:
            continue
        month = parse_month(text)
        if month is None:
            notices.append((key, text))
        else:
            months[key] = min(max(month, choices.first_month), choices.last_month)
    start = months.get("from", filters.start)
    end = months.get("to", filters.end if "from" not in months else choices.last_month)
    if start > end:
        notices.append(("from", first("from") or ""))
        start = max(choices.first_month, shift_month(end, -11))
    changes: dict[str, object] = {"start": start, "end": end}

    for url_key, attribute in LIST_KEYS.items():
        allowed = set(getattr(choices, attribute))
        kept = []
        for value in query.get(url_key) or []:
            if value in allowed and value not in kept:
                kept.append(value)
            else:
                notices.append((url_key, value))
        changes[attribute] = tuple(kept)

    if (text := first("as_of")) is not None:
        moment = parse_as_of(text)
        if moment is None:
            notices.append(("as_of", text))
        changes["as_of"] = moment
    if (text := first("lang")) is not None:
        if text in ("zh", "en"):
            changes["lang"] = text
        else:
            notices.append(("lang", text))
    if (text := first("present")) is not None:
        changes["present"] = text in ("1", "true", "yes")
    return filters.with_(**changes), notices


def has_filter_keys(query: Mapping[str, Sequence[str]]) -> bool:
    keys = {"from", "to", "as_of", *LIST_KEYS}
    return any(key in query for key in keys)
