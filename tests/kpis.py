"""What the Overview's KPI cards must show, computed from the named queries, and how to read
the numbers the cards display. Shared by the AppTest and the real-browser tests."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from civindex import warnings
from civindex.db import Database
from civindex.i18n import catalogue
from civindex.store import Store

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def text(key: str, lang: str = "zh", **values) -> str:
    message = catalogue()[key][lang]
    return message.format(**values) if values else message


def parse_number(shown: str) -> tuple[float, float]:
    """The number a metric shows and half a unit of its last shown digit."""
    match = NUMBER.search(shown)
    assert match, f"no number in {shown!r}"
    digits = match.group(0).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value = float(digits)
    if shown.strip().endswith("%"):
        return value / 100, 0.5 * 10 ** -(decimals + 2) + 1e-9
    return value, 0.5 * 10**-decimals + 1e-9


def expected_kpis(data_dir: Path, month: date) -> dict[str, float]:
    """What the KPI cards must show for `month`, straight from the named queries."""
    database = Database(Store(data_dir))
    params = {
        "start": date(2012, 1, 1),
        "end": month,
        "districts": [],
        "systems": [],
        "units": [],
        "categories": [],
    }

    def at_month(name: str, column: str) -> float:
        frame = database.run(name, **params)
        return float(frame.loc[frame["period_month"] == pd.Timestamp(month), column].iloc[0])

    claims = database.run("claim_rate_by_year", **params).set_index("year")
    rounds = database.run("index_by_round", **params)
    return {
        "claim_rate": float(claims.loc[month.year, "claim_rate"]),
        "participating_units": at_month("participation_monthly", "participating_units"),
        "activities": at_month("participation_monthly", "activities"),
        "participants": at_month("participation_monthly", "participants"),
        "volunteer_hours": at_month("participation_monthly", "volunteer_hours"),
        "satisfaction_rate": at_month("satisfaction_monthly", "satisfaction_rate"),
        "civilization_index": float(rounds["civilization_index"].iloc[-1]),
        "warning_units": float(
            len(warnings.collect(lambda name, **p: database.run(name, **(params | p))).units())
        ),
    }
