"""The message catalogue: Simplified Chinese by default, English on request.

Messages live in `civindex/i18n/*.toml`, one file per area, each key with a `zh` and an `en`
text. `t(key, **values)` formats the text of the active language, set once per script run.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@cache
def catalogue() -> dict[str, dict[str, str]]:
    messages: dict[str, dict[str, str]] = {}
    for path in sorted(Path(__file__).parent.glob("*.toml")):
        with path.open("rb") as handle:
            for key, texts in tomllib.load(handle).items():
                if key in messages:
                    raise ValueError(f"message {key!r} is defined twice (again in {path.name})")
                messages[key] = texts
    return messages


def set_language(language: str | None) -> str:
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _language.set(language)
    return language


def language() -> str:
    return _language.get()


def t(key: str, **values) -> str:
    texts = catalogue().get(key)
    if texts is None:
        raise KeyError(f"no message {key!r} in the catalogue")
    text = texts.get(language()) or texts[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
