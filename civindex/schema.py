"""The data contract: datasets, canonical columns, types, ranges, keys and Chinese aliases.

Ingest, the DuckDB views, the docs and the tests all read this module; nothing else spells a
column name, a label or an alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

UPLOAD_ID = "upload_id"
DEMO_PREFIX = "demo-"
SATISFACTION_TARGET = 0.95
SMALL_SAMPLE = 30

ARROW_TYPES = {
    "date": pa.date32(),
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
}
DUCKDB_TYPES = {"date": "DATE", "int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR"}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    label_zh: str
    label_en: str
    aliases: tuple[str, ...] = ()
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    reference: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.dtype]

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header an upload may use for this column, canonical name first."""
        return (self.name, self.label_zh, self.label_en, *self.aliases)


@dataclass(frozen=True)
class Dataset:
    name: str
    label_zh: str
    label_en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_column: str
    grain_zh: str
    grain_en: str
    extra: dict = field(default_factory=dict)
    # Key columns whose empty value is a value of its own, matched empty to empty (a row of no
    # district). An empty key column otherwise means the row has no key and matches no other
    # (a response without 问卷编号).
    empty_key_values: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def stored_names(self) -> list[str]:
        return [*self.column_names, UPLOAD_ID]

    def arrow_schema(self) -> pa.Schema:
        fields = [pa.field(c.name, c.arrow_type, nullable=True) for c in self.columns]
        return pa.schema([*fields, pa.field(UPLOAD_ID, pa.string(), nullable=False)])


RATING_LEVELS = {
    5: ("非常满意", "Very satisfied"),
    4: ("满意", "Satisfied"),
    3: ("基本满意", "Fairly satisfied"),
    2: ("不满意", "Dissatisfied"),
    1: ("非常不满意", "Very dissatisfied"),
}
CHANNELS = ("评价器", "问卷", "暗访", "线上", "12345热线")
# In a per-window level-count report, a stated rate to cross-check against the level counts.
STATED_RATE_HEADERS = ("满意率", "综合满意率", "满意度")
ROUND_TYPES = ("年度测评", "模拟测评", "第三方暗访")
METHODS = ("实地考察", "问卷调查", "材料审核", "网络调查")


def _count(name, zh, en, aliases=(), nullable=False):
    return Column(name, "int", zh, en, tuple(aliases), nullable=nullable, minimum=0)


def _rating(name, zh, en, aliases=(), nullable=True):
    return Column(name, "int", zh, en, tuple(aliases), nullable=nullable, minimum=1, maximum=5)


PARTICIPATION = Dataset(
    name="participation",
    label_zh="单位参与",
    label_en="Unit participation",
    grain_zh="月份 × 单位 × 区县 × 共建类别",
    grain_en="month × unit × district × category",
    columns=(
        Column("period_month", "date", "月份", "Month", ("统计月份", "报告月份")),
        Column(
            "unit_code",
            "str",
            "单位",
            "Unit",
            ("单位名称", "被评单位", "单位代码", "责任单位"),
            reference="units",
        ),
        Column(
            "district_code",
            "str",
            "区县",
            "District",
            ("所在区县", "县区", "区域", "区县代码"),
            nullable=True,
            reference="districts",
        ),
        Column(
            "category_code",
            "str",
            "共建类别",
            "Category",
            ("类别", "共建项目类别", "共建项目"),
            reference="categories",
        ),
        _count("tasks_claimed", "认领任务数", "Tasks claimed", ("认领数",)),
        _count("tasks_completed", "完成任务数", "Tasks completed", ("完成数",)),
        _count("activities", "活动次数", "Activities", ("开展活动次数",)),
        _count("participants", "参与人次", "Participants", ("参与人数",)),
        Column(
            "volunteer_hours",
            "float",
            "志愿服务时长",
            "Volunteer hours",
            ("服务时长(小时)", "志愿时长", "服务时长"),
            minimum=0,
        ),
        _count("households_helped", "帮扶户数", "Households helped", (), nullable=True),
        _count(
            "practical_matters", "办实事件数", "Practical matters", ("实事件数",), nullable=True
        ),
        Column("funds_yuan", "float", "投入资金", "Funds (yuan)", ("资金(元)",), True, minimum=0),
    ),
    key=("period_month", "unit_code", "district_code", "category_code"),
    empty_key_values=("district_code",),
    date_column="period_month",
)

SATISFACTION = Dataset(
    name="satisfaction",
    label_zh="窗口服务满意度",
    label_en="Window-service satisfaction",
    grain_zh="一条评价(或汇总表中的一个评价等级)",
    grain_en="one response (or one rating level of an aggregated report)",
    columns=(
        Column("response_id", "str", "问卷编号", "Response ID", ("编号", "评价编号"), True),
        Column(
            "surveyed_on",
            "date",
            "调查日期",
            "Survey date",
            ("评价日期", "评价时间", "日期", "月份", "调查时间"),
        ),
        Column(
            "unit_code",
            "str",
            "单位",
            "Unit",
            ("单位名称", "被评单位", "单位代码", "责任单位"),
            reference="units",
        ),
        Column(
            "district_code",
            "str",
            "区县",
            "District",
            ("所在区县", "县区", "区域", "区县代码"),
            nullable=True,
            reference="districts",
        ),
        Column("window_name", "str", "服务窗口", "Service window", ("窗口", "窗口名称"), True),
        Column("channel", "str", "评价渠道", "Channel", ("渠道",), True, choices=CHANNELS),
        _rating(
            "rating_overall",
            "总体评价",
            "Overall rating",
            ("整体满意度", "总体满意度", "满意度"),
            nullable=False,
        ),
        _rating("rating_attitude", "服务态度", "Attitude", ("态度",)),
        _rating("rating_timeliness", "办事时效", "Timeliness", ("服务效率", "时效")),
        _rating("rating_convenience", "便利程度", "Convenience", ("办事便捷度", "便利")),
        _rating("rating_quality", "服务质量", "Quality", ("服务水平", "质量")),
        Column(
            "response_count",
            "int",
            "评价数",
            "Responses",
            ("样本数", "人数", "评价人数", "样本量"),
            True,
            minimum=1,
        ),
    ),
    key=("response_id",),
    date_column="surveyed_on",
)

INDEX_RESULTS = Dataset(
    name="index_results",
    label_zh="文明程度指数测评结果",
    label_en="Civilization-index test results",
    grain_zh="测评批次 × 区县 × 测评项目",
    grain_en="test round × district × indicator",
    columns=(
        Column("round_name", "str", "测评批次", "Round", ("批次",)),
        Column("round_date", "date", "测评日期", "Round date", ("日期",)),
        Column("round_type", "str", "批次类型", "Round type", ("类型",), choices=ROUND_TYPES),
        Column(
            "district_code",
            "str",
            "区县",
            "District",
            ("所在区县", "县区", "区域", "区县代码"),
            reference="districts",
        ),
        Column(
            "indicator_code",
            "str",
            "测评项目",
            "Indicator",
            ("指标", "测评指标"),
            reference="indicators",
        ),
        Column("score", "float", "得分", "Score", ("分数",), minimum=0),
        Column("max_score", "float", "满分", "Maximum score", ("分值",), minimum=0),
        Column("method", "str", "测评方式", "Method", ("方式",), True, choices=METHODS),
    ),
    key=("round_name", "district_code", "indicator_code"),
    date_column="round_date",
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (PARTICIPATION, SATISFACTION, INDEX_RESULTS)}

REFERENCE_LISTS = {
    "districts": ("district_code", ("district_name", "district_short_name", "district_name_en")),
    "units": ("unit_code", ("unit_name", "unit_short_name", "unit_name_en")),
    "categories": ("category_code", ("category_name", "category_short_name", "category_name_en")),
    "indicators": ("indicator_code", ("indicator_name", "indicator_name_en")),
}
BOOLEAN_REFERENCE_COLUMNS = {"is_core_urban", "is_department_level", "has_service_window"}
UNIT_SYSTEMS = (
    "党群机关",
    "人大政协政法",
    "政府部门",
    "群团组织",
    "事业单位",
    "省属国企",
    "中央驻闽单位",
)


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise KeyError(f"unknown dataset {name!r}; expected one of {known}") from None
