"""The server settings `streamlit run dashboard.py` starts with (.streamlit/config.toml): the
hardened defaults the README lists, and the two that keep a rerun from paying for development
conveniences (SPEC §7: a real server's run, not only the benchmark's)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"


@pytest.fixture(scope="module")
def options() -> dict:
    parsed = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    return {
        f"{section}.{name}": value
        for section, names in parsed.items()
        for name, value in names.items()
    }


def test_every_setting_is_a_streamlit_option(options):
    """A misspelt option is ignored by Streamlit without a word."""
    known = set(st_config.get_config_options())
    assert sorted(set(options) - known) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("server.address", "127.0.0.1"),
        ("server.enableXsrfProtection", True),
        ("server.maxUploadSize", 200),
        ("server.enableStaticServing", False),
        ("client.toolbarMode", "viewer"),
        ("client.showErrorDetails", "none"),
        ("browser.gatherUsageStats", False),
    ],
)
def test_hardened_defaults(options, option, value):
    assert options[option] == value


def test_a_rerun_forces_no_full_garbage_collection(options):
    """Streamlit's default collects every generation after each script run: ~150 ms with the
    GIL held on the 2-core machine, measured in a real server (README, Performance)."""
    assert st_config.get_config_options()["runner.postScriptGC"].default_val is True
    assert options["runner.postScriptGC"] is False


def test_a_new_session_registers_no_source_watchers(options):
    """The default watches every module of the app for each new session (~100 ms before its
    first run); with runOnSave off it only offered a rerun button to developers."""
    assert st_config.get_config_options()["server.fileWatcherType"].default_val == "auto"
    assert options["server.runOnSave"] is False
    assert options["server.fileWatcherType"] == "none"
