"""Access: the users command, who the app thinks you are, and which pages each role gets."""

import json
import re
import subprocess
import sys
from datetime import date

import pyarrow as pa
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
    events = events[events["action"] == "sign_in"]
    assert events["outcome"].tolist() == ["failed", "ok"]
    assert events["user"].tolist() == ["analyst1", "analyst1"]


# Uploaded text is data: never HTML ----------------------------------------------------------

HTML_SINKS = re.compile(
    r"unsafe_allow_html\s*=\s*(?!False\b)|\bst\.html\s*\(|components\S*\.html\s*\("
)
# The only markup the app sends: presentation mode's CSS, a constant of its module.
ALLOWED_HTML = {("civindex/ui/present.py", "st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)")}


def html_sinks() -> set[tuple[str, str]]:
    files = [REPO_ROOT / "dashboard.py", *(REPO_ROOT / "pages").rglob("*.py")]
    files += (REPO_ROOT / "civindex").rglob("*.py")
    found = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if HTML_SINKS.search(line):
                found.add((path.relative_to(REPO_ROOT).as_posix(), line.strip()))
    return found


def test_no_source_sends_html_but_the_constant_presentation_css():
    assert HTML_SINKS.search("st.markdown(name, unsafe_allow_html=flag)")
    assert HTML_SINKS.search("st.html(f'<b>{name}</b>')")
    assert not HTML_SINKS.search("st.markdown(text, unsafe_allow_html=False)")
    assert html_sinks() == ALLOWED_HTML


SCRIPT = "<script>alert(1)</script>"


def test_a_script_in_a_unit_and_window_name_is_shown_as_text(store, loopback):
    from civindex import reference_admin

    units = reference_admin.current("units", store.root)
    units.loc[units["unit_code"] == "gat", ["unit_name", "unit_short_name"]] = SCRIPT
    reference_admin.replace(
        "units",
        units.to_csv(index=False).encode(),
        "units.csv",
        actor=auth.Actor("boss", "admin"),
        root=store.root,
    )
    rows = pa.table(
        {
            "response_id": ["x1", "x2"],
            "surveyed_on": [date(2025, 3, 4), date(2025, 3, 5)],
            "unit_code": ["gat", "gat"],
            "district_code": ["350102", "350102"],
            "window_name": [SCRIPT, f"{SCRIPT}**粗体**"],
            "rating_overall": [5, 2],
            "response_count": [40, 10],
        }
    )
    store.publish("satisfaction", rows, user="analyst1")

    app = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=60)
    app.query_params["from"], app.query_params["to"] = "2025-01", "2025-06"
    app.run()
    app.switch_page("pages/satisfaction.py").run()
    assert not app.exception, [e.value for e in app.exception]
    cells = {str(v) for frame in app.dataframe for v in frame.value.to_numpy().ravel()}
    assert SCRIPT in cells  # the unit's name, a plain cell
    app.query_params["focus_unit"] = "gat"
    app.switch_page("pages/unit_profile.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert SCRIPT in app.title[0].value
    texts = [*app.markdown, *app.caption]
    assert any(SCRIPT in m.value for m in texts)  # the unit's full name, in its caption
    assert not [m for m in texts if "<script" in m.value and m.proto.allow_html]
    assert not app.get("html")


# Every change and export leaves an audit line -----------------------------------------------


def civindex_cli(data_dir, *args):
    return subprocess.run(
        [sys.executable, "-m", "civindex", "--user", "ops", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"CIVINDEX_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_cli_rollback_restore_and_demo_clear_are_audited(store):
    rows = pa.table(
        {
            "round_name": ["2025年度测评"],
            "round_date": [date(2025, 12, 10)],
            "round_type": ["年度测评"],
            "district_code": ["350102"],
            "indicator_code": ["order"],
            "score": [16.0],
            "max_score": [18.0],
        }
    )
    commit = store.publish("index_results", rows, user="analyst1")
    store.publish(
        "index_results",
        rows.set_column(0, "round_name", pa.array(["模拟"])),
        user="demo",
        upload_id="demo-1",
        is_demo=True,
    )
    assert civindex_cli(store.root, "rollback", commit.upload_id).returncode == 0
    assert civindex_cli(store.root, "rollback", "u-missing").returncode == 1
    assert (
        civindex_cli(
            store.root, "restore", "--dataset", "index_results", "--version", "1"
        ).returncode
        == 0
    )
    cleared = civindex_cli(store.root, "demo", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    log = audit.read(store.root)
    assert log[["action", "outcome"]].values.tolist() == [
        ["rollback", "done"],
        ["rollback", "failed"],
        ["restore", "done"],
        ["clear_demo", "done"],
    ]
    assert set(log["user"]) == {"ops"}
    assert log["upload_id"].tolist()[:2] == [commit.upload_id, "u-missing"]
    assert log["rows"].tolist()[-1] == 1


def test_page_exports_are_audited_when_built_not_when_offered(store):
    from civindex.ui.exports import audited

    build = audited(store.root, "li.na", "xlsx", "总览_202501-202506.xlsx", lambda: b"PK")
    assert audit.read(store.root).empty
    assert build() == b"PK"
    (event,) = audit.read(store.root).to_dict("records")
    assert (event["action"], event["user"], event["file"]) == (
        "export.xlsx",
        "li.na",
        "总览_202501-202506.xlsx",
    )
