"""read → map headers → normalise and validate: everything short of writing, for page and CLI."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from civindex.i18n import t
from civindex.ingest import headers as hdr
from civindex.ingest.read import Progress, RawTable, ReadError, read
from civindex.ingest.report import ERROR, Report
from civindex.ingest.validate import build
from civindex.schema import dataset

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@dataclass
class Prepared:
    """A file made ready to publish, or the report of why it is not."""

    dataset: str
    source_name: str
    content: bytes = field(repr=False)
    sha256: str
    report: Report
    raw: RawTable | None = field(default=None, repr=False)
    match: hdr.HeaderMatch | None = None
    table: pa.Table | None = field(default=None, repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)
    skipped_blank: int = 0
    skipped_totals: int = 0
    is_level_table: bool = False
    earlier: dict | None = None  # the live batch that published this same file before
    likely_dataset: str | None = None  # the dataset the file plainly belongs to, if not this

    @property
    def ok(self) -> bool:
        return self.table is not None and self.report.errors == 0

    @property
    def row_count(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    @property
    def sheets(self) -> list[str]:
        return self.raw.sheets if self.raw else []


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def prepare(
    content: bytes,
    source_name: str,
    dataset_name: str,
    *,
    sheet: str | None = None,
    mapping: dict[str, str] | None = None,
    store=None,
    root: Path | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Read, map, normalise and validate an uploaded file. Writes nothing.

    `mapping` maps a header the analyst saw to a column name ("" ignores it). With a `store`,
    a file already published (same SHA-256, batch still live) is an error naming that batch.
    """
    ds = dataset(dataset_name)
    progress = progress or (lambda _f, _m: None)
    root = root if root is not None else (store.root if store is not None else None)
    report = Report()
    prepared = Prepared(ds.name, source_name, content, sha256_of(content), report)
    if len(content) > MAX_UPLOAD_BYTES:
        report.add(ERROR, t("ingest.read.too_large", limit=MAX_UPLOAD_BYTES // 2**20))
        return prepared
    try:
        raw = read(
            content,
            source_name,
            sheet=sheet,
            header_score=hdr.known_header_score,
            progress=progress,
        )
    except ReadError as error:
        report.add(ERROR, str(error), suggestion=error.suggestion)
        return prepared
    prepared.raw = raw
    for row, actual, expected in raw.bad_rows:
        report.add(
            ERROR,
            t("ingest.problem.field_count", actual=actual, expected=expected),
            row=row,
            suggestion=t("ingest.suggest.field_count"),
        )
    match = hdr.match_headers(raw.headers, ds.name, mapping)
    prepared.match = match
    missing = hdr.missing_columns(match)
    if missing:
        other = hdr.likely_dataset(raw.headers, ds.name)
        if other:
            prepared.likely_dataset = other
            report.add(
                ERROR,
                t(
                    "ingest.problem.wrong_dataset",
                    found=dataset(other).label_zh,
                    chosen=ds.label_zh,
                ),
                row=raw.header_row,
                suggestion=t("ingest.suggest.wrong_dataset", found=dataset(other).label_zh),
            )
            return prepared
        for name in missing:
            column = ds.column(name)
            report.add(
                ERROR,
                t("ingest.problem.missing_column", label=column.label_zh),
                row=raw.header_row,
                column=column.label_zh,
                suggestion=t(
                    "ingest.suggest.headers", headers="、".join(dict.fromkeys(column.headers[1:]))
                ),
            )
    progress(0.5, t("ingest.progress.validate"))
    built = build(raw, match, report, root)
    progress(0.9, t("ingest.progress.validate"))
    if built is not None:
        prepared.table = built.table
        prepared.rows = built.rows
        prepared.skipped_blank = built.skipped_blank
        prepared.skipped_totals = built.skipped_totals
        prepared.is_level_table = built.is_level_table
    if store is not None:
        earlier = earlier_batch(store, ds.name, prepared.sha256)
        if earlier:
            prepared.earlier = earlier
            report.add(ERROR, identical_message(earlier))
    progress(1.0, t("ingest.progress.done"))
    return prepared


def earlier_batch(store, dataset_name: str, sha256: str) -> dict | None:
    """The live batch that published this same file, if any. The commit log is read first;
    only when a commit names this SHA-256 are the data files read to see if it is still live."""
    if not any(e["sha256"] == sha256 for e in store.history(dataset_name)):
        return None
    return store.find_sha256(dataset_name, sha256)


def identical_message(earlier: dict) -> str:
    return t(
        "ingest.problem.identical",
        upload_id=earlier["upload_id"],
        when=f"{earlier['committed_at']:%Y-%m-%d %H:%M}",
        user=earlier["user"],
        version=earlier["version"],
    )
