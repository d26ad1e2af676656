"""Access: the users command, who the app thinks you are, and which pages each role gets."""

import json
import subprocess
import sys

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from civindex import audit, auth
from civindex.config import REPO_ROOT


def users(data_dir, *args, password: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "civindex", "--user", "admin1", "users", *args],
        cwd=REPO_ROOT,
        input=(password + "\n") if password is not None else "",
        capture_output=True,
        text=True,
        env={"CIVINDEX_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_users_command_manages_accounts_without_plaintext(tmp_path):
    added = users(tmp_path, "add", "li.na", "--role", "analyst", password="Fuzhou-2026")
    assert added.returncode == 0, added.stderr
    assert "Fuzhou-2026" not in (tmp_path / "accounts" / "users.json").read_text()
    listed = users(tmp_path, "list")
    assert "li.na" in listed.stdout and "analyst" in listed.stdout
    assert users(tmp_path, "set-role", "li.na", "admin").returncode == 0
    assert (
        json.loads((tmp_path / "accounts" / "users.json").read_text())["li.na"]["role"] == "admin"
    )
    assert users(tmp_path, "passwd", "li.na", password="New-pass-2026").returncode == 0
    limiter = auth.RateLimiter()
    assert auth.authenticate(tmp_path, "li.na", "Fuzhou-2026", limiter=limiter) is None
    assert auth.authenticate(tmp_path, "li.na", "New-pass-2026", limiter=limiter).role == "admin"
    assert users(tmp_path, "remove", "li.na").returncode == 0
    actions = audit.read(tmp_path)["action"].tolist()
    assert actions == ["users.add", "users.set-role", "users.passwd", "users.remove"]
    assert set(audit.read(tmp_path)["user"]) == {"admin1"}


def test_users_command_refuses_short_password_and_unknown_user(tmp_path):
    short = users(tmp_path, "add", "wang", "--role", "viewer", password="short")
    assert short.returncode == 1 and "at least 8" in short.stderr
    missing = users(tmp_path, "remove", "nobody")
    assert missing.returncode == 1 and "no user" in missing.stderr
    assert auth.load_accounts(tmp_path) == {}


@pytest.fixture
def network_facing():
    """Pretend the server listens on every interface, as a deployment would."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)


@pytest.fixture
def loopback():
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", before)


def _run(session: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=60)
    for key, value in (session or {}).items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_loopback_without_accounts_is_desktop_admin(demo_env, loopback):
    app = _run()
    actor = app.session_state["_civindex_actor_now"]
    assert (actor.name, actor.role, actor.via) == ("local", "admin", "desktop")
    assert any("单机模式" in info.value for info in app.sidebar.info)


def test_network_facing_without_sign_in_is_a_viewer(demo_store, network_facing):
    auth.add_user(demo_store.root, "analyst1", "analyst", "Analyst-2026")
    app = _run()
    actor = app.session_state["_civindex_actor_now"]
    assert actor.role == "viewer" and actor.via == "anonymous"
    # The data pages are not registered for a viewer, so they cannot be reached at all.
    for page in ("pages/upload.py", "pages/snapshots.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)


@pytest.mark.parametrize(
    ("role", "reachable"),
    [("viewer", False), ("analyst", True), ("admin", True)],
)
def test_data_pages_are_listed_for_analysts_and_admins(demo_store, network_facing, role, reachable):
    auth.add_user(demo_store.root, "someone", role, "Password-2026")
    app = _run({"_civindex_actor": auth.Actor("someone", role)})
    assert app.session_state["_civindex_actor_now"].role == role
    if reachable:
        app.switch_page("pages/upload.py").run()
        assert not app.exception
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page("pages/upload.py")


def test_a_removed_account_loses_its_session_role(demo_store, network_facing):
    auth.add_user(demo_store.root, "gone", "admin", "Password-2026")
    app = _run({"_civindex_actor": auth.Actor("gone", "admin")})
    assert app.session_state["_civindex_actor_now"].role == "admin"
    auth.remove_user(demo_store.root, "gone")
    app = _run({"_civindex_actor": auth.Actor("gone", "admin")})
    assert app.session_state["_civindex_actor_now"].role == "viewer"


def test_network_facing_without_any_account_is_still_read_only(demo_env, network_facing):
    app = _run()
    assert app.session_state["_civindex_actor_now"].role == "viewer"


def test_sign_in_form_signs_in_and_records_it(demo_store, network_facing):
    auth.add_user(demo_store.root, "analyst1", "analyst", "Analyst-2026")
    app = _run()
    app.sidebar.text_input(key="w_sign_in_name").input("analyst1")
    app.sidebar.text_input(key="w_sign_in_password").input("wrong-password")
    form_submit = [b for b in app.sidebar.button if b.label in ("登录", "Sign in")]
    form_submit[-1].click().run()
    # AppTest reruns only the page script after the first run, so read the session state the
    # sign-in callback wrote rather than the (not re-rendered) sidebar.
    assert "不正确" in app.session_state["_sign_in_error"]
    assert "_civindex_actor" not in app.session_state
    app = _run()
    app.sidebar.text_input(key="w_sign_in_name").input("analyst1")
    app.sidebar.text_input(key="w_sign_in_password").input("Analyst-2026")
    [b for b in app.sidebar.button if b.label in ("登录", "Sign in")][-1].click().run()
    actor = app.session_state["_civindex_actor"]
    assert (actor.name, actor.role) == ("analyst1", "analyst")
    events = audit.read(demo_store.root)
    assert events["outcome"].tolist() == ["failed", "ok"]
    assert set(events["action"]) == {"sign_in"}
