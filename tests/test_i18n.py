"""The message catalogue is complete in both languages and covers every key the code uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from civindex.i18n import LANGUAGES, catalogue, set_language, t

REPO = Path(__file__).resolve().parent.parent
# t("key") or t('key'), possibly with the key on the next line. Keys built at run time,
# t(f"kpi.{card.key}") or t("dataset." + name), are checked by their literal prefix only.
LITERAL_KEY = re.compile(r"""(?<![\w.])t\(\s*(["'])([^"'{}\n]+)\1\s*[,)]""")
BUILT_KEY_PREFIX = re.compile(
    r"""(?<![\w.])t\(\s*(?:f(["'])([^"'{}\n]*)\{|(["'])([^"'{}\n]*)\3\s*\+)"""
)


def source_files() -> list[Path]:
    files = [REPO / "dashboard.py", *(REPO / "pages").rglob("*.py")]
    files += (REPO / "civindex").rglob("*.py")
    return sorted(files)


def used_keys() -> dict[str, list[str]]:
    """Literal message keys in the source, each with where it is used."""
    found: dict[str, list[str]] = {}
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        for match in LITERAL_KEY.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(match.group(2), []).append(f"{path.relative_to(REPO)}:{line}")
    return found


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


MESSAGES = catalogue()


def test_the_scan_finds_the_keys_of_the_shell():
    keys = used_keys()
    assert len(keys) >= 10
    assert "banner.demo" in keys
    assert "empty.title" in keys


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages(key):
    texts = MESSAGES[key]
    assert set(texts) == set(LANGUAGES), f"{key}: languages {sorted(texts)}"
    for language in LANGUAGES:
        assert isinstance(texts[language], str) and texts[language].strip(), f"{key}.{language}"


# Messages whose languages may use different placeholders on purpose (the caller passes both).
DIFFERENT_PLACEHOLDERS = {
    # Window names are uploaded Chinese text that already starts with the unit's short name;
    # English adds the unit's English name in front.
    "satisfaction.window_of": ({"window"}, {"unit", "window"}),
}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_placeholders_match_between_languages(key):
    texts = MESSAGES[key]
    zh, en = placeholders(texts["zh"]), placeholders(texts["en"])
    if key in DIFFERENT_PLACEHOLDERS:
        assert (zh, en) == DIFFERENT_PLACEHOLDERS[key], key
    else:
        assert zh == en, key


def test_every_key_used_in_the_code_is_in_the_catalogue():
    missing = {key: where for key, where in used_keys().items() if key not in MESSAGES}
    assert not missing, "message keys used but not defined: " + "; ".join(
        f"{key} ({', '.join(where)})" for key, where in sorted(missing.items())
    )


def test_every_built_key_prefix_has_messages():
    prefixes = set()
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        prefixes |= {m.group(2) or m.group(4) for m in BUILT_KEY_PREFIX.finditer(text)}
    assert "kpi." in prefixes
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in MESSAGES), f"no message starts with {prefix!r}"


def test_t_formats_the_active_language():
    try:
        set_language("en")
        assert t("kpi.n", n="1,234") == "n=1,234"
        set_language("zh")
        assert t("kpi.n", n="1,234") == "样本 n=1,234"
        set_language("fr")
        assert t("page.overview") == "总览"
    finally:
        set_language("zh")
    with pytest.raises(KeyError):
        t("no.such.message")
