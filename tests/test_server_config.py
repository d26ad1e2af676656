"""The server settings `streamlit run dashboard.py` starts with (.streamlit/config.toml): the
hardened defaults the README lists, and the two that keep a rerun from paying for development
conveniences (SPEC §7: a real server's run, not only the benchmark's)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / ".streamlit" / "config.toml"
SCRIPTS = [REPO / "dashboard.py", *sorted((REPO / "pages").glob("*.py"))]


@pytest.fixture
def options(monkeypatch) -> dict:
    """The values Streamlit itself reads from the file, as `streamlit run` in the repository's
    root does: a setting in the wrong section or of a type it cannot use shows here."""
    monkeypatch.chdir(REPO)
    parsed = st_config.get_config_options(force_reparse=True)
    return {name: option.value for name, option in parsed.items()}


def test_every_setting_is_a_streamlit_option():
    """A misspelt option is ignored by Streamlit without a word."""
    parsed = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    written = {f"{section}.{name}" for section, names in parsed.items() for name in names}
    assert len(written) > 10
    assert sorted(written - set(st_config.get_config_options())) == []


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


def test_no_script_relies_on_magic(options):
    """Magic writes a bare expression (a name, a literal) to the page. It is off, which changes
    nothing only while no script has one: magic's own pass over each script must add no write.
    Streamlit re-compiles the scripts whenever every session has closed."""
    from streamlit.runtime.scriptrunner import magic

    assert options["runner.magicEnabled"] is False
    assert len(SCRIPTS) > 8
    for script in SCRIPTS:
        tree = magic.add_magic(script.read_text(encoding="utf-8"), str(script))
        writes = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "transparent_write"
        ]
        assert writes == [], f"{script.name} line(s) {writes} would be written by magic"
