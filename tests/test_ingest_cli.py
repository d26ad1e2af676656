"""`python -m civindex ingest` as a real subprocess: exit codes, output, and what is written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ingest_files import csv_bytes, xlsx_bytes

from civindex import audit
from civindex.store import Store

REPO = Path(__file__).resolve().parent.parent
HEADER = ["问卷编号", "调查日期", "单位名称", "总体评价"]


def ingest(data_dir: Path, *args: str, expect: int) -> subprocess.CompletedProcess:
    env = os.environ | {"CIVINDEX_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "civindex", "ingest", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expect, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def write(tmp_path: Path, name: str, rows: list[list], encoding="gbk") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, encoding))
    return path


def test_publish_prints_the_upload_id_and_row_count(tmp_path):
    data = tmp_path / "data"
    good = write(
        tmp_path,
        "十月.csv",
        [HEADER, ["A1", "2024-10-05", "省公安厅", "满意"], ["A2", "2024-10-06", "fgw", 5]],
    )
    result = ingest(data, str(good), "--dataset", "satisfaction", "--user", "ana", expect=0)
    upload_id = re.search(r"upload_id (\S+)", result.stdout).group(1)
    assert "rows 2" in result.stdout
    batch = Store(data).batches("satisfaction")[0]
    assert (batch["upload_id"], batch["user"], batch["rows"]) == (upload_id, "ana", 2)
    assert batch["source_name"] == "十月.csv"
    event = audit.read(data).iloc[-1]
    assert (event["user"], event["outcome"], event["upload_id"]) == ("ana", "accepted", upload_id)

    # the same file again: exit 1, pointing at the batch, and nothing written
    again = ingest(data, str(good), "--dataset", "satisfaction", expect=1)
    assert upload_id in again.stdout
    assert Store(data).version("satisfaction") == 0


def test_invalid_file_exits_1_with_the_report_and_writes_no_data(tmp_path):
    data = tmp_path / "data"
    bad = write(tmp_path, "bad.csv", [HEADER, ["A1", "2024-10-05", "省发改委员会", 6]])
    result = ingest(data, str(bad), "--dataset", "satisfaction", expect=1)
    assert "第2行 | 单位名称 | 省发改委员会 | 未知单位 | 是否为“省发改委”?" in result.stdout
    assert "第2行 | 总体评价 | 6 | 评价应在 1 到 5 之间" in result.stdout
    assert "文件有 2 处错误,未发布" in result.stdout
    assert Store(data).version("satisfaction") is None
    assert not (data / "uploads").exists() and not (data / "lake").exists()
    assert audit.read(data)["outcome"].tolist() == ["rejected"]


def test_dry_run_validates_and_previews_only(tmp_path):
    data = tmp_path / "data"
    good = write(
        tmp_path,
        "x.csv",
        [HEADER, ["A1", "2024-10-05", "省公安厅", 5], ["A2", "2024-10-05", "省公安厅", 1]],
    )
    result = ingest(data, str(good), "--dataset", "satisfaction", "--dry-run", expect=0)
    assert "2024-10 窗口满意率" in result.stdout and "50.0%" in result.stdout
    assert "试运行:2 行检查通过,未写入任何数据" in result.stdout
    assert not data.exists() or not any(data.iterdir())
    bad = write(tmp_path, "y.csv", [HEADER])
    assert (
        "只有表头"
        in ingest(data, str(bad), "--dataset", "satisfaction", "--dry-run", expect=1).stdout
    )
    assert not (data / "audit").exists()  # a dry run is a check, not an upload


def test_overlap_needs_replace_overlap(tmp_path):
    data = tmp_path / "data"
    first = write(tmp_path, "a.csv", [HEADER, ["A1", "2024-10-05", "省公安厅", 5]])
    fixed = write(
        tmp_path,
        "b.csv",
        [HEADER, ["A1", "2024-10-05", "省公安厅", 2], ["A2", "2024-10-06", "省公安厅", 4]],
    )
    ingest(data, str(first), "--dataset", "satisfaction", expect=0)
    dry = ingest(data, str(fixed), "--dataset", "satisfaction", "--dry-run", expect=0)
    assert "1 行与已发布的数据重复" in dry.stdout
    refused = ingest(data, str(fixed), "--dataset", "satisfaction", expect=1)
    assert "1 行与已发布的数据重复" in refused.stdout
    assert Store(data).version("satisfaction") == 0
    replaced = ingest(data, str(fixed), "--dataset", "satisfaction", "--replace-overlap", expect=0)
    assert "satisfaction 已发布为版本 1(replace)" in replaced.stdout
    ratings = sorted(Store(data).read("satisfaction")["rating_overall"].to_pylist())
    assert ratings == [2, 4]


def test_sheet_option_and_missing_file(tmp_path):
    data = tmp_path / "data"
    book = tmp_path / "book.xlsx"
    book.write_bytes(
        xlsx_bytes({"封面": [["说明"]], "数据": [HEADER, ["A1", "2024-10-05", "省公安厅", 5]]})
    )
    ingest(data, str(book), "--dataset", "satisfaction", "--sheet", "数据", "--dry-run", expect=0)
    missing = ingest(data, str(book), "--dataset", "satisfaction", "--sheet", "无", expect=1)
    assert "工作表“无”不存在" in missing.stdout
    gone = ingest(data, str(tmp_path / "nope.csv"), "--dataset", "satisfaction", expect=1)
    assert "nope.csv" in gone.stderr


def test_wrong_dataset_exits_1(tmp_path):
    data = tmp_path / "data"
    path = write(tmp_path, "x.csv", [HEADER, ["A1", "2024-10-05", "省公安厅", 5]])
    result = ingest(data, str(path), "--dataset", "participation", expect=1)
    assert "看起来是“窗口服务满意度”数据" in result.stdout
