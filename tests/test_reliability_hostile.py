"""Hostile upload files (tests/hostile_files.py): each is refused with a message that says what
is wrong, or, for formulas, markup and odd file names, published as plain text under a safe
name; nothing but an audit line is written for a refused file, and every one stays within its
time and memory bound, measured in a forked process of its own."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from hostile_files import CASES, FORMULAS, MARKUP

from civindex import audit, ingest
from civindex.export import to_csv_bytes, to_xlsx_bytes
from civindex.store import Store

HOSTILE = Path(__file__).with_name("hostile_files.py")
REPO = HOSTILE.parent.parent


@pytest.fixture(scope="module")
def worker():
    process = subprocess.Popen(
        [sys.executable, str(HOSTILE), "serve"],
        env=os.environ | {"PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def run(case: str, root: Path) -> dict:
        process.stdin.write(json.dumps({"case": case, "root": str(root)}) + "\n")
        process.stdin.flush()
        return json.loads(process.stdout.readline())

    yield run
    process.stdin.close()
    process.wait(timeout=30)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file(worker, tmp_path, name):
    case = CASES[name]
    root = tmp_path / "data"
    result = worker(name, root)
    assert "exception" not in result, result["exception"]
    assert result["status"] == 0, result  # not killed by the alarm or for memory
    print(f"\n{name}: {result['bytes']:,} bytes, {result['seconds']} s, {result['rss_mb']} MB")
    assert result["seconds"] < case.limit_s
    assert result["rss_mb"] < case.limit_mb
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data.result.json"]
    events = audit.read(root)
    if case.refused:
        assert not result["ok"] and not result["published"]
        assert any(re.search(case.refused, p) for p in result["problems"]), result["problems"]
        assert result["refusal"]
        assert result["files"] == ["audit/audit.jsonl"]  # no data, no archive
        assert events["outcome"].tolist() == ["rejected"]
        return
    assert result["ok"] and result["published"], result["problems"]
    assert events["outcome"].tolist() == ["accepted"]
    (archived,) = [f for f in result["files"] if f.startswith("uploads/")]
    folder, sha, file_name = archived.split("/")[1:]
    assert (folder, len(sha)) == (sha[:2], 64)
    assert file_name == ingest.safe_name(file_name) and len(file_name.encode()) <= 200
    assert "\x00" not in file_name and not file_name.startswith(".")


def stored_windows(root: Path) -> list[str]:
    frame = Store(root).read("satisfaction").to_pandas().sort_values("response_id")
    return frame["window_name"].tolist()


@pytest.mark.parametrize(
    ("name", "texts"), [("formula_text", FORMULAS), ("html_and_script_text", MARKUP)]
)
def test_formulas_and_markup_are_stored_as_typed_and_neutralised_in_exports(
    worker, tmp_path, name, texts
):
    root = tmp_path / "data"
    assert worker(name, root)["published"]
    assert stored_windows(root) == [t.strip() for t in texts]  # text cells are trimmed
    frame = Store(root).read("satisfaction").to_pandas().sort_values("response_id")
    exported = list(csv.DictReader(io.StringIO(to_csv_bytes(frame).decode("utf-8-sig"))))
    texts = [t.strip() for t in texts]
    for row, text in zip(exported, texts, strict=True):
        dangerous = text.startswith(("=", "+", "-", "@"))
        assert row["window_name"] == ("'" + text if dangerous else text)
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"数据": frame})))
    sheet = book.worksheets[0]
    column = [c.value for c in sheet[1]].index("window_name") + 1
    for row, text in enumerate(texts, start=2):
        cell = sheet.cell(row, column)
        assert cell.data_type == "s", (text, cell.data_type)  # a string, never a formula
        assert cell.value.lstrip("'") == text


def test_formula_cells_in_a_workbook_keep_their_values_not_their_formulas(worker, tmp_path):
    root = tmp_path / "data"
    assert worker("formula_cells_in_xlsx", root)["published"]
    frame = Store(root).read("satisfaction").to_pandas().sort_values("response_id")
    assert frame["window_name"].tolist() == ["窗口", "=cmd|' /C calc'!A0"]
    assert frame["rating_overall"].tolist() == [4, 4]


def test_the_command_line_refuses_an_oversized_file_without_reading_it(tmp_path):
    big = tmp_path / "上报.csv"
    with open(big, "wb") as handle:
        handle.truncate(5 << 30)  # a 5 GB sparse file: reading it in would take 5 GB
    code = (
        "import runpy, sys;"
        "sys.argv = ['civindex', 'ingest', sys.argv[1], '--dataset', 'satisfaction'];"
        'exec(\'try:\\n runpy.run_module("civindex", run_name="__main__")\\n'
        'except SystemExit as e:\\n print("EXIT", e.code)\');'
        # VmHWM, not ru_maxrss: a child spawned from a large pytest process inherits the
        # parent's ru_maxrss, while VmHWM belongs to the new process image alone.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0];"
        "print('RSS', int(hwm.split()[1]) // 1024)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(big)],
        env=os.environ | {"CIVINDEX_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert "EXIT 1" in result.stdout, result.stderr[-2000:]
    assert "上限" in result.stdout
    assert int(result.stdout.split("RSS")[-1]) < 500
    assert audit.read(tmp_path / "data")["outcome"].tolist() == ["rejected"]
    assert not (tmp_path / "data" / "lake").exists()


def test_markup_in_category_names_reaches_plotly_escaped():
    """Plotly reads <b>, <a href> and <br> in labels as markup; an upload's text must not."""
    import pandas as pd

    from civindex.charts.plotly import to_figure
    from civindex.charts.spec import ChartSpec

    data = pd.DataFrame({"window_name": MARKUP, "satisfaction_rate": [0.9] * len(MARKUP)})
    spec = ChartSpec(
        key="k", kind="bar", data=data, x="window_name", y="satisfaction_rate", title="t"
    )
    labels = [label for trace in to_figure(spec).data for label in (trace.y or ())]
    assert labels and not [label for label in labels if "<" in label.replace("<br>", "")]
    assert "&lt;b&gt;加粗&lt;/b&gt;" in "".join(labels).replace("<br>", "")
