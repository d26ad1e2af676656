"""Plotly figures reused across reruns: building one costs more than the cached query behind
it, and a warm page (SPEC §7, ≤ 0.2 s) should only send them.

A figure is kept as the JSON Plotly.js takes (`figure_json`) and handed to st.plotly_chart as a
`PreparedFigure`: st.plotly_chart would validate a plain dict by building a `go.Figure` of it,
and deep-copies a `go.Figure` (`to_dict`) on every run, each costing more than the drawing.

A figure is keyed by everything it is drawn from: the language, every field of the spec and a
hash of its data. The footnote names the snapshot version, so a new snapshot never hits an old
figure. Figures are shared between sessions and must not be modified after they are built.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import threading
from collections import OrderedDict

from plotly.basedatatypes import BaseFigure

from civindex.charts.plotly import clear_text_caches, figure_json
from civindex.charts.spec import ChartSpec
from civindex.i18n import language

MAX_FIGURES = 256


class PreparedFigure(BaseFigure):
    """A figure in the JSON form Plotly.js takes, for st.plotly_chart, which takes a Plotly
    figure as its `to_dict()` says and sends that (plotly.tools.return_figure_from_figure_or_data,
    read only). Nothing else of a `go.Figure` is here: it has no traces to change."""

    def __init__(self, figure: dict) -> None:  # not BaseFigure's: it would validate
        self._prepared = figure

    def to_dict(self) -> dict:
        return self._prepared

    def to_plotly_json(self) -> dict:
        return self._prepared

    def __repr__(self) -> str:
        return f"PreparedFigure({len(self._prepared['data'])} traces)"


_figures: OrderedDict[tuple, PreparedFigure] = OrderedDict()
_lock = threading.Lock()


def figure_key(spec: ChartSpec) -> tuple | None:
    """Everything the figure depends on, or None when the data cannot be hashed."""
    try:  # pickled, the rows are their own fingerprint: 5× faster than hash_pandas_object
        rows = pickle.dumps(spec.data, protocol=5)
    except Exception:
        return None
    fields = tuple(
        (f.name, repr(getattr(spec, f.name))) for f in dataclasses.fields(spec) if f.name != "data"
    )
    # the pickle holds the column names and dtypes as well as the values
    return (language(), fields, hashlib.blake2b(rows, digest_size=16).digest())


def figure_for(spec: ChartSpec) -> PreparedFigure:
    key = figure_key(spec)
    if key is None:
        return PreparedFigure(figure_json(spec))
    with _lock:
        figure = _figures.get(key)
        if figure is not None:
            _figures.move_to_end(key)
            return figure
    figure = PreparedFigure(figure_json(spec))
    with _lock:
        _figures[key] = figure
        while len(_figures) > MAX_FIGURES:
            _figures.popitem(last=False)
    return figure


def clear() -> None:
    with _lock:
        _figures.clear()
    clear_text_caches()
