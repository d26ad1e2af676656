"""`python -m civindex ingest FILE --dataset D`: the upload pipeline from the command line.

Exit 0 and print the upload_id and row count when published (or, with --dry-run, when the file
is valid); exit 1 and print the report when not. Nothing is written unless the publish succeeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa

from civindex import audit
from civindex.i18n import t
from civindex.ingest.pipeline import MAX_UPLOAD_BYTES, prepare
from civindex.ingest.preview import format_changes, preview
from civindex.ingest.publish import IngestError, publish, record_rejection
from civindex.schema import DATASETS
from civindex.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a .csv, .xlsx or .xls file")
    parser.add_argument("--dataset", choices=list(DATASETS), required=True)
    parser.add_argument("--sheet", help="worksheet of an Excel file (default: the first)")
    parser.add_argument(
        "--replace-overlap",
        action="store_true",
        help="replace rows whose keys are already published instead of refusing the file",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and preview only; write nothing"
    )
    # The top-level --user also works; this lets it follow the subcommand as documented.
    parser.add_argument("--user", default=argparse.SUPPRESS, help="name recorded in the log")


def _progress():
    if not sys.stderr.isatty():
        return None

    def show(fraction: float, message: str) -> None:
        print(f"\r{message} {fraction:4.0%}", end="", file=sys.stderr, flush=True)
        if fraction >= 1:
            print(file=sys.stderr)

    return show


def use_ingest_memory_pool() -> None:
    """This process's Arrow buffers from jemalloc (glibc malloc where the build has none), not
    mimalloc: after a large read, mimalloc's release of freed pages slowed the next big writes
    (the archive copy of a 71 MB file took ~170 ms, not ~17 ms), and the whole 1M-row publish
    took 2.4–2.7 s against 2.0–2.2 s (`python bench/ingest.py`)."""
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        pa.set_memory_pool(pa.system_memory_pool())


def run(args, store: Store) -> int:
    use_ingest_memory_pool()
    try:
        if args.file.stat().st_size > MAX_UPLOAD_BYTES:  # refused before it is read in
            message = t("ingest.read.too_large", limit=MAX_UPLOAD_BYTES // 2**20)
            print(message)
            if not args.dry_run:
                audit.record(
                    store.root,
                    "upload",
                    args.user,
                    dataset=args.dataset,
                    file=args.file.name,
                    rows=0,
                    outcome="rejected",
                    message=message,
                )
            return 1
        content = args.file.read_bytes()
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    prepared = prepare(
        content,
        args.file.name,
        args.dataset,
        sheet=args.sheet,
        store=store,
        progress=_progress(),
    )
    if prepared.report.problems:
        print(prepared.report.text())
    if not prepared.ok:
        print(t("ingest.refused.invalid", errors=prepared.report.errors))
        if not args.dry_run:
            record_rejection(store.root, prepared, args.user)
        return 1
    if args.dry_run:
        result = preview(store, args.dataset, prepared.table, replace_overlap=args.replace_overlap)
        print(result.by_month_unit.to_string(index=False))
        print(format_changes(result.changes).to_string(index=False))
        if result.overlap_rows:
            print(
                t(
                    "ingest.refused.overlap",
                    rows=f"{result.overlap_rows:,}",
                    batches="、".join(result.overlap_batches),
                )
            )
        print(t("ingest.cli.dry_run", rows=f"{prepared.row_count:,}"))
        return 0
    try:
        commit = publish(prepared, store, user=args.user, replace_overlap=args.replace_overlap)
    except IngestError as error:
        print(str(error))
        return 1
    # Two stable lines for scripts, then one for people.
    print(f"upload_id {commit.upload_id}")
    print(f"rows {commit.rows}")
    print(
        t(
            "ingest.cli.published",
            dataset=commit.dataset,
            version=commit.version,
            action=commit.action,
        )
    )
    return 0
