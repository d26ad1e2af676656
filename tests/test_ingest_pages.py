"""The 数据上传 and 数据快照 pages: AppTest runs, the pure functions they call, and a real browser
that uploads a GBK CSV through st.file_uploader, publishes it and finds it on the Overview."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from conftest import wait_for_app, write_sign_ins
from ingest_files import csv_bytes
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from civindex import audit, auth, ingest
from civindex.i18n import t
from civindex.ingest import views
from civindex.schema import DATASETS

REPO = Path(__file__).resolve().parent.parent
HEADER = ["问卷编号", "调查日期", "单位名称", "区县", "总体评价"]


def november_file(rows: int = 40, unhappy: int = 2, prefix: str = "N") -> bytes:
    body = [
        [
            f"{prefix}{i:03d}",
            f"2026/11/{1 + i % 28}",
            "省公安厅",
            "鼓楼区",
            "不满意" if i < unhappy else "满意",
        ]
        for i in range(rows)
    ]
    return csv_bytes([HEADER, *body], "gbk")


def publish(store, content: bytes, name: str = "十一月.csv"):
    prepared = ingest.prepare(content, name, "satisfaction", store=store)
    assert prepared.ok, prepared.report.text()
    return ingest.publish(prepared, store, user="analyst1")


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_page_renders_for_an_analyst(store):
    at = run_page("pages/upload.py")
    assert at.title[0].value == t("upload.heading")
    assert at.info[0].value == t("upload.waiting")
    assert at.selectbox[0].options == [views.dataset_label(n) for n in DATASETS]
    at.selectbox[0].select_index(2).run()
    assert not at.exception


def test_the_preview_is_kept_across_reruns_and_follows_newer_data(store, monkeypatch):
    """The preview runs the dashboard's queries over every row of the file: a rerun with the same
    file and choices shows the one already computed, and a batch someone else publishes in the
    meantime makes it computed again, so "before" is never stale."""
    previews = []
    computed = ingest.preview

    def counted(*args, **kwargs):
        previews.append(computed(*args, **kwargs))
        return previews[-1]

    monkeypatch.setattr(ingest, "preview", counted)
    at = run_page("pages/upload.py")
    at.selectbox(key="w_upload_dataset").set_value("satisfaction").run()
    at.file_uploader[0].set_value(("十一月.csv", november_file(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]

    def before_after() -> list[tuple[str, str, str]]:
        shown = at.dataframe[-1].value
        columns = [t(f"ingest.preview.{c}") for c in ("before", "after", "n")]
        return list(shown[columns].itertuples(index=False, name=None))

    assert before_after() == [("—", "95.0%", "0 → 40")]
    at.run()
    at.run()
    assert len(previews) == 1
    assert before_after() == [("—", "95.0%", "0 → 40")]

    publish(store, november_file(10, 10, "M"), "另一位分析员.csv")  # ten unhappy answers
    at.run()
    assert len(previews) == 2
    assert before_after() == [("0.0%", "76.0%", "10 → 50")]


def test_a_refused_file_offers_its_report_built_on_the_click_and_is_audited_once(store):
    bad = csv_bytes([HEADER, ["N001", "2026/13/45", "省公安厅", "鼓楼区", "满意"]], "gbk")
    at = run_page("pages/upload.py")
    at.selectbox(key="w_upload_dataset").set_value("satisfaction").run()
    at.file_uploader[0].set_value(("坏日期.csv", bad, "text/csv")).run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error[-1].value == t("upload.fix_and_retry")
    offered = {e.proto.label: e.proto for e in at.get("download_button")}
    report = offered[t("upload.report.download")]
    assert report.deferred_file_id and not report.url
    assert audit.read(store.root)["outcome"].tolist() == ["rejected"]


def test_upload_and_snapshot_pages_are_read_only_for_a_viewer(store):
    auth.add_user(store.root, "someone", "analyst", "a-long-password")  # no more desktop mode
    for path in ("pages/upload.py", "pages/snapshots.py"):
        at = run_page(path)
        assert at.warning[0].value == t("auth.read_only")
        assert not at.dataframe


def test_snapshots_page_rolls_back_a_batch_after_confirmation(store):
    commit = publish(store, november_file())
    at = run_page("pages/snapshots.py")
    batches = at.dataframe[0].value
    assert batches[t("snapshots.col.upload_id")].tolist() == [commit.upload_id]
    assert batches[t("snapshots.col.live")].tolist() == [t("snapshots.live")]

    at.button(key="w_rollback").click().run()
    assert at.warning[0].value.startswith("确定回滚批次 " + commit.upload_id)
    assert store.count_rows("satisfaction") == 40  # nothing happens before the confirmation
    at.button(key="w_cancel").click().run()
    assert not at.warning and store.count_rows("satisfaction") == 40

    at.button(key="w_rollback").click().run()
    at.button(key="w_confirm").click().run()
    assert not at.exception
    assert store.count_rows("satisfaction") == 0
    assert at.success[0].value.startswith(f"已回滚批次 {commit.upload_id}")
    assert at.dataframe[0].value[t("snapshots.col.live")].tolist() == [t("snapshots.gone")]
    log = audit.read(store.root)
    assert log["action"].tolist() == ["upload", "rollback"]


def test_the_raw_file_is_read_and_audited_on_the_download_not_on_every_run(store):
    """Offering the original file costs nothing: a run neither reads it (an upload may be
    200 MB) nor records a download. The download gives back the bytes sent and is audited; a
    viewer is refused and a file gone from the archive is an error, both audited too."""
    content = november_file()
    commit = publish(store, content)
    at = run_page("pages/snapshots.py")
    (offered,) = [e.proto for e in at.get("download_button")]
    assert offered.label == t("snapshots.download_raw")
    assert offered.deferred_file_id and not offered.url  # built on the click, not held per run
    assert audit.read(store.root)["action"].tolist() == ["upload"]

    batch = next(b for b in store.batches() if b["upload_id"] == commit.upload_id)
    analyst = auth.Actor("analyst1", "analyst")
    assert ingest.raw_file_bytes(store.root, batch, analyst) == content
    with pytest.raises(auth.AccessDenied):
        ingest.raw_file_bytes(store.root, batch, auth.Actor("leader", "viewer"))
    ingest.archived_file(store.root, batch["sha256"], batch["source_name"]).unlink()
    with pytest.raises(ingest.IngestError, match=t("snapshots.raw_missing")):
        ingest.raw_file_bytes(store.root, batch, analyst)
    events = audit.read(store.root).to_dict("records")[1:]
    assert [(e["action"], e["user"], e["outcome"]) for e in events] == [
        ("export.raw", "analyst1", "done"),
        ("export.raw", "leader", "refused"),
        ("export.raw", "analyst1", "failed"),
    ]
    assert {(e["dataset"], e["upload_id"]) for e in events} == {("satisfaction", commit.upload_id)}
    assert events[0]["file"] == "十一月.csv"


def test_the_audit_tab_shows_the_newest_events_of_a_long_log(store):
    """A year of sign-ins and exports is tens of thousands of events: the tab shows the newest
    thousand, newest first, and says how many there are in all."""
    write_sign_ins(store.root, 1500)
    at = run_page("pages/snapshots.py")
    shown = at.dataframe[-1].value
    assert len(shown) == 1000
    assert shown[t("snapshots.audit.user")].tolist() == [f"u{i}" for i in range(1499, 499, -1)]
    note = t("snapshots.audit.latest", shown=1000, total=1500)
    assert note in [caption.value for caption in at.caption]
    assert "1,500" in note


def test_snapshots_page_restores_a_version(store):
    publish(store, november_file())
    publish(store, november_file(10, 0, "M"), "补充.csv")
    at = run_page("pages/snapshots.py")
    at.selectbox(key="w_versions_ds").set_value("satisfaction").run()
    at.number_input(key="w_restore_version").set_value(0).run()
    at.button(key="w_restore").click().run()
    at.button(key="w_confirm").click().run()
    assert not at.exception
    assert store.count_rows("satisfaction") == 40
    assert store.version("satisfaction") == 2
    versions = at.dataframe[1].value
    assert versions[t("snapshots.col.action")].iloc[0] == t("snapshots.action.restore")
    audit_log = at.dataframe[2].value
    assert audit_log[t("snapshots.audit.action")].iloc[0] == t("snapshots.action.restore")


def test_views_for_the_pages(store):
    content = csv_bytes(
        [["采集日", *HEADER[1:], "备注"], ["x1", "2026-11-02", "省公安厅", "鼓楼", 5, ""]]
    )
    prepared = ingest.prepare(content, "x.csv", "satisfaction")
    mapping = views.mapping_frame(prepared.match)
    assert mapping.iloc[0].tolist() == ["采集日", "", t("upload.mapping.unmatched")]
    assert mapping.iloc[1].tolist() == ["调查日期", "调查日期", t("upload.mapping.matched")]
    assert views.unmapped_headers(prepared.match) == ["采集日", "备注"]
    assert "surveyed_on" not in views.assignable_columns(prepared.match, "采集日")
    assert "response_id" in views.assignable_columns(prepared.match, "采集日")

    manual = ingest.prepare(content, "x.csv", "satisfaction", mapping={"采集日": "response_id"})
    assert manual.ok
    assert views.mapping_frame(manual.match).iloc[0].tolist() == [
        "采集日",
        "问卷编号",
        t("upload.mapping.manual"),
    ]
    facts = views.summary(manual)
    assert facts[t("upload.fact.encoding")] == "UTF-8" and facts[t("upload.fact.rows")] == "1"

    template = views.template_csv("participation")
    assert template.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(io.BytesIO(template), encoding="utf-8-sig").columns[0] == "月份"

    commit = publish(store, november_file())
    batches = views.batches_frame(store.batches())
    assert batches.iloc[0][t("snapshots.col.file")] == "十一月.csv"
    assert batches.iloc[0][t("snapshots.col.rows")] == 40
    assert views.history_frame(store.history("satisfaction")).iloc[0][
        t("snapshots.col.upload_id")
    ] == (commit.upload_id)
    log = views.audit_frame(audit.read(store.root))
    assert log.iloc[0][t("snapshots.audit.outcome")] == "accepted"
    with open(audit.path(store.root), "a", encoding="utf-8") as handle:  # late at night in UTC
        handle.write('{"at": "2026-11-30T16:30:05+00:00", "user": "x", "action": "export.raw",')
        handle.write(' "dataset": "satisfaction"}\n{"at": "not a time", "user": "y"}\n')
    log = views.audit_frame(audit.read(store.root))
    columns = [t(f"snapshots.audit.{c}") for c in ("at", "user", "action", "dataset")]
    odd, late = log[columns].iloc[0].tolist(), log[columns].iloc[1].tolist()
    assert odd[:2] == ["", "y"] and pd.isna(odd[2]) and pd.isna(odd[3])  # blank, never "nan"
    assert late == [
        "2026-12-01 00:30:05",
        "x",
        t("snapshots.action.export.raw"),
        views.dataset_label("satisfaction"),
    ]
    preview = ingest.preview(store, "satisfaction", prepared.table)
    shown = views.by_month_unit_frame(preview.by_month_unit)
    assert shown.iloc[0].tolist() == ["2026-11", "省公安厅", 1, 1]


def test_uploaded_text_is_never_markup():
    assert ingest.markdown_literal("**粗体** [链接](http://x) <b>") == (
        "\\*\\*粗体\\*\\* \\[链接\\]\\(http\\://x\\) \\<b\\>"
    )


@pytest.mark.browser
def test_upload_a_gbk_csv_in_the_browser_and_see_it_on_the_overview(
    demo_store, server_factory, page, tmp_path
):
    url = server_factory(demo_store.root)
    path = tmp_path / "十一月窗口满意度.csv"
    path.write_bytes(november_file(40, 2))

    page.goto(url)  # through the app's own navigation, where the 数据管理 group is listed
    wait_for_app(page)
    page.get_by_role("link", name=t("upload.page")).click()
    expect(page.get_by_role("heading", name=t("upload.heading"))).to_be_visible(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("combobox", name=t("upload.dataset")).click()
    page.get_by_role("option", name=views.dataset_label("satisfaction")).click()
    wait_for_app(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    expect(page.get_by_text(t("upload.preview"), exact=True)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_text("GB18030", exact=False)).to_be_visible(timeout=30_000)
    page.get_by_role("button", name=t("upload.publish"), exact=True).click()
    expect(page.get_by_text("已发布批次")).to_be_visible(timeout=60_000)
    assert demo_store.count_rows("satisfaction") > 40
    assert demo_store.batches("satisfaction")[0]["source_name"] == path.name

    page.goto(url)
    wait_for_app(page)
    expect(page.get_by_text(t("kpi.month_of", month="2026-11"))).to_be_visible(timeout=60_000)
    card = page.locator('[data-testid="stMetric"]').filter(has_text=t("kpi.satisfaction_rate"))
    expect(card.locator('[data-testid="stMetricValue"]')).to_have_text("95.0%", timeout=30_000)
