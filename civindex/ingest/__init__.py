"""The analyst upload pipeline, shared by the 数据上传 page and `python -m civindex ingest`:

prepare(content, name, dataset)  read · map headers · normalise · validate (writes nothing)
preview(store, dataset, table)   rows by month and unit, KPIs before → after
publish(prepared, store, user=)  archive the raw file, one Delta version, audit line
"""

from civindex.ingest.headers import HeaderMatch, header_key, match_headers
from civindex.ingest.pipeline import MAX_UPLOAD_BYTES, Prepared, prepare
from civindex.ingest.preview import Preview, format_changes, preview
from civindex.ingest.publish import (
    IngestError,
    archived_file,
    publish,
    raw_file_bytes,
    record_rejection,
    restore,
    rollback,
    safe_name,
)
from civindex.ingest.read import ReadError, sheet_names
from civindex.ingest.report import Report, markdown_literal

__all__ = [
    "MAX_UPLOAD_BYTES",
    "HeaderMatch",
    "IngestError",
    "Prepared",
    "Preview",
    "ReadError",
    "Report",
    "archived_file",
    "format_changes",
    "header_key",
    "markdown_literal",
    "match_headers",
    "prepare",
    "preview",
    "publish",
    "raw_file_bytes",
    "record_rejection",
    "restore",
    "rollback",
    "safe_name",
    "sheet_names",
]
