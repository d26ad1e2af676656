"""Build upload files in memory the way Chinese Excel and WPS save them, for the ingest tests."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

CSV_ENCODINGS = {
    "csv-utf8": "utf-8",
    "csv-utf8-bom": "utf-8-sig",
    "csv-gbk": "gbk",
    "csv-gb18030": "gb18030",
}
FORMATS = [*CSV_ENCODINGS, "xlsx"]


def csv_bytes(rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    # Text stays text, as typed; xlsxwriter would otherwise write "http:..." or "external:..."
    # as a link, and fails on some such text (the fuzzer found "external:").
    options = {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(buffer, options)
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, datetime | date):
                    stamp = (
                        value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                    )
                    sheet.write_datetime(r, c, stamp, date_format)
                else:
                    sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def make_file(rows: list[list], fmt: str, name: str = "upload") -> tuple[bytes, str]:
    """(content, file name) of `rows` in one of FORMATS."""
    if fmt == "xlsx":
        return xlsx_bytes({"数据": rows}), f"{name}.xlsx"
    return csv_bytes(rows, CSV_ENCODINGS[fmt]), f"{name}.csv"
