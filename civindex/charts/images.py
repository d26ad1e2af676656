"""Server-side PNG of a chart spec (kaleido driving a headless Chrome/Chromium).

Kaleido needs a Chrome or Chromium on the server and CJK fonts for Chinese text. Where either
is missing the caller gets `ImageUnavailable` with a message that points to the chart's own
camera button (the browser's PNG at scale 3), which always works.
"""

from __future__ import annotations

from civindex.charts.plotly import to_figure
from civindex.charts.spec import ChartSpec

SCALE = 3
WIDTH = 1200


class ImageUnavailable(RuntimeError):
    """No server-side renderer here; the message says what is missing."""


def to_png(spec: ChartSpec, scale: int = SCALE, width: int = WIDTH) -> bytes:
    try:
        import kaleido  # noqa: F401
    except ImportError as error:
        raise ImageUnavailable("server-side PNG needs the kaleido package") from error
    figure = to_figure(spec)
    try:
        return figure.to_image(format="png", scale=scale, width=width, height=spec.height)
    except Exception as error:  # kaleido reports a missing browser in several ways
        raise ImageUnavailable(
            "server-side PNG needs Chrome or Chromium (and CJK fonts) on the server; "
            f"use the chart's camera button instead ({type(error).__name__}: {error})"
        ) from error


def write_pngs(specs: list[ChartSpec], folder, scale: int = SCALE, width: int = WIDTH) -> list:
    """All charts as PNG files in one browser session (much faster than one call each)."""
    from pathlib import Path

    import plotly.io as pio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{spec.file_stem()}.png" for spec in specs]
    try:
        pio.write_images(
            [to_figure(spec) for spec in specs],
            [str(p) for p in paths],
            format="png",
            scale=scale,
            width=width,
            height=[spec.height for spec in specs],
        )
    except Exception as error:
        raise ImageUnavailable(
            "server-side PNG needs Chrome or Chromium (and CJK fonts) on the server; "
            f"use the chart's camera button instead ({type(error).__name__}: {error})"
        ) from error
    return paths
