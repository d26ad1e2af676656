"""Read the charts a page drew under AppTest: each Plotly figure by its chart key, and the
given→expected row helpers the page tests share."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent


def open_page(page: str, **query) -> AppTest:
    """dashboard.py with `query` in the URL, then `page`; fails on any exception or error."""
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page != "pages/overview.py":
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def figures(at: AppTest) -> dict[str, dict]:
    """chart key (ChartSpec.key) -> the Plotly figure as the browser receives it."""
    found = {}
    for element in at.get("plotly_chart"):
        key = element.proto.id.split("-chart_", 1)[1]
        found[key] = json.loads(element.proto.spec)
    return found


def title(figure: dict) -> str:
    return figure["layout"]["title"]["text"].removeprefix("<b>").removesuffix("</b>")


def traces(figure: dict) -> dict[str, dict]:
    """Named traces (bars, lines, the target), leaving out the label-only text traces."""
    return {t.get("name", ""): t for t in figure["data"] if t.get("name") != "labels"}


def footnote(figure: dict) -> str:
    return next(a["text"] for a in figure["layout"]["annotations"] if a.get("name") == "footnote")


def table(columns: list[str], rows: list[tuple]) -> pa.Table:
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})


def rows(frame: pd.DataFrame, columns: list[str], digits: int = 4) -> list[tuple]:
    """Plain Python tuples: dates as date, floats rounded, missing values as None."""
    out = []
    for record in frame[columns].itertuples(index=False):
        values = []
        for value in record:
            if isinstance(value, pd.Timestamp):
                value = value.date()
            elif hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float):
                value = None if pd.isna(value) else round(value, digits)
            elif value is None or value is pd.NaT or value is pd.NA:
                value = None
            values.append(value)
        out.append(tuple(values))
    return out


def month(text: str) -> date:
    year, number = text.split("-")
    return date(int(year), int(number), 1)
