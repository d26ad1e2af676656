"""The admin core (accounts, audit log, reference lists) and the 管理 page under AppTest."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import write_sign_ins
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from civindex import admin, audit, auth, config, reference, reference_admin
from civindex.auth import AccessDenied, AccountError, Actor
from civindex.i18n import t
from civindex.reference_admin import ReferenceRefused

ADMIN = Actor("boss", "admin")
REPO_UNITS = config.REPO_ROOT / "data" / "reference" / "units.csv"


def units(root, change=None) -> bytes:
    """The units list in use, changed by `change(frame)`, as the CSV an admin would upload."""
    frame = reference_admin.current("units", root)
    if change is not None:
        frame = change(frame)
    return frame.to_csv(index=False).encode("utf-8")


def renamed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame["unit_code"] == "gat", "unit_short_name"] = "公安厅"
    return frame


def events(root, action: str | None = None) -> pd.DataFrame:
    log = audit.read(root)
    return log[log["action"] == action] if action else log


def publish_participation(store, unit_code: str) -> None:
    rows = pa.table(
        {
            "period_month": [date(2025, 3, 1)],
            "unit_code": [unit_code],
            "district_code": ["350102"],
            "category_code": ["community"],
            "tasks_claimed": [1],
            "tasks_completed": [1],
            "activities": [2],
            "participants": [20],
            "volunteer_hours": [8.0],
        }
    )
    store.publish("participation", rows, user="analyst1")


# Reference lists ---------------------------------------------------------------------------


def test_a_replacement_is_used_copies_all_lists_keeps_the_old_file_and_is_audited(store):
    root = store.root
    assert config.reference_dir(root) == REPO_UNITS.parent

    replaced = reference_admin.replace(
        "units", units(root, renamed), "units.csv", actor=ADMIN, root=root
    )

    assert config.reference_dir(root) == root / "reference"
    assert sorted(p.name for p in (root / "reference").glob("*.csv")) == [
        "categories.csv",
        "districts.csv",
        "indicators.csv",
        "units.csv",
    ]
    assert reference.names("units", root=root)["gat"] == "公安厅"
    assert replaced.rows == 111
    assert reference_admin.history("units", root) == [replaced.kept]
    assert replaced.kept.read_bytes() == REPO_UNITS.read_bytes()
    assert replaced.kept.name.endswith("Z_units.csv")
    (event,) = events(root, "reference.replace").to_dict("records")
    assert (event["user"], event["outcome"], event["dataset"]) == ("boss", "done", "units")
    assert (event["rows"], event["kept"]) == (111, replaced.kept.name)
    assert event["message"] == t("admin.reference.summary", added=0, removed=0, changed=1)


def test_each_replacement_keeps_the_list_it_replaced(store):
    root = store.root
    first = units(root, renamed)
    reference_admin.replace("units", first, "a.csv", actor=ADMIN, root=root)
    second = units(root, lambda f: f[f["unit_code"] != "mzt"])
    reference_admin.replace("units", second, "b.csv", actor=ADMIN, root=root)

    newest, oldest = reference_admin.history("units", root)
    assert oldest.read_bytes() == REPO_UNITS.read_bytes()
    assert newest.read_bytes() == first
    assert "mzt" not in reference.names("units", root=root)
    assert len(reference.load("units", root)) == 110


def test_a_replacement_reports_added_removed_and_changed_codes(store):
    root = store.root

    def edit(frame):
        extra = frame.iloc[[0]].assign(unit_code="new1", unit_name="新单位")
        return pd.concat([renamed(frame[frame["unit_code"] != "mzt"]), extra])

    checked = reference_admin.check("units", units(root, edit), "u.csv", root)
    assert checked.ok, checked.problems
    assert (checked.added, checked.removed, checked.changed) == (["new1"], ["mzt"], ["gat"])
    assert checked.summary() == [
        t("admin.reference.changes", added=1, removed=1, changed=1),
        t("admin.reference.codes_added", codes="new1"),
        t("admin.reference.codes_removed", codes="mzt"),
        t("admin.reference.codes_changed", codes="gat"),
    ]


def test_booleans_are_written_in_lower_case_and_excel_files_are_read(store):
    root = store.root
    frame = reference_admin.current("districts", root)
    core = (frame["is_core_urban"] == "true").sum()
    frame["is_core_urban"] = frame["is_core_urban"].str.upper()
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    reference_admin.replace("districts", buffer.getvalue(), "d.xlsx", actor=ADMIN, root=root)
    written = (root / "reference" / "districts.csv").read_text(encoding="utf-8")
    assert ",TRUE" not in written and ",true" in written
    assert reference.load("districts", root)["is_core_urban"].sum() == core > 0


def _drop_column(frame):
    return frame.drop(columns=["unit_system"])


def _duplicate(frame):
    return pd.concat([frame, frame[frame["unit_code"] == "gat"]])


def _unknown_district(frame):
    return frame.assign(
        paired_district_code=frame["paired_district_code"].where(
            frame["unit_code"] != "gat", "999999"
        )
    )


def _empty_code(frame):
    return frame.assign(unit_code=frame["unit_code"].where(frame["unit_code"] != "gat", ""))


def _bad_boolean(frame):
    return frame.assign(has_service_window=frame["has_service_window"].replace("true", "是"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_column, "unit_system"),
        (_duplicate, t("admin.reference.duplicate", codes="gat")),
        (_unknown_district, t("admin.reference.paired", codes="999999")),
        (_empty_code, t("admin.reference.empty_code", column="unit_code")),
        (_bad_boolean, t("admin.reference.boolean", column="has_service_window", values="是")),
    ],
    ids=["missing-column", "duplicate-code", "unknown-paired-district", "empty-code", "boolean"],
)
def test_a_bad_replacement_is_refused_with_the_reason_and_changes_nothing(store, change, expected):
    root = store.root
    with pytest.raises(ReferenceRefused) as refused:
        reference_admin.replace("units", units(root, change), "bad.csv", actor=ADMIN, root=root)
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems
    assert config.reference_dir(root) == REPO_UNITS.parent
    assert reference_admin.history("units", root) == []
    (event,) = events(root, "reference.replace").to_dict("records")
    assert (event["outcome"], event["file"]) == ("rejected", "bad.csv")
    assert expected in event["message"]


def test_a_missing_column_names_the_expected_header(store):
    checked = reference_admin.check("units", units(store.root, _drop_column), "u.csv", store.root)
    assert not checked.ok
    (problem,) = checked.problems
    header = ", ".join(reference_admin.current("units", store.root).columns)
    assert problem.startswith(t("admin.reference.header", expected=header, got="")[:20])
    assert header in problem


def test_a_unit_code_used_by_published_rows_cannot_be_removed(store):
    root = store.root
    publish_participation(store, "gat")
    without = units(root, lambda f: f[~f["unit_code"].isin(["gat", "mzt"])])

    with pytest.raises(ReferenceRefused) as refused:
        reference_admin.replace("units", without, "u.csv", actor=ADMIN, root=root)

    where = t("admin.reference.used_by_data", dataset="单位参与")
    assert refused.value.problems == [t("admin.reference.still_used", where=where, codes="gat")]
    # mzt has no published rows: it may go.
    unused = units(root, lambda f: f[f["unit_code"] != "mzt"])
    assert reference_admin.replace("units", unused, "u.csv", actor=ADMIN, root=root).rows == 110


def test_a_district_paired_with_a_unit_cannot_be_removed(store):
    root = store.root
    districts = reference_admin.current("districts", root)
    without = districts[districts["district_code"] != "350103"].to_csv(index=False).encode()
    checked = reference_admin.check("districts", without, "d.csv", root)
    assert checked.problems == [
        t(
            "admin.reference.still_used",
            where=t("admin.reference.used_by_units"),
            codes="350103",
        )
    ]


def test_a_bad_number_would_break_the_pages_so_it_is_refused(store):
    frame = reference_admin.current("indicators", store.root)
    frame.loc[0, "max_points"] = "二十九"
    checked = reference_admin.check(
        "indicators", frame.to_csv(index=False).encode(), "i.csv", store.root
    )
    assert checked.problems == [t("admin.reference.number", column="max_points", values="二十九")]


def test_the_download_neutralises_formulas_and_is_audited(store):
    root = store.root
    evil = units(
        root,
        lambda f: f.assign(
            honour_level=f["honour_level"].where(f["unit_code"] != "gat", "=HYPERLINK(1)")
        ),
    )
    reference_admin.replace("units", evil, "u.csv", actor=ADMIN, root=root)
    text = reference_admin.download("units", root, ADMIN).decode("utf-8-sig")
    assert ",'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    (event,) = events(root, "export.reference").to_dict("records")
    assert (event["user"], event["dataset"], event["rows"]) == ("boss", "units", 111)


# Role checks in the core, not only in the navigation --------------------------------------


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_non_admins_are_refused_by_the_core_functions(store, role):
    root = store.root
    someone = Actor("someone", role)
    auth.add_user(root, "boss", "admin", "Password-2026")
    calls = [
        lambda: reference_admin.replace("units", units(root), "u.csv", actor=someone, root=root),
        lambda: reference_admin.download("units", root, someone),
        lambda: admin.add_account(root, someone, "intruder", "admin", "Password-2026"),
        lambda: admin.set_account_role(root, someone, "boss", "viewer"),
        lambda: admin.reset_password(root, someone, "boss", "Password-9999"),
        lambda: admin.remove_account(root, someone, "boss"),
        lambda: admin.accounts(root, someone),
        lambda: admin.audit_log(root, someone),
        lambda: admin.audit_csv(root, someone),
    ]
    for call in calls:
        with pytest.raises(AccessDenied):
            call()
    assert auth.load_accounts(root)["boss"]["role"] == "admin"
    assert set(auth.load_accounts(root)) == {"boss"}
    assert config.reference_dir(root) == REPO_UNITS.parent
    log = audit.read(root)
    assert set(log["outcome"]) == {"refused"}
    assert set(log["user"]) == {"someone"}
    assert sorted(log["action"]) == sorted(
        [
            "reference.replace",
            "export.reference",
            "users.add",
            "users.set-role",
            "users.passwd",
            "users.remove",
            "export.audit",
        ]
    )


# Accounts --------------------------------------------------------------------------------


def test_account_changes_by_an_admin_are_made_and_audited(store):
    root = store.root
    admin.add_account(root, ADMIN, "boss", "admin", "Password-2026")
    admin.add_account(root, ADMIN, "li.na", "viewer", "Password-2026")
    admin.set_account_role(root, ADMIN, "li.na", "analyst")
    admin.reset_password(root, ADMIN, "li.na", "Changed-2026")
    limiter = auth.RateLimiter()
    assert auth.authenticate(root, "li.na", "Changed-2026", limiter=limiter).role == "analyst"
    listed = admin.accounts(root, ADMIN)
    assert listed[["name", "role"]].values.tolist() == [["boss", "admin"], ["li.na", "analyst"]]
    assert "hash" not in listed.columns and "salt" not in listed.columns
    admin.remove_account(root, ADMIN, "li.na")
    assert set(auth.load_accounts(root)) == {"boss"}
    log = audit.read(root)
    assert log["action"].tolist() == [
        "users.add",
        "users.add",
        "users.set-role",
        "users.passwd",
        "users.remove",
    ]
    assert set(log["outcome"]) == {"done"} and set(log["user"]) == {"boss"}
    assert log["target"].tolist() == ["boss", "li.na", "li.na", "li.na", "li.na"]
    assert "Changed-2026" not in audit.path(root).read_text(encoding="utf-8")


def test_the_first_account_must_be_an_admin(store):
    with pytest.raises(AccountError, match=t("admin.accounts.first_admin")):
        admin.add_account(store.root, ADMIN, "li.na", "analyst", "Password-2026")
    assert auth.load_accounts(store.root) == {}
    (event,) = audit.read(store.root).to_dict("records")
    assert (event["action"], event["outcome"]) == ("users.add", "failed")


def test_the_last_admin_cannot_be_removed_or_demoted(store):
    root = store.root
    admin.add_account(root, ADMIN, "boss", "admin", "Password-2026")
    admin.add_account(root, ADMIN, "li.na", "analyst", "Password-2026")
    with pytest.raises(AccountError, match=t("admin.accounts.last_admin")):
        admin.remove_account(root, ADMIN, "boss")
    with pytest.raises(AccountError, match=t("admin.accounts.last_admin")):
        admin.set_account_role(root, ADMIN, "boss", "analyst")
    admin.set_account_role(root, ADMIN, "li.na", "admin")
    admin.set_account_role(root, ADMIN, "boss", "analyst")
    assert auth.load_accounts(root)["boss"]["role"] == "analyst"


# The audit log ----------------------------------------------------------------------------


def test_the_audit_csv_neutralises_a_formula_user_name_and_is_audited(store):
    root = store.root
    audit.record(root, "sign_in", "=cmd|' /C calc'!A0", outcome="failed")
    content = admin.audit_csv(root, ADMIN)
    frame = pd.read_csv(io.BytesIO(content), dtype=str, encoding="utf-8-sig")
    assert frame["user"].tolist() == ["'=cmd|' /C calc'!A0"]
    assert b"\n=cmd" not in content and b",=cmd" not in content
    (event,) = events(root, "export.audit").to_dict("records")
    assert (event["user"], event["rows"], event["outcome"]) == ("boss", 1, "done")


def test_the_audit_log_filters_by_action_user_and_local_day(store):
    root = store.root
    target = audit.path(root)
    target.parent.mkdir(parents=True)
    lines = [
        '{"at": "2026-03-01T15:59:00+00:00", "user": "a", "action": "sign_in"}',
        '{"at": "2026-03-01T16:01:00+00:00", "user": "b", "action": "rollback"}',
        '{"at": "2026-03-03T02:00:00+00:00", "user": "a", "action": "rollback"}',
    ]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def shown(**filters):
        log = admin.audit_log(root, ADMIN, **filters)
        return list(zip(log["at"], log["user"], strict=True))

    # 16:01 UTC is the next day in Fuzhou (UTC+8); newest first.
    assert shown() == [
        ("2026-03-03 10:00:00", "a"),
        ("2026-03-02 00:01:00", "b"),
        ("2026-03-01 23:59:00", "a"),
    ]
    assert shown(actions=["rollback"], users=["a"]) == [("2026-03-03 10:00:00", "a")]
    assert shown(start=date(2026, 3, 2), end=date(2026, 3, 2)) == [("2026-03-02 00:01:00", "b")]
    assert shown(start=date(2026, 3, 2)) == [
        ("2026-03-03 10:00:00", "a"),
        ("2026-03-02 00:01:00", "b"),
    ]
    assert admin.audit_choices(root, ADMIN) == (["rollback", "sign_in"], ["a", "b"])


# The 管理 page -----------------------------------------------------------------------------


@pytest.fixture
def network_facing():
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    yield
    st_config.set_option("server.address", before)


def admin_page(root, role: str = "admin") -> AppTest:
    auth.add_user(root, "boss", "admin", "Password-2026")
    if role != "admin":
        auth.add_user(root, "someone", role, "Password-2026")
    app = AppTest.from_file(str(config.REPO_ROOT / "dashboard.py"), default_timeout=90)
    app.session_state["_civindex_actor"] = Actor("boss" if role == "admin" else "someone", role)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_the_admin_page_is_not_listed_below_admin(store, network_facing, role):
    app = admin_page(store.root, role)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/admin.py")


def test_the_admin_page_lists_accounts_log_and_lists_and_adds_an_account(store, network_facing):
    root = store.root
    audit.record(root, "sign_in", "boss", outcome="ok")
    app = admin_page(root)
    app.switch_page("pages/admin.py").run()
    assert_clean(app)

    accounts, log, districts = (d.value for d in app.dataframe)
    assert accounts[["name", "role"]].values.tolist() == [["boss", t("role.admin")]]
    assert log[["user", "action", "outcome"]].values.tolist() == [
        ["boss", t("snapshots.action.sign_in"), "ok"]
    ]
    assert len(districts) == 12 and "350102" in districts["district_code"].tolist()
    assert app.caption.values.count(t("admin.audit.count", n=1)) == 1

    app.text_input(key="w_admin_new_name").input("li.na")
    app.selectbox(key="w_admin_role").set_value("analyst")
    app.text_input(key="w_admin_new_password").input("Password-2026")
    app.text_input(key="w_admin_new_again").input("Password-2026")
    next(b for b in app.button if b.label == t("admin.accounts.submit_add")).click().run()
    assert_clean(app)
    assert auth.load_accounts(root)["li.na"]["role"] == "analyst"
    done = t("admin.accounts.added", name="li.na", role=t("role.analyst"))
    assert done in [s.value for s in app.success]
    (event,) = events(root, "users.add").to_dict("records")
    assert (event["user"], event["target"], event["outcome"]) == ("boss", "li.na", "done")


def test_the_admin_page_changes_a_role_resets_a_password_and_removes_after_confirming(
    store, network_facing
):
    root = store.root
    auth.add_user(root, "li.na", "viewer", "Password-2026")
    app = admin_page(root)
    app.switch_page("pages/admin.py").run()
    app.selectbox(key="w_admin_account").set_value("li.na").run()
    app.selectbox(key="w_admin_set_role_li.na").set_value("analyst")
    app.button(key="w_admin_set_role").click().run()
    assert_clean(app)
    assert auth.load_accounts(root)["li.na"]["role"] == "analyst"

    app.text_input(key="w_admin_reset_password").input("Changed-2026")
    app.text_input(key="w_admin_reset_again").input("Changed-2026")
    next(b for b in app.button if b.label == t("admin.accounts.reset")).click().run()
    assert_clean(app)
    limiter = auth.RateLimiter()
    assert auth.authenticate(root, "li.na", "Changed-2026", limiter=limiter) is not None

    app.button(key="w_admin_rm").click().run()
    assert t("admin.accounts.remove_confirm", name="li.na") in [w.value for w in app.warning]
    assert "li.na" in auth.load_accounts(root)  # nothing removed before the confirmation
    app.button(key="w_admin_rm_yes").click().run()
    assert_clean(app)
    assert set(auth.load_accounts(root)) == {"boss"}
    assert t("admin.accounts.removed", name="li.na") in [s.value for s in app.success]
    assert audit.read(root)["action"].tolist() == ["users.set-role", "users.passwd", "users.remove"]


def test_a_long_audit_log_shows_its_newest_rows_and_exports_them_all(store, network_facing):
    """A year of sign-ins and exports: the table holds the newest rows, says how many there
    are, and the CSV has every one."""
    root = store.root
    write_sign_ins(root, 2500)
    app = admin_page(root)
    app.switch_page("pages/admin.py").run()
    assert_clean(app)
    shown = next(d.value for d in app.dataframe if "action" in d.value.columns)
    assert len(shown) == 2000
    assert shown["user"].iloc[0] == "u2499" and shown["user"].iloc[-1] == "u500"
    captions = [caption.value for caption in app.caption]
    assert t("admin.audit.newest", shown=2000, total=2500) in captions
    exported = pd.read_csv(io.BytesIO(admin.audit_csv(root, ADMIN)), encoding="utf-8-sig")
    assert len(exported) == 2500


def test_the_admin_page_replaces_a_reference_list_from_an_upload(store, network_facing):
    root = store.root
    app = admin_page(root)
    app.switch_page("pages/admin.py").run()
    app.selectbox(key="w_reference_kind").set_value("units").run()
    assert_clean(app)
    app.file_uploader[0].set_value(("units.csv", units(root, renamed), "text/csv")).run()
    assert_clean(app)
    changes = t("admin.reference.changes", added=0, removed=0, changed=1)
    assert changes in [i.value for i in app.info]

    app.button(key="w_reference_go").click().run()

    assert_clean(app)
    assert reference.names("units", root=root)["gat"] == "公安厅"
    (kept,) = reference_admin.history("units", root)
    assert any(kept.name in s.value for s in app.success)
    assert events(root, "reference.replace")["outcome"].tolist() == ["done"]


def test_the_admin_page_shows_why_an_upload_is_refused(store, network_facing):
    root = store.root
    app = admin_page(root)
    app.switch_page("pages/admin.py").run()
    app.selectbox(key="w_reference_kind").set_value("units").run()
    app.file_uploader[0].set_value(("units.csv", units(root, _duplicate), "text/csv")).run()
    assert not app.exception
    (error,) = app.error
    assert t("admin.reference.refused") in error.value and "gat" in error.value
    assert not [b for b in app.button if b.key == "w_reference_go"]


@pytest.mark.browser
def test_downloads_in_a_real_browser_are_built_on_the_click_and_audited(
    page, server_factory, tmp_path
):
    from conftest import wait_for_app

    url = server_factory(tmp_path)  # loopback, no account: desktop mode, the local user is admin
    page.goto(f"{url}/admin")
    wait_for_app(page)
    page.get_by_role("tab", name=t("admin.tab.reference")).click()
    assert audit.read(tmp_path).empty  # offering a download records nothing
    with page.expect_download() as download:
        page.get_by_role("button", name=t("admin.reference.download")).click()
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbfdistrict_code,")
    assert content.count(b"\n") == 13
    (event,) = audit.read(tmp_path).to_dict("records")
    assert (event["action"], event["user"], event["dataset"]) == (
        "export.reference",
        "local",
        "districts",
    )

    page.reload()
    wait_for_app(page)
    page.get_by_role("tab", name=t("admin.tab.audit")).click()
    with page.expect_download() as download:
        page.get_by_role("button", name=t("admin.audit.csv")).click()
    exported = pd.read_csv(download.value.path(), encoding="utf-8-sig", dtype=str)
    assert exported["action"].tolist() == ["export.reference"]
    assert audit.read(tmp_path)["action"].tolist() == ["export.reference", "export.audit"]
