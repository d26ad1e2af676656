"""Publishing and reading processes for the crash and concurrency tests, and the checks those
tests make on a data dir afterwards.

    python tests/publisher.py DATA_DIR publish --first 0 --count 25 [--mixed]
    python tests/publisher.py DATA_DIR race --group 7 --variant 1 --at EPOCH [--same-file]
    python tests/publisher.py DATA_DIR rollback UPLOAD_ID
    python tests/publisher.py DATA_DIR read --stop FILE

A publishing child goes through the real upload pipeline (prepare, then ingest.publish) and
prints `ACK <op> <group> <upload_id>` only after the call returned: the acknowledgement a user
would have seen. Group g is one (month, unit) of participation: 12 districts × 6 categories.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
from deltalake import DeltaTable
from ingest_files import csv_bytes

from civindex import audit, ingest, reference
from civindex.store import Store, StoreError

HEADER = [
    "月份",
    "单位",
    "区县",
    "共建类别",
    "认领任务数",
    "完成任务数",
    "活动次数",
    "参与人次",
    "志愿服务时长",
]
CATEGORIES = ("community", "traffic", "window", "environment", "volunteer", "moral")
UNITS = tuple(reference.load("units")["unit_code"])
DISTRICTS = tuple(reference.load("districts")["district_code"])
GROUP_ROWS = len(DISTRICTS) * len(CATEGORIES)


def group_key(group: int) -> tuple[date, str]:
    """The (month, unit) of a group: one month per len(UNITS) groups, from 2012-01."""
    month = group // len(UNITS)
    return date(2012 + month // 12, month % 12 + 1, 1), UNITS[group % len(UNITS)]


def group_file(group: int, variant: int = 0) -> tuple[bytes, str]:
    """A participation CSV for one group; another variant has other figures (another SHA-256)."""
    month, unit = group_key(group)
    rows = [
        [f"{month:%Y-%m}", unit, district, category, 2, 1, 1 + variant, 10 * (1 + variant), 4]
        for district in DISTRICTS
        for category in CATEGORIES
    ]
    return csv_bytes([HEADER, *rows], "gbk"), f"g{group}_v{variant}.csv"


def _say(*words) -> None:
    print(*words, flush=True)


def _publish(store: Store, op: str, group: int, variant: int, replace: bool = False) -> None:
    content, name = group_file(group, variant)
    prepared = ingest.prepare(content, name, "participation", store=store)
    if not prepared.ok:
        _say("REFUSED", op, group, prepared.report.text().splitlines()[0][:120])
        return
    try:
        commit = ingest.publish(prepared, store, user="tester", replace_overlap=replace)
    except ingest.IngestError as error:
        _say("REFUSED", op, group, str(error)[:120])
        return
    _say("ACK", op, group, commit.upload_id)


def cmd_publish(store: Store, args) -> None:
    """Groups first..first+count-1 in turn. --mixed: after group g, g % 3 == 1 replaces g-1
    with new figures and g % 3 == 2 rolls g back (a publish racing other publishes).
    --replace: publish variant 1 of each group over what is there."""
    acked: dict[int, str] = {}
    for group in range(args.first, args.first + args.count):
        if args.replace:
            _publish(store, "replace", group, 1, replace=True)
            continue
        _publish(store, "publish", group, 0)
        if not args.mixed:
            continue
        if group % 3 == 1:
            _publish(store, "replace", group - 1, 1, replace=True)
        elif group % 3 == 2:
            acked = _acked_groups(store)
            if group in acked:
                ingest.rollback(store, acked[group], user="tester")
                _say("ACK", "rollback", group, acked[group])


def _acked_groups(store: Store) -> dict[int, str]:
    by_source = {}
    for batch in store.batches("participation"):
        if not batch["rolled_back"] and batch["source_name"].endswith("_v0.csv"):
            by_source[int(batch["source_name"][1:].split("_")[0])] = batch["upload_id"]
    return by_source


def satisfaction_file(group: int) -> tuple[bytes, str]:
    """Forty survey responses without 问卷编号: rows with no key, only the file identifies them."""
    header = ["调查日期", "单位名称", "区县", "总体评价"]
    rows = [
        [f"2025-{1 + group % 12:02d}-{1 + i % 28:02d}", "省公安厅", "鼓楼区", "满意"]
        for i in range(40)
    ]
    return csv_bytes([header, *rows], "gbk"), f"survey{group}.csv"


def _wait_until(moment: float) -> None:
    while time.time() < moment:
        time.sleep(0.0005)


def cmd_race(store: Store, args) -> None:
    """For each of `count` groups: prepare, wait for the agreed moment, publish. Two of these
    race for the same keys (other figures), or with --same-file for the same file."""
    for i, group in enumerate(range(args.first, args.first + args.count)):
        if args.satisfaction:
            (content, name), dataset_name = satisfaction_file(group), "satisfaction"
        else:
            content, name = group_file(group, 0 if args.same_file else args.variant)
            dataset_name = "participation"
        prepared = ingest.prepare(content, name, dataset_name, store=store)
        _wait_until(args.at + i * args.interval)
        try:
            commit = ingest.publish(prepared, store, user=f"racer{args.variant}")
        except ingest.IngestError as error:
            _say("REFUSED", "race", group, str(error)[:80])
            continue
        _say("ACK", "race", group, commit.upload_id)


def cmd_rollback(store: Store, args) -> None:
    _wait_until(args.at)
    try:
        commits = ingest.rollback(store, args.upload_id, user="tester")
    except StoreError as error:
        _say("REFUSED", "rollback", -1, args.upload_id, str(error)[:80])
        return
    _say("ACK", "rollback", -1, args.upload_id, len(commits))


def cmd_read(store: Store, args) -> None:
    """Read the latest snapshot over and over until the stop file appears; every batch seen
    must be whole. Prints `READS n` and one `PARTIAL …` line per violation."""
    reads = 0
    stop = Path(args.stop)
    while not stop.exists():
        version = store.version("participation")
        files = store.file_uris("participation", version)
        if files:
            for upload_id, rows in (
                duckdb.connect()
                .execute(
                    "select upload_id, count(*) from read_parquet($f, union_by_name = true) "
                    "group by 1",
                    {"f": files},
                )
                .fetchall()
            ):
                if rows != GROUP_ROWS:
                    _say("PARTIAL", version, upload_id, rows)
            reads += 1
    _say("READS", reads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("publish")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, default=25)
    p.add_argument("--mixed", action="store_true")
    p.add_argument("--replace", action="store_true")
    p = commands.add_parser("race")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--variant", type=int, required=True)
    p.add_argument("--at", type=float, required=True)
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--same-file", action="store_true")
    p.add_argument("--satisfaction", action="store_true")
    p = commands.add_parser("rollback")
    p.add_argument("upload_id")
    p.add_argument("--at", type=float, default=0.0)
    p = commands.add_parser("read")
    p.add_argument("--stop", required=True)
    args = parser.parse_args()
    store = Store(args.root)
    _say("READY", os.getpid())
    {"publish": cmd_publish, "race": cmd_race, "rollback": cmd_rollback, "read": cmd_read}[
        args.command
    ](store, args)


# --- checks made by the tests ----------------------------------------------------------------


def parse(output: str) -> list[tuple[str, str, int, str]]:
    """(word, op, group, upload_id) of each ACK/REFUSED line a child printed."""
    lines = []
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in ("ACK", "REFUSED"):
            lines.append((parts[0], parts[1], int(parts[2]), parts[3] if len(parts) > 3 else ""))
    return lines


def groups_in_store(store: Store) -> dict[int, Counter]:
    """group -> Counter(upload_id -> rows) of the latest participation version."""
    frame = store.read("participation").to_pandas()
    units = {unit: i for i, unit in enumerate(UNITS)}
    found: dict[int, Counter] = defaultdict(Counter)
    for (month, unit, upload_id), rows in (
        frame.groupby(["period_month", "unit_code", "upload_id"]).size().items()
    ):
        months = (month.year - 2012) * 12 + month.month - 1
        found[months * len(UNITS) + units[unit]][upload_id] += int(rows)
    return found


def check_consistent(store: Store, all_versions: bool = False) -> None:
    """Every version of every table reads (the last two unless `all_versions`); the latest has
    each key once; each live batch has the row count its commit recorded."""
    for name in ("participation", "satisfaction", "index_results"):
        path = store.path(name)
        if not (path / "_delta_log").is_dir():
            continue
        latest = DeltaTable(path).version()
        for version in range(0 if all_versions else max(latest - 1, 0), latest + 1):
            for uri in DeltaTable(path, version=version).file_uris():
                assert Path(uri.removeprefix("file://")).is_file(), (name, version, uri)
        table = store.read(name)
        key = list(store_key(name))
        frame = table.to_pandas()
        assert not frame.duplicated(subset=key).any() or name == "satisfaction", name
        recorded = {b["upload_id"]: b["rows"] for b in store.batches(name)}
        counts = frame.groupby("upload_id").size()
        for upload_id, rows in counts.items():
            if recorded.get(upload_id, rows) != rows:
                # a replace later took some keys over: only then may a batch have fewer rows
                replaced = any(b["action"] == "replace" for b in store.batches(name))
                assert replaced and rows < recorded[upload_id], (name, upload_id, rows)


def store_key(name: str) -> tuple[str, ...]:
    from civindex.schema import dataset

    return dataset(name).key


def check_clean(store: Store) -> None:
    """After recovery: no file the log does not know, no temporary file, every committed batch
    has its raw file in the archive and its line in the audit log."""
    from civindex.store import _logged_files

    for name in ("participation", "satisfaction", "index_results"):
        path = store.path(name)
        if not (path / "_delta_log").is_dir():
            continue
        logged = _logged_files(path / "_delta_log")
        strays = [p.name for p in path.iterdir() if not p.name.startswith(("_", "."))]
        assert set(strays) <= logged, set(strays) - logged
        unfinished = [p.name for p in (path / "_delta_log").iterdir() if p.suffix == ".tmp"]
        assert not unfinished, unfinished
    uploads = store.root / "uploads"
    archived = {p.parent.name for p in uploads.glob("??/*/*")} if uploads.exists() else set()
    assert not [p for p in uploads.glob("??/*/.*")] if uploads.exists() else True
    batches = [b for b in store.batches() if b["sha256"]]
    assert {b["sha256"] for b in batches} == archived
    events = audit.read(store.root)
    accepted = set(events.loc[events["outcome"] == "accepted", "upload_id"].dropna())
    assert {b["upload_id"] for b in batches} <= accepted


if __name__ == "__main__":
    main()
