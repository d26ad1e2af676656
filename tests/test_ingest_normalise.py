"""Every value normalisation, in every encoding and format an analyst's file may come in.

Each case is a small table as an office worker would type it, and the canonical values the
pipeline must make of it; each runs as UTF-8, UTF-8 with BOM, GBK and GB18030 CSV and as XLSX.
"""

from __future__ import annotations

from datetime import date

import pytest
from ingest_files import FORMATS, make_file

from civindex import ingest, reference

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


def participation_row(**values):
    row = {
        "月份": "2024-03",
        "单位": "fgw",
        "区县": "350102",
        "共建类别": "community",
        "认领任务数": 1,
        "完成任务数": 1,
        "活动次数": 2,
        "参与人次": 10,
        "志愿服务时长": 5,
    } | values
    return [row[h] for h in PARTICIPATION_HEADER]


CASES = {
    "dates": (
        "satisfaction",
        ["调查日期", "单位", "总体评价"],
        [
            ["2024-03", "fgw", 5],
            ["2024/3/5", "fgw", 5],
            ["2024年3月", "fgw", 5],
            ["2024年3月5日", "fgw", 5],
            ["202403", "fgw", 5],
            ["20240305", "fgw", 5],
            [45356, "fgw", 5],  # an Excel serial date
            ["２０２４－０３－０５", "fgw", 5],  # full-width digits and dash
            ["2024.3.5", "fgw", 5],
        ],
        "surveyed_on",
        [date(2024, 3, 1), date(2024, 3, 5), date(2024, 3, 1), date(2024, 3, 5), date(2024, 3, 1)]
        + [date(2024, 3, 5)] * 4,
    ),
    "months": (
        "participation",
        PARTICIPATION_HEADER,
        [
            participation_row(月份="2024年3月", 共建类别="community"),
            participation_row(月份="2024/4/15", 共建类别="community"),
            participation_row(月份="202405", 共建类别="community"),
            participation_row(月份="２０２４年６月", 共建类别="community"),
        ],
        "period_month",
        [date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)],
    ),
    "counts": (
        "participation",
        PARTICIPATION_HEADER,
        [
            participation_row(共建类别="community", 参与人次="１２"),
            participation_row(共建类别="traffic", 参与人次="1,234"),
            participation_row(共建类别="window", 参与人次="12,345,678"),
            participation_row(共建类别="environment", 参与人次=" 56 "),
            participation_row(共建类别="moral", 参与人次="７,０００"),
        ],
        "participants",
        [12, 1234, 12345678, 56, 7000],
    ),
    "hours": (
        "participation",
        PARTICIPATION_HEADER,
        [
            participation_row(共建类别="community", 志愿服务时长="1,234.5"),
            participation_row(共建类别="traffic", 志愿服务时长="０.５"),
            participation_row(共建类别="window", 志愿服务时长=12),
        ],
        "volunteer_hours",
        [1234.5, 0.5, 12.0],
    ),
    "ratings": (
        "satisfaction",
        ["调查日期", "单位", "总体评价"],
        [
            ["2024-03-01", "fgw", v]
            for v in (
                "非常满意",
                "满意",
                "基本满意",
                "不满意",
                "非常不满意",
                "★★★★",
                "★★★☆☆",
                "5分",
                4,
                "５",
            )
        ],
        "rating_overall",
        [5, 4, 3, 2, 1, 4, 3, 5, 4, 5],
    ),
    "categories": (
        "participation",
        PARTICIPATION_HEADER,
        [
            participation_row(共建类别=c)
            for c in ("文明社区共建", "文明交通", "窗口", "environment", "志愿服务共建", "道德教育")
        ],
        "category_code",
        ["community", "traffic", "window", "environment", "volunteer", "moral"],
    ),
    "units": (
        "participation",
        PARTICIPATION_HEADER,
        [
            *(
                participation_row(单位=u)
                for u in (
                    "fgw",
                    "福建省教育厅",
                    "省公安厅",
                    "福建省 民政厅",
                    "中共福建省委党校(福建行政学院)",  # half-width brackets; the list has full-width
                )
            ),
            participation_row(单位="ＦＧＷ", 共建类别="traffic"),
        ],
        "unit_code",
        ["fgw", "jyt", "gat", "mzt", "swdx", "fgw"],
    ),
    "districts": (
        "participation",
        PARTICIPATION_HEADER,
        [
            participation_row(区县=d, 单位=u)
            for d, u in (
                ("350102", "fgw"),
                ("台江区", "fgw"),
                ("仓山", "fgw"),
                ("福州市晋安区", "fgw"),
                ("", "jyt"),  # blank: the unit's paired district
            )
        ],
        "district_code",
        ["350102", "350103", "350104", "350111", "<paired:jyt>"],
    ),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_are_normalised(case, fmt):
    name, header, rows, column, expected = CASES[case]
    content, file_name = make_file([header, *rows], fmt)
    prepared = ingest.prepare(content, file_name, name)
    assert prepared.report.errors == 0, prepared.report.text()
    paired = dict(
        zip(
            reference.load("units")["unit_code"],
            reference.load("units")["paired_district_code"],
            strict=True,
        )
    )
    expected = [paired[v[8:-1]] if str(v).startswith("<paired:") else v for v in expected]
    assert prepared.table[column].to_pylist() == expected
    assert list(prepared.rows) == list(range(2, 2 + len(rows)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_title_rows_blank_lines_and_totals_are_skipped_with_excel_row_numbers(fmt):
    rows = [
        ["2024年3月省直单位共建情况统计表"],
        ["填报单位:省文明办"],
        PARTICIPATION_HEADER,
        participation_row(共建类别="community"),
        [],
        participation_row(共建类别="traffic", 活动次数="two"),
        participation_row(共建类别="window"),
        ["合计", "", "", "", 3, 3, 6, 30, 15],
    ]
    content, file_name = make_file(rows, fmt)
    prepared = ingest.prepare(content, file_name, "participation")
    assert prepared.raw.header_row == 3
    assert prepared.table["category_code"].to_pylist() == ["community", "traffic", "window"]
    assert list(prepared.rows) == [4, 6, 7]  # as Excel numbers them, the blank row 5 included
    assert (prepared.skipped_blank, prepared.skipped_totals) == (1, 1)
    errors = prepared.report.frame().query("severity == 'error'")
    assert errors[["row", "column", "value"]].values.tolist() == [[6, "活动次数", "two"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_level_count_table_becomes_weighted_rows(fmt):
    rows = [
        [
            "单位名称",
            "服务窗口",
            "月份",
            "非常满意",
            "满意",
            "基本满意",
            "不满意",
            "非常不满意",
            "样本数",
            "满意率",
        ],
        ["省公安厅", "出入境大厅", "2024年10月", 500, 400, 53, 40, 7, "1,000", "95.3%"],
        ["省医保局", "医保大厅", "2024年10月", 10, 0, 0, 0, 0, 10, "100%"],
        ["合计", "", "", 510, 400, 53, 40, 7, 1010, ""],
    ]
    content, file_name = make_file(rows, fmt)
    prepared = ingest.prepare(content, file_name, "satisfaction")
    assert prepared.ok and prepared.is_level_table, prepared.report.text()
    assert prepared.report.warnings == 0
    table = prepared.table
    assert table["rating_overall"].to_pylist() == [5, 4, 3, 2, 1, 5]
    assert table["response_count"].to_pylist() == [500, 400, 53, 40, 7, 10]
    assert table["unit_code"].to_pylist() == ["gat"] * 5 + ["ybj"]
    assert set(table["surveyed_on"].to_pylist()) == {date(2024, 10, 1)}
    assert list(prepared.rows) == [2, 2, 2, 2, 2, 3]
    ids = table["response_id"].to_pylist()
    assert len(set(ids)) == 6 and all(i.startswith("agg:") for i in ids)


def test_a_stated_rate_that_disagrees_with_the_counts_is_a_warning():
    rows = [
        ["单位名称", "月份", "非常满意", "满意", "基本满意", "不满意", "非常不满意", "满意率"],
        ["省公安厅", "2024-10", 90, 0, 0, 10, 0, "95.3%"],
    ]
    content, name = make_file(rows, "csv-gbk")
    prepared = ingest.prepare(content, name, "satisfaction")
    assert prepared.ok
    warning = prepared.report.frame().query("severity == 'warning'").iloc[0]
    assert warning["value"] == "95.3%" and "90.0%" in warning["problem"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_repeated_stated_rate_column_of_a_level_table_is_reported_beside_the_one_kept(fmt):
    """A level table turns its 整体满意度 column into the stated rate; a second such column is a
    duplicate of that one (a file the fuzzer made raised KeyError here instead)."""
    rows = [
        ["单位名称", "月份", "整体满意度", "整体满意度", "非常满意", "满意", "不满意"],
        ["省公安厅", "2024-10", "95%", "90%", 90, 5, 5],
    ]
    prepared = ingest.prepare(*make_file(rows, fmt), "satisfaction")
    assert prepared.ok, prepared.report.text()
    (warning,) = prepared.report.frame().query("severity == 'warning'").to_dict("records")
    assert warning["row"] == 1 and warning["column"] == "整体满意度"
    assert warning["problem"] == "与“整体满意度”同样对应“总体评价”,已忽略此列"
    assert prepared.table.num_rows == 3  # one per rating level


@pytest.mark.parametrize("fmt", FORMATS)
def test_score_written_as_a_percentage_is_a_share_of_the_maximum(fmt):
    rows = [
        ["测评批次", "测评日期", "区县", "测评项目", "得分", "满分"],
        ["2025年第3季度模拟测评", "2025-09-20", "鼓楼", "重点工作", "95%", 20],
        ["2025年第3季度模拟测评", "2025-09-20", "鼓楼区", "公共关系", 4.5, 5],
    ]
    content, name = make_file(rows, fmt)
    prepared = ingest.prepare(content, name, "index_results")
    assert prepared.ok, prepared.report.text()
    assert prepared.table["score"].to_pylist() == pytest.approx([19.0, 4.5])
    assert prepared.table["round_type"].to_pylist() == ["模拟测评"] * 2  # told by the name


def test_index_max_score_defaults_to_the_indicator_points():
    rows = [
        ["批次", "日期", "批次类型", "区县", "指标", "分数"],
        ["2025年度测评", "2025/12/10", "年度测评", "350102", "key_tasks", 27],
    ]
    prepared = ingest.prepare(*make_file(rows, "csv-utf8"), "index_results")
    assert prepared.ok, prepared.report.text()
    assert prepared.table["max_score"].to_pylist() == [29.0]


def test_excel_date_cells_are_read_as_dates():
    rows = [["调查日期", "单位", "总体评价"], [date(2024, 3, 5), "省公安厅", "满意"]]
    prepared = ingest.prepare(*make_file(rows, "xlsx"), "satisfaction")
    assert prepared.table["surveyed_on"].to_pylist() == [date(2024, 3, 5)]


@pytest.mark.parametrize(
    "header",
    [
        "单位名称",
        "单位 名称",
        "被评单位",
        "ＵＮＩＴ＿ＣＯＤＥ",
        "unit_code",
        "Unit",
        "单位*",
        "责任单位",
    ],
)
def test_headers_match_ignoring_spaces_width_and_case(header):
    match = ingest.match_headers([header, "月份"], "participation")
    assert match.columns["unit_code"] == 0
    assert match.columns["period_month"] == 1


def test_headers_with_a_unit_in_brackets_and_manual_mapping():
    headers = [
        "统计月份",
        "单位代码",
        "类别",
        "认领数",
        "完成数",
        "开展活动次数",
        "参与人数",
        "志愿服务时长(小时)",
        "备注",
    ]
    match = ingest.match_headers(headers, "participation")
    assert match.columns["volunteer_hours"] == 7
    assert match.unmatched == [8]
    manual = ingest.match_headers(headers, "participation", {"备注": "households_helped"})
    assert manual.columns["households_helped"] == 8 and manual.unmatched == []
    with pytest.raises(ValueError):
        ingest.match_headers(headers, "participation", {"备注": "no_such_column"})


def test_manual_mapping_rescues_an_unrecognised_required_column():
    rows = [["采集日", "单位", "总体评价"], ["2024-03-05", "省公安厅", 5]]
    content, name = make_file(rows, "csv-gbk")
    assert not ingest.prepare(content, name, "satisfaction").ok
    prepared = ingest.prepare(content, name, "satisfaction", mapping={"采集日": "surveyed_on"})
    assert prepared.ok, prepared.report.text()
    assert prepared.table["surveyed_on"].to_pylist() == [date(2024, 3, 5)]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_the_delimiter_is_sniffed(delimiter):
    from ingest_files import csv_bytes

    rows = [["调查日期", "单位", "总体评价"], ["2024-03-05", "省公安厅", "满意"]]
    prepared = ingest.prepare(csv_bytes(rows, "gbk", delimiter), "x.txt", "satisfaction")
    assert prepared.ok and prepared.raw.delimiter == delimiter


def test_utf16_unicode_text_from_excel_is_read():
    text = "调查日期\t单位\t总体评价\r\n2024-03-05\t省公安厅\t满意\r\n"
    prepared = ingest.prepare(text.encode("utf-16"), "x.txt", "satisfaction")
    assert prepared.ok and prepared.raw.encoding == "utf-16"


def test_quoted_values_may_hold_delimiters_and_newlines():
    text = '调查日期,单位,服务窗口,总体评价\r\n2024-03-05,省公安厅,"出入境,大厅\n二楼",满意\r\n'
    prepared = ingest.prepare(text.encode("gbk"), "x.csv", "satisfaction")
    assert prepared.ok
    assert prepared.table["window_name"].to_pylist() == ["出入境,大厅\n二楼"]
