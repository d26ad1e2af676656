"""Files the pipeline must refuse, each with the message that tells the analyst what to fix."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest
from ingest_files import FORMATS, csv_bytes, make_file, xlsx_bytes

from civindex import ingest
from civindex.i18n import set_language
from civindex.ingest.report import LISTED_PER_CHECK

SATISFACTION_HEADER = ["问卷编号", "调查日期", "单位名称", "区县", "总体评价"]
PARTICIPATION_HEADER = [
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


def errors(prepared) -> pd.DataFrame:
    return prepared.report.frame().query("severity == 'error'").reset_index(drop=True)


def only_error(prepared) -> dict:
    found = errors(prepared)
    assert len(found) == 1, prepared.report.text()
    assert not prepared.ok
    return found.iloc[0].to_dict()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("unit", "suggested"),
    [("福建省发展改革委员会", "福建省发展和改革委员会"), ("省发改委员会", "省发改委")],
)
def test_unknown_unit_with_a_close_match(fmt, unit, suggested):
    rows = [
        SATISFACTION_HEADER,
        ["A1", "2024-03-05", "省公安厅", "鼓楼", 5],
        ["A2", "2024-03-05", unit, "鼓楼", 5],
    ]
    error = only_error(ingest.prepare(*make_file(rows, fmt), "satisfaction"))
    assert error["row"] == 3 and error["column"] == "单位名称" and error["value"] == unit
    assert error["problem"] == "未知单位"
    assert error["suggestion"] == f"是否为“{suggested}”?"


@pytest.mark.parametrize("fmt", FORMATS)
def test_rating_out_of_range(fmt):
    rows = [SATISFACTION_HEADER, ["A1", "2024-03-05", "省公安厅", "鼓楼", 6]]
    error = only_error(ingest.prepare(*make_file(rows, fmt), "satisfaction"))
    assert (error["row"], error["column"], error["value"]) == (2, "总体评价", "6")
    assert error["problem"] == "评价应在 1 到 5 之间"


@pytest.mark.parametrize("fmt", FORMATS)
def test_negative_count(fmt):
    row = ["2024-03", "fgw", "", "community", 1, 1, -3, 10, 5]
    error = only_error(
        ingest.prepare(*make_file([PARTICIPATION_HEADER, row], fmt), "participation")
    )
    assert (error["row"], error["column"], error["value"]) == (2, "活动次数", "-3")
    assert error["problem"] == "不能小于 0"


@pytest.mark.parametrize("fmt", FORMATS)
def test_score_above_max(fmt):
    rows = [
        ["测评批次", "测评日期", "批次类型", "区县", "测评项目", "得分", "满分"],
        ["2025年度测评", "2025-12-10", "年度测评", "鼓楼区", "公共关系", 6, 5],
    ]
    error = only_error(ingest.prepare(*make_file(rows, fmt), "index_results"))
    assert (error["row"], error["column"], error["value"]) == (2, "得分", "6")
    assert error["problem"] == "得分高于满分 5"


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_dataset(fmt):
    row = ["2024-03", "fgw", "", "community", 1, 1, 2, 10, 5]
    content, name = make_file([PARTICIPATION_HEADER, row], fmt)
    prepared = ingest.prepare(content, name, "satisfaction")
    assert prepared.likely_dataset == "participation"
    error = only_error(prepared)
    assert error["problem"] == "这个文件看起来是“单位参与”数据,而不是“窗口服务满意度”"
    assert error["suggestion"] == "请把数据集选为“单位参与”"


@pytest.mark.parametrize("fmt", FORMATS)
def test_header_only(fmt):
    content, name = make_file([SATISFACTION_HEADER], fmt)
    error = only_error(ingest.prepare(content, name, "satisfaction"))
    assert error["problem"] == "只有表头,没有数据行" and error["row"] == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_response_id(fmt):
    rows = [
        SATISFACTION_HEADER,
        ["A1", "2024-03-05", "省公安厅", "鼓楼", 5],
        ["A2", "2024-03-05", "省公安厅", "鼓楼", 4],
        ["A1", "2024-03-06", "省公安厅", "鼓楼", 3],
    ]
    error = only_error(ingest.prepare(*make_file(rows, fmt), "satisfaction"))
    assert (error["row"], error["column"], error["value"]) == (4, "问卷编号", "A1")
    assert error["problem"] == "问卷编号与第2行重复"


def test_duplicate_key_in_participation():
    rows = [
        PARTICIPATION_HEADER,
        ["2024-03", "fgw", "鼓楼", "community", 1, 1, 2, 10, 5],
        ["2024年3月", "省发改委", "350102", "文明社区", 1, 1, 2, 10, 5],
    ]
    error = only_error(ingest.prepare(*make_file(rows, "csv-gbk"), "participation"))
    assert error["row"] == 3 and error["problem"] == "与第2行重复"
    assert error["column"] == "月份+单位+区县+共建类别"


def test_binary_junk():
    junk = os.urandom(4096)
    error = only_error(ingest.prepare(junk, "十月.csv", "satisfaction"))
    assert error["problem"] in (
        "文件不是文本表格,看起来是二进制文件或已损坏。",
        "文件既不是 UTF-8 也不是 GB18030/GBK 编码的文本(第1行附近无法识别)。",
    )
    assert error["suggestion"]


def test_latin1_text_is_refused_not_guessed():
    content = "调查日期,单位,总体评价\n2024-03-05,café,5\n".encode()
    content = content.replace("café".encode(), "café".encode("latin-1"))
    error = only_error(ingest.prepare(content, "x.csv", "satisfaction"))
    assert error["problem"].startswith("文件既不是 UTF-8 也不是 GB18030/GBK 编码的文本(第2行")


def test_gbk_text_after_a_long_ascii_start_is_still_read_as_gb18030():
    ascii_rows = "".join(f"A{i:06d},2024-03-05,fgw,5\r\n" for i in range(15_000))  # > 256 KB
    text = "response_id,surveyed_on,unit_code,rating_overall\r\n" + ascii_rows
    content = text.encode("ascii") + "B1,2024-03-05,省公安厅,满意\r\n".encode("gbk")
    prepared = ingest.prepare(content, "x.csv", "satisfaction")
    assert prepared.ok, prepared.report.text()
    assert prepared.raw.encoding == "gb18030"
    assert prepared.table["unit_code"].to_pylist()[-1] == "gat"


def test_a_file_that_switches_from_utf8_to_gbk_is_refused():
    rows = "".join(f"A{i:06d},2024-03-05,省公安厅,5\r\n" for i in range(15_000))
    content = ("问卷编号,调查日期,单位,总体评价\r\n" + rows).encode("utf-8")
    content += "B1,2024-03-05,省公安厅,满意\r\n".encode("gbk")
    error = only_error(ingest.prepare(content, "x.csv", "satisfaction"))
    assert error["problem"].startswith("文件既不是 UTF-8 也不是 GB18030/GBK 编码的文本(第15002行")


@pytest.mark.parametrize(
    "content", [b"\xe8\xb0\x83,a,b\n1,2,3\n", b"PK\x03\x04 not really a zip", b"\x00\x01\x02"]
)
def test_fake_xlsx(content):
    error = only_error(ingest.prepare(content, "十月报表.xlsx", "satisfaction"))
    assert "Excel" in error["problem"]
    assert ".xlsx" in error["suggestion"]


def test_fake_xls_gives_a_clear_message():
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    error = only_error(ingest.prepare(content, "old.xls", "satisfaction"))
    assert error["problem"].startswith("无法读取这个旧版 .xls 文件")
    assert "另存为 .xlsx" in error["suggestion"]


def test_empty_file_and_unsupported_type():
    assert only_error(ingest.prepare(b"", "x.csv", "satisfaction"))["problem"] == "文件是空的。"
    error = only_error(ingest.prepare(b"%PDF-1.4", "x.pdf", "satisfaction"))
    assert error["problem"] == "不支持 .pdf 类型的文件。"


def test_missing_required_column_names_its_aliases():
    rows = [["调查日期", "总体评价"], ["2024-03-05", 5]]
    error = only_error(ingest.prepare(*make_file(rows, "csv-gbk"), "satisfaction"))
    assert error["problem"] == "缺少必需的列“单位”" and error["row"] == 1
    assert "单位名称" in error["suggestion"] and "被评单位" in error["suggestion"]


def test_a_row_with_the_wrong_number_of_fields():
    text = "调查日期,单位,总体评价\n2024-03-05,省公安厅,5\n2024-03-05,省公安厅\n2024-03-06,省公安厅,4\n"
    prepared = ingest.prepare(text.encode("gbk"), "x.csv", "satisfaction")
    error = only_error(prepared)
    assert error["row"] == 3 and error["problem"] == "本行有 2 个字段,表头有 3 个"
    assert list(prepared.rows) == [2, 4]


def test_every_problem_is_reported_at_once():
    rows = [
        [*PARTICIPATION_HEADER, "备注"],
        ["2024-13", "fgw", "鼓楼", "community", 1, 1, 2, 10, 5, ""],
        ["2024-03", "省发改委员会", "古楼", "community", 1, 1, 2, 10, 5, ""],
        ["2024-03", "fgw", "鼓楼", "社区建设", "2.5", 1, "50%", "many", -1, "说明"],
    ]
    prepared = ingest.prepare(*make_file(rows, "csv-gbk"), "participation")
    found = errors(prepared)
    assert sorted(zip(found["row"], found["column"], found["problem"], strict=True)) == sorted(
        [
            (2, "月份", "无法识别的日期"),
            (3, "单位", "未知单位"),
            (3, "区县", "未知区县"),
            (4, "共建类别", "未知共建类别"),
            (4, "认领任务数", "应为整数"),
            (4, "活动次数", "此列不能填百分比"),
            (4, "参与人次", "不是数字"),
            (4, "志愿服务时长", "不能小于 0"),
        ]
    )
    suggestions = dict(zip(found["value"], found["suggestion"], strict=True))
    assert suggestions["古楼"] == "是否为“鼓楼”?"
    assert suggestions["2024-13"].startswith("可写作 2024-03")
    warning = prepared.report.frame().query("severity == 'warning'").iloc[0]
    assert (warning["row"], warning["column"], warning["problem"]) == (
        1,
        "备注",
        "未识别的列,已忽略",
    )


def test_channel_outside_the_allowed_list_gets_a_suggestion():
    rows = [["调查日期", "单位", "总体评价", "评价渠道"], ["2024-03-05", "省公安厅", 5, "12345"]]
    error = only_error(ingest.prepare(*make_file(rows, "csv-utf8"), "satisfaction"))
    assert error["problem"].startswith("不是允许的值")
    assert error["suggestion"] == "是否为“12345热线”?"


def test_many_rows_with_one_mistake_list_a_sample_and_count_them_all():
    rows = [["调查日期", "单位", "总体评价"]] + [["2024-03-05", "省公安厅", 9]] * 1000
    prepared = ingest.prepare(*make_file(rows, "csv-gbk"), "satisfaction")
    assert prepared.report.errors == 1000
    found = errors(prepared)
    assert len(found) == LISTED_PER_CHECK + 1
    assert found["problem"].iloc[-1].startswith("……另有 800 行有同样的问题")


def test_report_csv_opens_in_excel_and_neutralises_formulas():
    rows = [["调查日期", "单位", "总体评价"], ["2024-03-05", '=HYPERLINK("http://x","点我")', 5]]
    prepared = ingest.prepare(*make_file(rows, "csv-gbk"), "satisfaction")
    data = prepared.report.csv_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert list(frame.columns) == ["行号", "列", "值", "问题", "建议", "级别"]
    assert frame.loc[0, "值"].startswith("'=HYPERLINK")
    assert frame.loc[0, "级别"] == "错误"


def test_report_in_english():
    rows = [SATISFACTION_HEADER, ["A1", "2024-03-05", "省发改委员会", "鼓楼", 5]]
    try:
        set_language("en")
        error = only_error(ingest.prepare(*make_file(rows, "csv-gbk"), "satisfaction"))
    finally:
        set_language("zh")
    assert error["problem"] == "Unknown unit"
    assert error["suggestion"] == "Did you mean “省发改委”?"


def test_sheet_choice_and_a_missing_sheet():
    good = [["调查日期", "单位", "总体评价"], ["2024-03-05", "省公安厅", 5]]
    content = xlsx_bytes({"说明": [["填表说明"]], "明细": good})
    assert ingest.sheet_names(content, "x.xlsx") == ["说明", "明细"]
    first = ingest.prepare(content, "x.xlsx", "satisfaction")
    assert not first.ok  # the first sheet holds no table
    chosen = ingest.prepare(content, "x.xlsx", "satisfaction", sheet="明细")
    assert chosen.ok and chosen.raw.sheet == "明细"
    error = only_error(ingest.prepare(content, "x.xlsx", "satisfaction", sheet="Sheet9"))
    assert error["problem"] == "工作表“Sheet9”不存在,可选:说明、明细"


def test_title_row_above_the_header_in_xlsx_gives_excel_row_numbers():
    rows = [
        ["2024年3月窗口满意度"],
        [],
        SATISFACTION_HEADER,
        ["A1", "2024-03-05", "省公安厅", "鼓楼", 7],
    ]
    error = only_error(ingest.prepare(*make_file(rows, "xlsx"), "satisfaction"))
    assert error["row"] == 4


def test_csv_bytes_helper_round_trip():
    # guards the helper the tests rely on: GBK bytes really are GBK
    data = csv_bytes([["单位"], ["省公安厅"]], "gbk")
    assert data.decode("gbk").startswith("单位")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
