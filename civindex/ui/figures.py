"""Plotly figures reused across reruns: building one costs more than the cached query behind
it, and a warm page (SPEC §7, ≤ 0.2 s) should only send them.

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

import plotly.graph_objects as go

from civindex.charts.plotly import clear_text_caches, to_figure
from civindex.charts.spec import ChartSpec
from civindex.i18n import language

MAX_FIGURES = 256

_figures: OrderedDict[tuple, go.Figure] = OrderedDict()
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
    shape = (tuple(map(str, spec.data.columns)), tuple(map(str, spec.data.dtypes)))
    return (language(), fields, shape, hashlib.blake2b(rows, digest_size=16).digest())


def figure_for(spec: ChartSpec) -> go.Figure:
    key = figure_key(spec)
    if key is None:
        return to_figure(spec)
    with _lock:
        figure = _figures.get(key)
        if figure is not None:
            _figures.move_to_end(key)
            return figure
    figure = to_figure(spec)
    with _lock:
        _figures[key] = figure
        while len(_figures) > MAX_FIGURES:
            _figures.popitem(last=False)
    return figure


def clear() -> None:
    with _lock:
        _figures.clear()
    clear_text_caches()
