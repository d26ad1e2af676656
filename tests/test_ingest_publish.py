"""Publishing a prepared file: one version, archived raw file, audit line; overlap, identical
files, rollback and restore, and the preview computed with the dashboard's own queries."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from ingest_files import csv_bytes, make_file

from civindex import audit, ingest
from civindex.auth import Actor
from civindex.db import Database

HEADER = [
    "月份",
    "单位",
    "区县",
    "共建类别",
    "认领任务数",
    "完成任务数",
    "活动次数",
    "参与人次",
    "志愿服务时长",
]


def participation_file(rows: list[tuple], name="报表.csv") -> tuple[bytes, str]:
    """rows of (month, unit, category, activities)."""
    body = [[m, u, "", c, 1, 1, a, a * 10, a * 2] for m, u, c, a in rows]
    return csv_bytes([HEADER, *body], "gbk"), name


def totals(store) -> dict[tuple, int]:
    frame = store.read("participation").to_pandas()
    return {
        (f"{r.period_month:%Y-%m}", r.unit_code, r.category_code): int(r.activities)
        for r in frame.itertuples()
    }


def publish(store, content, name, dataset="participation", **kw):
    prepared = ingest.prepare(content, name, dataset, store=store)
    assert prepared.ok, prepared.report.text()
    return ingest.publish(prepared, store, user="analyst1", **kw)


def test_publish_rollback_restore_round_trip(store):
    a = participation_file([("2024-03", "fgw", "community", 5), ("2024-03", "jyt", "traffic", 7)])
    b = participation_file([("2024-04", "fgw", "community", 11)], "四月.csv")
    first = publish(store, *a)
    second = publish(store, *b)
    assert (first.version, second.version, first.rows, second.rows) == (0, 1, 2, 1)
    assert sum(totals(store).values()) == 23

    ingest.rollback(store, first.upload_id, user="analyst1")
    assert totals(store) == {("2024-04", "fgw", "community"): 11}
    assert store.version("participation") == 2

    ingest.restore(store, "participation", 1, user="analyst1")
    assert sum(totals(store).values()) == 23
    assert store.version("participation") == 3
    monthly = Database(store).run(
        "participation_monthly",
        start=date(2024, 1, 1),
        end=date(2024, 12, 1),
        districts=[],
        systems=[],
        units=[],
        categories=[],
    )
    assert monthly["activities"].tolist() == [12, 11]

    for commit, (content, name) in ((first, a), (second, b)):
        batch = next(x for x in store.batches() if x["upload_id"] == commit.upload_id)
        archived = ingest.archived_file(store.root, batch["sha256"], batch["source_name"])
        assert archived.read_bytes() == content
        assert archived.parent.parent.name == batch["sha256"][:2]
        assert archived.name == name
    log = audit.read(store.root)
    assert log["action"].tolist() == ["upload", "upload", "rollback", "restore"]
    assert log["outcome"].tolist() == ["accepted", "accepted", "done", "done"]
    assert log.loc[0, "upload_id"] == first.upload_id and log.loc[0, "rows"] == 2


def test_overlap_is_refused_then_replaced_in_one_version_and_undone(store):
    original = publish(
        store,
        *participation_file([("2024-03", "fgw", "community", 5), ("2024-03", "jyt", "traffic", 7)]),
    )
    corrected = ingest.prepare(
        *participation_file(
            [("2024-03", "fgw", "community", 6), ("2024-04", "gat", "window", 3)], "更正.csv"
        ),
        "participation",
        store=store,
    )
    preview = ingest.preview(store, "participation", corrected.table)
    assert (preview.overlap_rows, preview.overlap_batches) == (1, [original.upload_id])

    with pytest.raises(ingest.IngestError, match="1 行与已发布的数据重复"):
        ingest.publish(corrected, store, user="analyst1")
    assert store.version("participation") == 0  # nothing written
    assert audit.read(store.root)["outcome"].tolist() == ["accepted", "rejected"]

    replaced = ingest.publish(corrected, store, user="analyst1", replace_overlap=True)
    assert (replaced.version, replaced.action) == (1, "replace")
    assert totals(store) == {
        ("2024-03", "fgw", "community"): 6,
        ("2024-03", "jyt", "traffic"): 7,
        ("2024-04", "gat", "window"): 3,
    }
    ingest.rollback(store, replaced.upload_id, user="analyst1")
    assert totals(store) == {("2024-03", "fgw", "community"): 5, ("2024-03", "jyt", "traffic"): 7}


def test_identical_file_is_refused_with_a_pointer_to_the_earlier_batch(store):
    content, name = participation_file([("2024-03", "fgw", "community", 5)])
    first = publish(store, content, name)
    again = ingest.prepare(content, "copy.csv", "participation", store=store)
    assert not again.ok
    message = again.report.frame().query("severity == 'error'")["problem"].iloc[0]
    assert first.upload_id in message and "analyst1" in message and "版本 0" in message
    with pytest.raises(ingest.IngestError, match=first.upload_id):
        ingest.publish(again, store, user="analyst1")
    # once that batch is rolled back, the same file may come in again
    ingest.rollback(store, first.upload_id, user="analyst1")
    assert publish(store, content, name).version == 2


def test_nothing_is_written_when_validation_fails(store):
    content = csv_bytes(
        [HEADER, ["2024-03", "不存在的单位", "", "community", 1, 1, 2, 10, 5]], "gbk"
    )
    prepared = ingest.prepare(content, "bad.csv", "participation", store=store)
    with pytest.raises(ingest.IngestError, match="1 处错误"):
        ingest.publish(prepared, store, user="analyst1")
    ingest.record_rejection(store.root, prepared, "analyst1")
    assert store.version("participation") is None
    assert not (store.root / "uploads").exists()
    log = audit.read(store.root)
    assert log["outcome"].tolist() == ["rejected", "rejected"]
    assert log["file"].tolist() == ["bad.csv", "bad.csv"]
    assert "未知单位" in log.loc[1, "message"]


def test_a_viewer_cannot_publish_and_the_attempt_is_audited(store):
    prepared = ingest.prepare(
        *participation_file([("2024-03", "fgw", "community", 5)]), "participation", store=store
    )
    with pytest.raises(ingest.IngestError):
        ingest.publish(prepared, store, user=Actor("guest", "viewer"))
    assert store.version("participation") is None
    assert not (store.root / "uploads").exists()
    event = audit.read(store.root).iloc[0]
    assert (event["user"], event["outcome"]) == ("guest", "rejected")


def test_a_corrected_level_count_report_overlaps_its_earlier_version(store):
    header = [
        "单位名称",
        "服务窗口",
        "月份",
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    first = csv_bytes([header, ["省公安厅", "出入境大厅", "2024年10月", 80, 15, 3, 2, 0]], "gbk")
    fixed = csv_bytes([header, ["省公安厅", "出入境大厅", "2024年10月", 82, 15, 3, 0, 0]], "gbk")
    publish(store, first, "十月.csv", "satisfaction")
    prepared = ingest.prepare(fixed, "十月更正.csv", "satisfaction", store=store)
    assert ingest.preview(store, "satisfaction", prepared.table).overlap_rows == 3
    ingest.publish(prepared, store, user="analyst1", replace_overlap=True)
    frame = store.read("satisfaction").to_pandas()
    counts = frame.groupby("rating_overall")["response_count"].sum().to_dict()
    # level 2 had 2 responses before the correction and none in it: the old row stays
    assert counts == {5: 82, 4: 15, 3: 3, 2: 2}


def test_preview_shows_the_kpi_before_and_after_from_the_named_query(demo_store):
    database = Database(demo_store)
    params = dict(
        start=date(2026, 10, 1), end=date(2026, 10, 1), districts=[], systems=[], units=[]
    )
    before = database.run("satisfaction_monthly", **params).iloc[0]
    rows = [["调查日期", "单位", "总体评价"]]
    rows += [["2026-10-15", "省公安厅", "非常不满意"]] * 100
    rows += [["2026-11-02", "省公安厅", "满意"]] * 3
    prepared = ingest.prepare(*make_file(rows, "csv-gb18030"), "satisfaction", store=demo_store)
    assert prepared.ok
    result = ingest.preview(demo_store, "satisfaction", prepared.table)
    changes = result.changes.set_index("period")
    october = changes.loc["2026-10"]
    assert october["before"] == pytest.approx(before["satisfaction_rate"])
    assert october["after"] == pytest.approx(before["satisfied"] / (before["responses"] + 100))
    assert (october["n_before"], october["n_after"]) == (
        before["responses"],
        before["responses"] + 100,
    )
    november = changes.loc["2026-11"]
    assert pd.isna(november["before"]) and november["after"] == pytest.approx(1.0)
    assert result.by_month_unit[["unit", "rows"]].values.tolist() == [
        ["省公安厅", 100],
        ["省公安厅", 3],
    ]
    shown = ingest.format_changes(result.changes)
    assert shown.iloc[0].tolist()[:2] == ["2026-10", "窗口满意率"]
    assert shown.iloc[0, 3].endswith("%")
    assert demo_store.version("satisfaction") == 0  # the preview wrote nothing


def test_the_previews_after_is_what_the_dashboard_shows_once_published(demo_store):
    """Rows on both sides of a month's edge, and answers that replace published ones (one of
    them first published in another month): each month's 满意率 and n that the preview
    promises are the ones the named query gives once the batch is published."""
    from civindex import reference

    published = demo_store.read("satisfaction").to_pandas()
    july = published[published["surveyed_on"].astype(str).str.startswith("2026-07")].iloc[:1]
    september = published[published["surveyed_on"].astype(str).str.startswith("2026-09")].iloc[:2]
    units, districts = reference.full_names("units"), reference.full_names("districts")
    rows = [["问卷编号", "调查日期", "单位名称", "区县", "总体评价"]]
    for row in pd.concat([july, september]).itertuples():
        rows.append(
            [
                row.response_id,
                "2026-09-30",
                units[row.unit_code],
                districts[row.district_code],
                "非常不满意",
            ]
        )
    for number, day, rating in [
        (1, "2026-09-30", "满意"),
        (2, "2026-10-01", "满意"),
        (3, "2026-10-31", "不满意"),
    ]:
        rows.append([f"NEW{number}", day, "省公安厅", "鼓楼区", rating])
    prepared = ingest.prepare(*make_file(rows, "csv-gb18030"), "satisfaction", store=demo_store)
    assert prepared.ok, prepared.report.text()
    preview = ingest.preview(demo_store, "satisfaction", prepared.table, replace_overlap=True)
    assert preview.overlap_rows == 3
    ingest.publish(prepared, demo_store, user="analyst1", replace_overlap=True)

    params = dict(start=date(2026, 9, 1), end=date(2026, 10, 1), districts=[], systems=[], units=[])
    shown = Database(demo_store).run("satisfaction_monthly", **params)
    expected = {
        f"{pd.Timestamp(row.period_month):%Y-%m}": (row.satisfaction_rate, row.responses)
        for row in shown.itertuples()
    }
    promised = {row.period: (row.after, row.n_after) for row in preview.changes.itertuples()}
    assert set(promised) == {"2026-09", "2026-10"}
    for month, (rate, responses) in expected.items():
        assert promised[month][0] == pytest.approx(rate)
        assert promised[month][1] == responses


def test_preview_of_index_results_groups_by_district(store):
    rows = [
        ["测评批次", "测评日期", "批次类型", "区县", "测评项目", "得分", "满分"],
        ["2025年度测评", "2025-12-10", "年度测评", "鼓楼区", "公共关系", 4, 5],
        ["2025年度测评", "2025-12-10", "年度测评", "鼓楼区", "重点工作", 26, 29],
    ]
    prepared = ingest.prepare(*make_file(rows, "csv-gbk"), "index_results", store=store)
    result = ingest.preview(store, "index_results", prepared.table)
    assert result.by_month_unit[["district", "rows"]].values.tolist() == [["鼓楼", 2]]
    change = result.changes.iloc[0]
    assert change["period"] == "2025年度测评" and pd.isna(change["before"])
    assert change["after"] == pytest.approx(100 * 30 / 34)


def test_safe_names_for_the_archive():
    assert ingest.safe_name("../../etc/passwd") == "passwd"
    assert ingest.safe_name("C:\\Users\\李\\十月 报表.xlsx") == "十月 报表.xlsx"
    assert ingest.safe_name("a;rm -rf $HOME.csv") == "a_rm -rf _HOME.csv"
    assert ingest.safe_name("...") == "upload"
