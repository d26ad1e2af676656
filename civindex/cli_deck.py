"""`python -m civindex deck PAGE --out FILE.pptx [--param key=value …]`.

dashboard.py runs headlessly (Streamlit's AppTest) starting on that page, with the URL
parameters a browser would send, and the deck is built from the charts and KPI cards that run
drew — so the file holds exactly what the page shows for those filters.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from civindex import audit, config

if TYPE_CHECKING:  # python-pptx takes ~0.1 s to import: every other command skips it
    from civindex import deck as decks

PAGES = {
    "overview": ("pages/overview.py", "page.overview"),
    "participation": ("pages/participation.py", "page.participation"),
    "satisfaction": ("pages/satisfaction.py", "page.satisfaction"),
    "index": ("pages/index_results.py", "page.index"),
    "unit": ("pages/unit_profile.py", "page.unit_profile"),
    "district": ("pages/district_profile.py", "page.district_profile"),
    "warnings": ("pages/warnings.py", "page.warnings"),
}
URL_KEYS = ("from", "to", "district", "system", "unit", "category", "as_of", "lang")
PROFILE_KEYS = ("focus_unit", "focus_district")


def page_title(page: str) -> str:
    from civindex.i18n import t

    try:
        return t(PAGES[page][1])
    except KeyError:
        return page


def page_deck(page: str, params: dict[str, list[str]], timeout: float = 180) -> decks.Deck:
    from streamlit.testing.v1 import AppTest

    from civindex.ui.exports import DECK_KEY, START_PAGE_KEY

    app = AppTest.from_file(str(config.REPO_ROOT / "dashboard.py"), default_timeout=timeout)
    # dashboard.py makes this page the default one, so the first (full) run draws it.
    app.session_state[START_PAGE_KEY] = PAGES[page][0]
    for key, values in params.items():
        app.query_params[key] = values
    app.run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    if DECK_KEY not in app.session_state:
        raise RuntimeError(f"page {page!r} drew nothing to export (no data for these filters?)")
    return app.session_state[DECK_KEY]


def cmd_deck(args, store) -> int:
    from streamlit.logger import set_log_level

    set_log_level("error")
    params: dict[str, list[str]] = {}
    for key, value in args.param:
        if key not in (*URL_KEYS, *PROFILE_KEYS):
            print(
                f"error: unknown filter {key!r}; use {', '.join(URL_KEYS + PROFILE_KEYS)}",
                file=sys.stderr,
            )
            return 1
        params.setdefault(key, []).extend(v for v in value.split(",") if v)
    from civindex import deck as decks

    deck = page_deck(args.page, params)
    out = Path(args.out)
    out.write_bytes(decks.build(deck))
    if args.png_dir:
        from civindex.charts.images import ImageUnavailable, write_pngs

        folder = Path(args.png_dir)
        try:
            write_pngs(deck.charts, folder)
        except ImageUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{folder}: {len(deck.charts)} PNG files at scale 3")
    audit.record(
        store.root, "export.deck", args.user, file=out.name, page=args.page, outcome="done"
    )
    print(
        f"{out}: {2 + len(deck.charts) if deck.kpis else 1 + len(deck.charts)} slides, "
        f"{len(deck.charts)} charts"
    )
    return 0


def _raw_param(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ValueError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def add_parser(commands) -> None:
    parser = commands.add_parser("deck", help="write a page's meeting deck (PPTX, native charts)")
    parser.add_argument("page", choices=list(PAGES))
    parser.add_argument("--out", required=True, help="the .pptx file to write")
    parser.add_argument("--png-dir", help="also write each chart as a PNG (scale 3) here")
    parser.add_argument(
        "--param",
        type=_raw_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="URL filters: from=2025-01 to=2025-12 district=350102,350103 lang=en …",
    )
    parser.set_defaults(handler=cmd_deck)
