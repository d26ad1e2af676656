"""`python -m civindex …`: demo data, named queries, history, rollback and restore."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import UTC, date, datetime

import pandas as pd

from civindex import audit, cli_deck, cli_users, demo, ingest, recovery, warnings
from civindex.db import Database, QueryError, load_query, query_names
from civindex.ingest import command as ingest_command
from civindex.schema import DATASETS, dataset
from civindex.store import Store, StoreError

LIST_PARAMS = {"districts", "systems", "units", "categories"}


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "cli"


def parse_param(text: str) -> tuple[str, object]:
    """`key=value`: comma-separated values make a list; YYYY-MM or YYYY-MM-DD make a date."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    key, value = key.strip(), value.strip()
    if key in LIST_PARAMS:
        return key, [v.strip() for v in value.strip("[]").split(",") if v.strip()]
    return key, _coerce(value)


def _coerce(value: str) -> object:
    if value.startswith("[") or "," in value:
        return [v.strip() for v in value.strip("[]").split(",") if v.strip()]
    for pattern in ("%Y-%m-%d", "%Y-%m"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            pass
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def parse_as_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--as-of expects an ISO timestamp, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def default_params() -> dict[str, object]:
    """Filters a query gets when the caller does not set them: everything, up to last month."""
    return {
        "start": date(2012, 1, 1),
        "end": demo.last_full_month(),
        "districts": [],
        "systems": [],
        "units": [],
        "categories": [],
        "round_type": "",
        "round_name": "",
    } | warnings.params()


def cmd_demo(args, store: Store) -> int:
    if args.clear:
        commits = store.clear_demo(user=args.user)
        rows = sum(c.rows for c in commits)
        audit.record(store.root, "clear_demo", args.user, rows=rows, outcome="done")
        print(f"cleared demo rows: {rows}")
        return 0
    started = time.perf_counter()
    commits = demo.build(store, scale=args.scale, if_empty=args.if_empty, user=args.user)
    if not commits:
        print("data already present; demo not rebuilt (--if-empty)")
        return 0
    for commit in commits:
        print(f"{commit.dataset}: {commit.rows:,} rows, version {commit.version}")
    print(f"demo data built in {time.perf_counter() - started:.1f} s under {store.root}")
    return 0


def cmd_query(args, store: Store) -> int:
    if args.name is None:
        for name in query_names():
            print(f"{name:32} {load_query(name).description}")
        return 0
    params = default_params() | dict(args.param)
    snapshot = store.snapshot(args.as_of)
    result = Database(store, snapshot).run(args.name, **params)
    if args.format == "json":
        print(result.to_json(orient="records", date_format="iso", force_ascii=False, indent=1))
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def cmd_history(args, store: Store) -> int:
    entries = store.history(args.dataset)
    if not entries:
        print("no versions yet")
        return 0
    frame = pd.DataFrame(entries)[
        [
            "dataset",
            "version",
            "committed_at",
            "action",
            "user",
            "upload_id",
            "rows",
            "target",
            "source_name",
        ]
    ]
    frame["committed_at"] = frame["committed_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    print(frame.to_string(index=False))
    return 0


def cmd_rollback(args, store: Store) -> int:
    for commit in ingest.rollback(store, args.upload_id, user=args.user):  # audited
        print(
            f"{commit.dataset}: rolled back {args.upload_id} ({commit.rows} rows) "
            f"as version {commit.version}"
        )
    return 0


def cmd_restore(args, store: Store) -> int:
    commit = ingest.restore(store, args.dataset, args.version, user=args.user)  # audited
    print(
        f"{commit.dataset}: version {args.version} restored as version {commit.version} "
        f"({commit.rows} rows)"
    )
    return 0


def cmd_optimize(args, store: Store) -> int:
    for name in [args.dataset] if args.dataset else list(DATASETS):
        if store.version(name) is None:
            continue
        files = len(store.file_uris(name, store.version(name)))
        commit = store.optimize(name, user=args.user)
        if commit is None:
            print(f"{name}: {files} file(s), nothing to compact")
            continue
        after = len(store.file_uris(name, commit.version))
        audit.record(store.root, "optimize", args.user, dataset=name, outcome="done")
        print(f"{name}: {files} file(s) compacted into {after} as version {commit.version}")
    return 0


def cmd_check(args, store: Store) -> int:
    """Exit 1 when a key of the current data is held by more than one row, with the batches
    holding them and how to fold them back into one."""
    found = False
    for name in [args.dataset] if args.dataset else list(DATASETS):
        if store.version(name) is None:
            continue
        repeated = store.repeated_keys(name)
        if not repeated.keys:
            print(f"{name}: every key is held by one row")
            continue
        found = True
        key = " × ".join(dataset(name).key)
        print(
            f"{name}: {repeated.keys:,} key(s) ({key}) held by more than one row, "
            f"{repeated.extra_rows:,} row(s) too many, in batches {', '.join(repeated.batches)}"
        )
        for example in repeated.examples:
            rows = example.pop("row_count")
            shown = ", ".join(f"{k}={'' if v is None else v}" for k, v in example.items())
            print(f"  {shown}: {rows} rows")
    if found:
        print(
            "To fold them: roll back the later batch (rollback UPLOAD_ID), then publish its "
            "file again with ingest --replace-overlap; each key then holds the new file's row."
        )
    return 1 if found else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m civindex", description=__doc__)
    parser.add_argument("--user", default=_default_user(), help="name recorded in the log")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("demo", help="(re)build the demo data")
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the ~300k satisfaction responses (34 ≈ 10M)",
    )
    p.add_argument("--if-empty", action="store_true", help="only when no data is published")
    p.add_argument("--clear", action="store_true", help="remove every demo row and stop")
    p.set_defaults(handler=cmd_demo)

    p = commands.add_parser("query", help="run a named query from queries/")
    p.add_argument("name", nargs="?", help="query name; omit to list them")
    p.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--as-of", type=parse_as_of, help="read every dataset as of this timestamp")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(handler=cmd_query)

    p = commands.add_parser("history", help="versions of the datasets")
    p.add_argument("--dataset", choices=list(DATASETS))
    p.set_defaults(handler=cmd_history)

    p = commands.add_parser("rollback", help="remove one upload batch as a new version")
    p.add_argument("upload_id")
    p.set_defaults(handler=cmd_rollback)

    p = commands.add_parser("restore", help="make an earlier version current again")
    p.add_argument("--dataset", choices=list(DATASETS), required=True)
    p.add_argument("--version", type=int, required=True)
    p.set_defaults(handler=cmd_restore)

    p = commands.add_parser("optimize", help="compact the small files uploads leave behind")
    p.add_argument("--dataset", choices=list(DATASETS), help="one dataset (default: all)")
    p.set_defaults(handler=cmd_optimize)

    p = commands.add_parser("check", help="find keys held by more than one row")
    p.add_argument("--dataset", choices=list(DATASETS), help="one dataset (default: all)")
    p.set_defaults(handler=cmd_check)

    cli_deck.add_parser(commands)
    cli_users.add_parser(commands)

    p = commands.add_parser("ingest", help="validate, preview and publish a CSV/XLSX file")
    ingest_command.add_arguments(p)
    p.set_defaults(handler=ingest_command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    store = Store()
    recovery.recover_once(store)  # what a killed publish left behind
    try:
        return args.handler(args, store)
    except (StoreError, QueryError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # duckdb binder errors and the like, shown without a traceback
        if type(error).__module__.startswith(("duckdb", "_duckdb")):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise
