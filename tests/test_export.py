"""CSV and XLSX exports: Chinese text survives, formula-like cells are neutralised."""

import io

import pandas as pd
from python_calamine import CalamineWorkbook

from civindex.export import neutralise, to_csv_bytes, to_xlsx_bytes

HOSTILE = pd.DataFrame(
    {
        "单位": ["省发改委", '=HYPERLINK("http://evil.example","点击")', "+1+1", "-2", "@SUM(A1)"],
        "满意率": [0.961, 0.95, 0.9, 0.8, 0.7],
    }
)


def test_neutralise_prefixes_formula_text_and_leaves_numbers_and_plain_text():
    clean = neutralise(HOSTILE)
    assert clean["单位"].tolist() == [
        "省发改委",
        '\'=HYPERLINK("http://evil.example","点击")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
    ]
    assert clean["满意率"].tolist() == HOSTILE["满意率"].tolist()


def test_csv_has_bom_and_round_trips_chinese_text():
    data = to_csv_bytes(HOSTILE)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back.columns.tolist() == ["单位", "满意率"]
    assert back["单位"].iloc[0] == "省发改委"
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in back["单位"])


def test_xlsx_has_one_sheet_per_chart_and_no_formulas():
    data = to_xlsx_bytes({"满意率趋势": HOSTILE, "满意率趋势 ": HOSTILE.head(1), "a/b:c": HOSTILE})
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert len(workbook.sheet_names) == 3
    assert workbook.sheet_names[0] == "满意率趋势"
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == ["单位", "满意率"]
    assert rows[2][0] == '\'=HYPERLINK("http://evil.example","点击")'
    assert rows[1][1] == 0.961
    # The raw sheet XML holds no <f> (formula) element.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
