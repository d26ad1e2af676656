"""Versioned tables: each dataset is a Delta Lake table under `<data dir>/lake/<dataset>/`.

Every publish, rollback, replace or restore is one atomic, numbered Delta version whose commit
records who did it, when, from which file (name and SHA-256), how many rows and the upload_id.
Readers pin a version, so they never see half a batch.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from civindex import config, faults
from civindex.auth import Actor, require
from civindex.schema import DATASETS, DEMO_PREFIX, UPLOAD_ID, Dataset, dataset

Snapshot = dict[str, int | None]
OPTIMIZE_ROW_GROUP_ROWS = 1 << 20
ORPHAN_MIN_AGE_S = 3600  # a file younger than this may belong to a commit still under way

try:
    import fcntl
except ImportError:  # not POSIX: one writer at a time is then the operator's job
    fcntl = None


class StoreError(Exception):
    """A store operation that cannot go ahead; the message is meant for the user."""


class IdenticalFileError(StoreError):
    def __init__(self, earlier: dict):
        self.earlier = earlier
        super().__init__(f"this file is already published as batch {earlier['upload_id']}")


class OverlapError(StoreError):
    def __init__(self, dataset_name: str, rows: int, batches: list[str]):
        self.dataset_name = dataset_name
        self.rows = rows
        self.batches = batches
        super().__init__(
            f"{rows} row(s) of this batch repeat keys already published in {dataset_name} "
            f"(batches: {', '.join(batches)}); replace them or cancel"
        )


@dataclass(frozen=True)
class RepeatedKeys:
    """Keys that more than one row of the current version holds (`Store.repeated_keys`)."""

    dataset: str
    keys: int  # keys held by more than one row
    extra_rows: int  # rows beyond the first of each such key
    batches: list[str]  # the upload_ids of the rows holding them, oldest batch first
    examples: list[dict]  # a few of the keys, with their row counts


@dataclass(frozen=True)
class Commit:
    dataset: str
    version: int
    upload_id: str | None
    rows: int
    action: str


def new_upload_id(prefix: str = "u") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"


def conform(ds: Dataset, table: pa.Table, upload_id: str) -> pa.Table:
    """Cast a table to the dataset's stored schema, filling absent nullable columns with nulls."""
    arrays = []
    for column in ds.columns:
        if column.name in table.column_names:
            arrays.append(table[column.name].cast(column.arrow_type))
        elif column.nullable:
            arrays.append(pa.nulls(table.num_rows, column.arrow_type))
        else:
            raise StoreError(f"{ds.name}: required column {column.name!r} is missing")
    arrays.append(pa.array([upload_id] * table.num_rows, pa.string()))
    return pa.Table.from_arrays(arrays, schema=ds.arrow_schema())


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


CHECKPOINT_EVERY = 10  # versions between Delta checkpoints
FILE_LISTS_DIR = "_file_lists"  # each version's data files, written down (Store.file_uris)
FILE_LISTS_KEPT = 64  # per dataset, the newest


def _is_commit_file(name: str) -> bool:
    return name.endswith(".json") and name[:20].isdigit()


def _mtime_or_zero(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class Store:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else config.data_dir()
        self.lake_dir = self.root / "lake"
        self._live_ids: dict[tuple, frozenset[str]] = {}  # by file set: a version never changes
        self._files: dict[tuple, tuple[str, ...]] = {}  # by version and its commit file's stamp
        self._files_lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.lake_dir / dataset(name).name

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the dataset's writer lock: one publish, rollback or restore at a time, across
        processes and threads, so a check made before a commit still holds at the commit."""
        self.lake_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lake_dir / f".{dataset(name).name}.lock", "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes or we die
            yield

    def _table(self, name: str, version: int | None = None) -> DeltaTable | None:
        try:
            return DeltaTable(self.path(name), version=version)
        except TableNotFoundError:
            return None

    def version(self, name: str) -> int | None:
        """The latest version: the highest commit file in the table's log. A commit file
        appears whole (it is renamed into place), so a listing never sees half of one, and
        listing costs far less than replaying the log (~7 ms for 20 commits)."""
        try:
            names = os.listdir(self.path(name) / "_delta_log")
        except FileNotFoundError:
            return None
        versions = [int(n[:20]) for n in names if len(n) == 25 and _is_commit_file(n)]
        return max(versions) if versions else None

    def _commit_stamp(self, name: str, version: int) -> tuple | None:
        """The commit file of a version, by inode and time: a version's files never change, but
        a table removed and made again at the same path starts its versions over."""
        try:
            found = os.stat(self.path(name) / "_delta_log" / f"{version:020d}.json")
        except OSError:
            return None
        return (found.st_ino, found.st_mtime_ns)

    def _remember_files(self, name: str, version: int, stamp: tuple, files: list[str]) -> None:
        with self._files_lock:
            self._files[(name, version, stamp)] = tuple(files)
            while len(self._files) > 64:
                self._files.pop(next(iter(self._files)))

    def _file_list_path(self, name: str, version: int, stamp: tuple) -> Path:
        return self.lake_dir / FILE_LISTS_DIR / f"{name}-{version:020d}-{stamp[0]}-{stamp[1]}.json"

    def _read_file_list(self, name: str, version: int, stamp: tuple) -> list[str] | None:
        """The data files of a version as written down by whoever read its log first: a
        version's files never change, and the commit file's stamp in the name tells a table
        made again at the same path (or a copied lake) from the one written down."""
        try:
            text = self._file_list_path(name, version, stamp).read_text(encoding="utf-8")
            relative = json.loads(text)["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        base = self.path(name).resolve()
        return [str(base / r) for r in relative]

    def _write_file_list(self, name: str, version: int, stamp: tuple, files: list[str]) -> None:
        """Written once per version, by the first reader: the next process to open the version
        reads a small file instead of replaying the Delta log. Never needed for correctness:
        any failure only leaves the log to be replayed."""
        base = str(self.path(name).resolve()) + os.sep
        if not all(f.startswith(base) for f in files):
            return
        target = self._file_list_path(name, version, stamp)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
            body = {"dataset": name, "version": version, "files": [f[len(base) :] for f in files]}
            partial.write_text(json.dumps(body), encoding="utf-8")
            os.replace(partial, target)
            kept = sorted(target.parent.glob(f"{name}-*.json"), key=_mtime_or_zero, reverse=True)
            for old in kept[FILE_LISTS_KEPT:]:
                old.unlink(missing_ok=True)
        except OSError:
            logging.getLogger(__name__).warning("file list of %s v%s", name, version, exc_info=True)

    def snapshot(self, as_of: datetime | None = None) -> Snapshot:
        """Latest version of every dataset, or the latest at or before `as_of`."""
        if as_of is None:
            return {name: self.version(name) for name in DATASETS}
        return {name: self.version_as_of(name, as_of) for name in DATASETS}

    def version_as_of(self, name: str, as_of: datetime) -> int | None:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        cutoff_ms = as_of.timestamp() * 1000
        versions = [h["version"] for h in self.history(name) if h["timestamp_ms"] <= cutoff_ms]
        return max(versions) if versions else None

    def _note_files(self, name: str, version: int, table: DeltaTable) -> list[str]:
        """The version's files from its loaded log, written down and kept in memory."""
        files = table.file_uris()
        stamp = self._commit_stamp(name, version)
        if stamp is not None and (name, version, stamp) not in self._files:
            self._write_file_list(name, version, stamp, files)
            self._remember_files(name, version, stamp, files)
        return files

    def file_uris(self, name: str, version: int | None) -> list[str]:
        """The data files of a version: kept in memory, else written down beside the lake by
        the first reader (`_read_file_list`), else from the Delta log."""
        if version is None:
            return []
        stamp = self._commit_stamp(name, version)
        if stamp is None:  # no commit file (its log entry cleaned up): the log alone knows
            table = self._table(name, version)
            return table.file_uris() if table else []
        known = self._files.get((name, version, stamp))
        if known is not None:
            return list(known)
        files = self._read_file_list(name, version, stamp)
        if files is not None:
            self._remember_files(name, version, stamp, files)
            return files
        table = self._table(name, version)
        return self._note_files(name, version, table) if table else []

    def read(self, name: str, version: int | None = None) -> pa.Table:
        ds = dataset(name)
        table = self._table(name, version)
        if table is None:
            return ds.arrow_schema().empty_table()
        return table.to_pyarrow_table()

    def history(self, name: str | None = None) -> list[dict]:
        """Every version of one or all datasets, newest first, with its commit record."""
        names = [name] if name else list(DATASETS)
        entries = []
        for each in names:
            table = self._table(each)
            if table is not None:
                entries += _history_of(each, table)
        entries.sort(key=lambda e: (e["timestamp_ms"], e["version"]), reverse=True)
        return entries

    def batches(self, name: str | None = None) -> list[dict]:
        """Published batches, newest first, with whether their rows are in the current version.
        Each table's log is read once (history, latest files)."""
        entries = []
        for each in [name] if name else list(DATASETS):
            table = self._table(each)
            if table is None:
                continue
            found = [e for e in _history_of(each, table) if e["action"] in ("publish", "replace")]
            live = self._live_ids_of(each, table.file_uris()) if found else set()
            for entry in found:
                entry["rolled_back"] = entry["upload_id"] not in live
            entries += found
        entries.sort(key=lambda e: (e["timestamp_ms"], e["version"]), reverse=True)
        return entries

    def live_upload_ids(self, name: str) -> set[str]:
        table = self._table(name)
        return self._live_ids_of(name, table.file_uris()) if table else set()

    def _live_ids_of(self, name: str, files: list[str]) -> set[str]:
        if not files:
            return set()
        key = (name, tuple(files))
        if key not in self._live_ids:  # the snapshots page asks on every rerun
            self._live_ids[key] = frozenset(_upload_ids(files))
            while len(self._live_ids) > 16:
                self._live_ids.pop(next(iter(self._live_ids)))
        return set(self._live_ids[key])

    def find_sha256(self, name: str, sha256: str) -> dict | None:
        for entry in self.batches(name):
            if entry["sha256"] == sha256 and not entry["rolled_back"]:
                return entry
        return None

    def repeated_keys(self, name: str, examples: int = 5) -> RepeatedKeys:
        """Keys held by more than one row of the current version: what a publish refuses
        (or replaces), so any found came in another way, such as a re-upload of participation
        rows of no district before such keys matched empty to empty. A response without
        问卷编号 has no key and is never counted."""
        ds = dataset(name)
        files = self.file_uris(name, self.version(name))
        if not files:
            return RepeatedKeys(name, 0, 0, [], [])
        keys = ", ".join(ds.key)
        keyed = " and ".join(f"{k} is not null" for k in ds.key if k not in ds.empty_key_values)
        with _scratch() as con:  # GROUP BY holds empty (null) equal to empty
            con.execute(
                f"""
                create temp table repeated as
                select {keys}, count(*) as row_count, list(distinct {UPLOAD_ID}) as batches
                from read_parquet($files, union_by_name = true)
                where {keyed or "true"}
                group by {keys}
                having count(*) > 1
                """,
                {"files": files},
            )
            found, extra = con.sql(
                "select count(*), coalesce(sum(row_count - 1), 0) from repeated"
            ).fetchall()[0]
            batches = con.sql("select distinct unnest(batches) from repeated").fetchall()
            shown = con.sql(
                f"select {keys}, row_count from repeated order by {keys} limit {int(examples)}"
            ).to_arrow_table()
        order = {b["upload_id"]: b["version"] for b in self.batches(name)}
        ids = sorted((b for (b,) in batches if b), key=lambda b: (order.get(b, -1), b))
        return RepeatedKeys(name, int(found), int(extra), ids, shown.to_pylist())

    def overlap(self, name: str, table: pa.Table) -> tuple[int, list[str]]:
        """Rows of `table` whose key is already published, and the batches holding those keys."""
        ds = dataset(name)
        files = self.file_uris(name, self.version(name))
        if not files or table.num_rows == 0:
            return 0, []
        keys = list(ds.key)
        join = same_key(ds, "t", "n")
        with _scratch() as con:
            con.register("incoming", table.select(keys))
            overlap_rows, batches = con.execute(
                f"""
                select count(*), coalesce(list(distinct t.{UPLOAD_ID} order by t.{UPLOAD_ID}), [])
                from read_parquet($files, union_by_name = true) as t
                inner join incoming as n on {join}
                """,
                {"files": files},
            ).fetchone()
        return int(overlap_rows), list(batches)

    def _commit(self, **record) -> CommitProperties:
        record["committed_by"] = "civindex"
        return CommitProperties(
            custom_metadata={k: str(v) for k, v in record.items() if v is not None}
        )

    def publish(
        self,
        name: str,
        table: pa.Table | Iterable[pa.Table],
        *,
        user: str | Actor,
        source_name: str = "",
        sha256: str = "",
        upload_id: str | None = None,
        replace_overlap: bool = False,
        is_demo: bool = False,
    ) -> Commit:
        """Write a batch as one new version. Repeated keys are refused unless `replace_overlap`."""
        ds = dataset(name)
        user = require(user, "analyst", f"publish to {name}")
        upload_id = upload_id or new_upload_id()
        if upload_id.startswith(DEMO_PREFIX) != is_demo:
            raise StoreError(f"upload_id {upload_id!r} must start with {DEMO_PREFIX!r} iff demo")
        if not isinstance(table, pa.Table):
            if not is_demo:
                raise StoreError("only demo batches may be streamed without an overlap check")
            return self._publish_stream(ds, table, user, source_name, upload_id)
        if table.num_rows == 0:
            raise StoreError("the batch has no rows")
        rows = conform(ds, table, upload_id)
        with self.lock(name):
            faults.point("store.locked")
            logged = sha256 and any(e["sha256"] == sha256 for e in self.history(name))
            earlier = self.find_sha256(name, sha256) if logged else None  # log first: cheap
            if earlier:
                raise IdenticalFileError(earlier)
            overlap_rows, batches = self.overlap(name, rows)
            if overlap_rows and not replace_overlap:
                raise OverlapError(name, overlap_rows, batches)
            return self._write_batch(
                ds, rows, user, source_name, sha256, upload_id, is_demo, overlap_rows
            )

    def _write_batch(
        self,
        ds: Dataset,
        rows: pa.Table,
        user: str,
        source_name: str,
        sha256: str,
        upload_id: str,
        is_demo: bool,
        overlap_rows: int,
    ) -> Commit:
        name = ds.name
        record = dict(
            user=user,
            upload_id=upload_id,
            source_name=source_name,
            sha256=sha256,
            rows=rows.num_rows,
            is_demo=str(is_demo).lower(),
            dataset=name,
        )
        path = self.path(name)
        path.mkdir(parents=True, exist_ok=True)
        if overlap_rows:
            target = self._table(name)
            predicate = same_key(ds, "t", "s")
            record.update(action="replace", replaced_rows=overlap_rows)
            faults.point("store.before_commit")
            (
                target.merge(
                    rows,
                    predicate,
                    source_alias="s",
                    target_alias="t",
                    # the batch is in memory already: unstreamed, its key ranges let the merge
                    # skip files that cannot hold them (2.2 s, 1.4 GB against 4.5 s, 3.4 GB
                    # for 20k rows of a month into 10M)
                    streamed_exec=False,
                    commit_properties=self._commit(**record),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        else:
            record.update(action="publish")
            self._append(path, rows, self._commit(**record))
        faults.point("store.committed")
        self._derive(name)
        return Commit(name, self.version(name), upload_id, rows.num_rows, record["action"])

    def _append(self, path: Path, rows: pa.Table, properties: CommitProperties) -> None:
        """Append in the Delta protocol's two steps, data file then log entry, each visible to
        the fault points: a crash in between leaves a file no version refers to, which
        `clean_orphans` removes, and never a partial version. No min/max statistics are
        written, so no reader can skip a file on a wrong one."""
        data_file = path / f"part-00000-{uuid.uuid4()}-c000.zstd.parquet"
        try:
            pq.write_table(rows, data_file, compression="zstd")
            faults.point("store.data_written")
            stats = {
                "numRecords": rows.num_rows,
                "nullCount": {c: rows[c].null_count for c in rows.column_names},
            }
            add = AddAction(
                data_file.name,
                data_file.stat().st_size,
                {},
                int(time.time() * 1000),
                True,
                json.dumps(stats),
            )
        except BaseException:
            data_file.unlink(missing_ok=True)
            raise
        table = DeltaTable(path) if DeltaTable.is_deltatable(str(path)) else None
        if table is None:
            create_table_with_add_actions(
                str(path),
                Schema.from_arrow(rows.schema),
                [add],
                mode="append",
                commit_properties=properties,
            )
        else:
            table.create_write_transaction(
                [add], "append", rows.schema, commit_properties=properties
            )

    def _publish_stream(
        self, ds: Dataset, tables: Iterable[pa.Table], user: str, source_name: str, upload_id: str
    ) -> Commit:
        """Write a generated batch chunk by chunk in one commit (demo data at benchmark scale)."""
        counted = [0]

        def conformed():
            for chunk in tables:
                counted[0] += chunk.num_rows
                yield from conform(ds, chunk, upload_id).to_batches()

        reader = pa.RecordBatchReader.from_batches(ds.arrow_schema(), conformed())
        record = dict(
            action="publish",
            user=user,
            upload_id=upload_id,
            source_name=source_name,
            is_demo="true",
            dataset=ds.name,
        )
        self.path(ds.name).parent.mkdir(parents=True, exist_ok=True)
        with self.lock(ds.name):
            write_deltalake(
                self.path(ds.name), reader, mode="append", commit_properties=self._commit(**record)
            )
            self._derive(ds.name)
            return Commit(ds.name, self.version(ds.name), upload_id, counted[0], "publish")

    def rollback(self, upload_id: str, *, user: str | Actor) -> list[Commit]:
        """Remove a batch as a new version; rows it replaced come back."""
        user = require(user, "analyst", "roll back a batch")
        live = [b for b in self.batches() if b["upload_id"] == upload_id and not b["rolled_back"]]
        if not live:
            raise StoreError(f"no live batch with upload_id {upload_id!r}")
        commits = []
        for batch in live:
            with self.lock(batch["dataset"]):
                if upload_id in self.live_upload_ids(batch["dataset"]):  # not undone meanwhile
                    commits.append(self._rollback_batch(batch, user))
        if not commits:
            raise StoreError(f"no live batch with upload_id {upload_id!r}")
        return commits

    def _rollback_batch(self, batch: dict, user: str) -> Commit:
        upload_id = batch["upload_id"]
        name = batch["dataset"]
        table = self._table(name)
        record = dict(action="rollback", user=user, target=upload_id, dataset=name, upload_id="")
        restored = self._replaced_rows(name, batch) if batch["action"] == "replace" else None
        predicate = f"{UPLOAD_ID} = {_sql_string(upload_id)}"
        faults.point("store.before_commit")
        if restored is None or restored.num_rows == 0:
            result = table.delete(predicate, commit_properties=self._commit(**record))
            removed = int(result.get("num_deleted_rows", 0))
        else:
            ds = dataset(name)
            removed = batch["rows"]
            record["restored_rows"] = restored.num_rows
            source = self._rollback_source(ds, upload_id, restored)
            if source is None:  # rows of no key: only "not matched by source" finds them
                merge = table.merge(
                    restored,
                    f"{same_key(ds, 't', 's')} and t.{predicate}",
                    source_alias="s",
                    target_alias="t",
                    commit_properties=self._commit(**record),
                )
                merge = merge.when_matched_update_all().when_not_matched_insert_all()
                merge.when_not_matched_by_source_delete(f"t.{predicate}").execute()
            else:
                # Every row of the batch is matched by key: by the row it replaced, which
                # comes back, or by a tombstone. Nothing is left to find "not matched by
                # source", which reads the whole table; the batch's key range lets the merge
                # skip files.
                columns = {c: f"s.{c}" for c in ds.stored_names}
                merge = table.merge(
                    source,
                    f"{same_key(ds, 't', 's')} and t.{predicate}",
                    source_alias="s",
                    target_alias="t",
                    streamed_exec=False,
                    commit_properties=self._commit(**record),
                )
                merge = merge.when_matched_delete("s._gone").when_matched_update(columns)
                merge.when_not_matched_insert(columns, "not s._gone").execute()
        faults.point("store.committed")
        self._derive(name)
        return Commit(name, self.version(name), upload_id, removed, "rollback")

    def _rollback_source(self, ds: Dataset, upload_id: str, restored: pa.Table) -> pa.Table | None:
        """The rows coming back (`_gone` false) and a tombstone (`_gone` true, the key only)
        for each row of the batch that none comes back for: the rows it added. None when the
        batch holds a row of no key (a response without 问卷编号), which no key can match."""
        keys = list(ds.key)
        files = self.file_uris(ds.name, self.version(ds.name))
        keyless = " or ".join(f"{k} is null" for k in keys if k not in ds.empty_key_values)
        with _scratch() as con:
            if keyless:
                found = con.sql(
                    f"select count(*) from read_parquet($files, union_by_name = true) "
                    f"where {UPLOAD_ID} = $upload_id and ({keyless})",
                    params={"files": files, "upload_id": upload_id},
                ).fetchall()
                if found[0][0]:
                    return None
            con.register("restored", restored.select(keys))
            added = con.sql(
                f"""
                select {", ".join(f"t.{k}" for k in keys)}
                from read_parquet($files, union_by_name = true) as t
                where t.{UPLOAD_ID} = $upload_id
                    and not exists (select 1 from restored as s where {same_key(ds, "t", "s")})
                """,
                params={"files": files, "upload_id": upload_id},
            ).to_arrow_table()
        schema = pa.schema([field.with_nullable(True) for field in ds.arrow_schema()])
        tombstones = pa.table(
            [
                added[f.name].cast(f.type) if f.name in keys else pa.nulls(added.num_rows, f.type)
                for f in schema
            ],
            schema=schema,
        )
        source = pa.concat_tables([restored.cast(schema), tombstones])
        gone = [False] * restored.num_rows + [True] * tombstones.num_rows
        return source.append_column("_gone", pa.array(gone, pa.bool_()))

    def _replaced_rows(self, name: str, batch: dict) -> pa.Table:
        """Rows the batch overwrote that no later batch has taken over since, leaving out rows
        of batches that were themselves rolled back in the meantime (and are still gone)."""
        keys = list(dataset(name).key)
        live = self.live_upload_ids(name)
        withdrawn = sorted(
            {
                e["target"]
                for e in self.history(name)
                if e["action"] == "rollback" and e["version"] > batch["version"]
            }
            - live
        )
        join = same_key(dataset(name), "old", "b")
        join_now = same_key(dataset(name), "now", "old")
        # Both versions narrowed to the batch's keys first: joined whole, the current one
        # would be held in memory (2.7 GB at 50M rows).
        with _scratch() as con:
            result = con.sql(
                f"""
                with batch_keys as (
                    select {", ".join(keys)} from read_parquet($at, union_by_name = true)
                    where {UPLOAD_ID} = $upload_id
                ),

                old as (
                    select old.* from read_parquet($before, union_by_name = true) as old
                    semi join batch_keys as b on {join}
                ),

                now as (
                    select now.* from read_parquet($current, union_by_name = true) as now
                    semi join batch_keys as b on {same_key(dataset(name), "now", "b")}
                )

                select old.* from old
                where not exists (
                    select 1 from now where {join_now} and now.{UPLOAD_ID} <> $upload_id
                )
                    and not list_contains($withdrawn::varchar[], old.{UPLOAD_ID})
                """,
                params={
                    "at": self.file_uris(name, batch["version"]),
                    "before": self.file_uris(name, batch["version"] - 1),
                    "current": self.file_uris(name, self.version(name)),
                    "upload_id": batch["upload_id"],
                    "withdrawn": withdrawn,
                },
            ).to_arrow_table()
        return result.cast(dataset(name).arrow_schema())

    def restore(self, name: str, version: int, *, user: str | Actor) -> Commit:
        """Make an earlier version current again, as a new version."""
        user = require(user, "analyst", "restore a version")
        with self.lock(name):
            table = self._table(name)
            if table is None:
                raise StoreError(f"{name} has no data yet")
            current = table.version()
            if not 0 <= version <= current:
                raise StoreError(f"{name} has versions 0..{current}; {version} does not exist")
            record = dict(action="restore", user=user, target=str(version), dataset=name)
            faults.point("store.before_commit")
            table.restore(version, commit_properties=self._commit(**record))
            faults.point("store.committed")
            self._derive(name)
            return Commit(name, self.version(name), None, self.count_rows(name), "restore")

    def clear_demo(self, *, user: str | Actor) -> list[Commit]:
        """Delete every demo row from every dataset, each as a new version."""
        user = require(user, "analyst", "clear demo data")
        commits = []
        for name in DATASETS:
            table = self._table(name)
            if table is None:
                continue
            record = dict(action="clear_demo", user=user, dataset=name, target=DEMO_PREFIX)
            with self.lock(name):
                result = self._table(name).delete(
                    f"starts_with({UPLOAD_ID}, '{DEMO_PREFIX}')",
                    commit_properties=self._commit(**record),
                )
            removed = int(result.get("num_deleted_rows", 0))
            if removed:
                self._derive(name)
                commits.append(Commit(name, self.version(name), None, removed, "clear_demo"))
        return commits

    def optimize(self, name: str, *, user: str | Actor) -> Commit | None:
        """Compact the small files that many uploads leave into large ones (Delta optimize), as
        a new version with the same rows; None when there was nothing to compact."""
        user = require(user, "analyst", f"optimize {name}")
        with self.lock(name):
            table = self._table(name)
            if table is None:
                raise StoreError(f"{name} has no data yet")
            before = table.version()
            record = dict(action="optimize", user=user, dataset=name)
            metrics = table.optimize.compact(
                writer_properties=WriterProperties(
                    compression="ZSTD", max_row_group_size=OPTIMIZE_ROW_GROUP_ROWS
                ),
                commit_properties=self._commit(**record),
            )
            if not metrics.get("numFilesRemoved"):
                return None
            from civindex import derived

            derived.carry_over(self, name, before, self.version(name))
            self._table(name).create_checkpoint()
            return Commit(name, self.version(name), None, self.count_rows(name), "optimize")

    def _derive(self, name: str) -> None:
        """Compute the derived aggregates of the version just committed (civindex/derived.py),
        write down its data files, and a checkpoint every CHECKPOINT_EVERY versions. All only
        speed reads up, so a failure never fails the commit: readers compute the aggregates,
        or replay the log."""
        from civindex import derived

        table = None
        try:
            table = self._table(name)
            version = table.version() if table else 0
            if version and version % CHECKPOINT_EVERY == 0:
                table.create_checkpoint()  # opening the table reads it, not every commit so far
        except Exception:
            logging.getLogger(__name__).warning("checkpoint of %s", name, exc_info=True)
        try:
            if table is not None:  # written down now: the next reader needs no log replay
                self._note_files(name, table.version(), table)
        except Exception:
            logging.getLogger(__name__).warning("file list of %s", name, exc_info=True)
        try:
            derived.refresh(self, name)
        except Exception:
            logging.getLogger(__name__).warning("derived aggregates of %s", name, exc_info=True)

    def count_rows(self, name: str, version: int | None = None) -> int:
        files = self.file_uris(name, self.version(name) if version is None else version)
        if not files:
            return 0
        query = "select count(*) from read_parquet($files, union_by_name = true)"
        with _scratch() as con:
            return con.execute(query, {"files": files}).fetchone()[0]

    def clean_orphans(self, min_age_s: float = ORPHAN_MIN_AGE_S) -> list[Path]:
        """Remove what a writer killed mid-commit left in the lake: data files that no entry of
        the log adds or removes, staging files (`*.parquet#1`) and unfinished log entries, once
        older than `min_age_s`. Files of earlier versions stay: time travel reads them."""
        cutoff = time.time() - min_age_s
        removed = []
        for name in DATASETS:
            log = self.path(name) / "_delta_log"
            if not log.is_dir():
                continue
            with self.lock(name):
                logged = _logged_files(log)
                candidates = [
                    *(p for p in log.parent.iterdir() if not p.name.startswith(("_", "."))),
                    *(
                        p
                        for p in log.iterdir()
                        if p.name.startswith(("_commit_", ".")) or p.suffix == ".tmp"
                    ),
                ]
                for candidate in candidates:
                    try:
                        if candidate.name in logged or candidate.stat().st_mtime > cutoff:
                            continue
                        if candidate.is_file():
                            candidate.unlink()
                            removed.append(candidate)
                    except FileNotFoundError:
                        continue
        return removed


def _logged_files(log: Path) -> set[str]:
    """Every data file path that a commit or checkpoint in `log` adds or removes."""
    paths: set[str] = set()
    for entry in log.iterdir():
        if entry.suffix == ".json" and entry.stem.isdigit():
            for line in entry.read_text(encoding="utf-8").splitlines():
                action = json.loads(line) if line.strip() else {}
                for kind in ("add", "remove"):
                    if isinstance(action.get(kind), dict):
                        paths.add(unquote(action[kind]["path"]))
        elif ".checkpoint" in entry.name and entry.suffix == ".parquet":
            kinds = [k for k in ("add", "remove") if k in pq.read_schema(entry).names]
            table = pq.read_table(entry, columns=kinds)
            for kind in kinds:
                for action in table.column(kind).to_pylist():
                    if action and action.get("path"):
                        paths.add(unquote(action["path"]))
    return paths


def _history_of(name: str, table: DeltaTable) -> list[dict]:
    entries = []
    for h in table.history():
        metrics = h.get("operationMetrics", {})
        rows = h.get("rows")
        if rows is None:
            rows = metrics.get("num_added_rows", metrics.get("num_deleted_rows", 0))
        entries.append(
            {
                "dataset": name,
                "version": h["version"],
                "timestamp_ms": h["timestamp"],
                "committed_at": datetime.fromtimestamp(h["timestamp"] / 1000, UTC),
                "action": h.get("action", h.get("operation", "").lower()),
                "user": h.get("user", ""),
                "upload_id": h.get("upload_id", ""),
                "source_name": h.get("source_name", ""),
                "sha256": h.get("sha256", ""),
                "rows": int(rows),
                "is_demo": h.get("is_demo") == "true",
                "target": h.get("target", ""),
            }
        )
    return entries


def same_key(ds: Dataset, left: str, right: str) -> str:
    """SQL (DuckDB's and the Delta merge's) that two rows have the same key. A key column whose
    empty value is a value (`Dataset.empty_key_values`: a participation row of no district)
    matches empty to empty: with `=` alone such a row is never found again, and a second upload
    of it would be added as a duplicate. Such columns are text, and '' is no code; the Delta
    merge reads no `is not distinct from`."""
    return " and ".join(
        f"coalesce({left}.{k}, '') = coalesce({right}.{k}, '')"
        if k in ds.empty_key_values
        else f"{left}.{k} = {right}.{k}"
        for k in ds.key
    )


def _scratch() -> duckdb.DuckDBPyConnection:
    """A DuckDB for one query of a write path, under the memory limit the pages' DuckDB has
    (CIVINDEX_DUCKDB_MEMORY): left unset, it could take 80% of the server's memory."""
    return duckdb.connect(config=config.duckdb_settings())


_footer_reader: list[duckdb.DuckDBPyConnection] = []
_footer_reader_lock = threading.Lock()


def _upload_ids(files: list[str]) -> set[str]:
    """The batches with rows in these files. A row group whose exact statistics say one id
    needs only its footer; only files with a mixed or unknown row group are read. The reads go
    through one kept DuckDB: opening a new one costs more (~12 ms) than reading the footers."""
    with _footer_reader_lock:
        if not _footer_reader:
            _footer_reader.append(duckdb.connect())
        connection = _footer_reader[0].cursor()
    groups = connection.execute(
        "select file_name, stats_min_value, stats_max_value, min_is_exact, max_is_exact, "
        "stats_null_count from parquet_metadata($files) where path_in_schema = $column",
        {"files": files, "column": UPLOAD_ID},
    ).fetchall()
    found, mixed = set(), set()
    for file, low, high, low_exact, high_exact, nulls in groups:
        if low is not None and low == high and low_exact and high_exact and nulls == 0:
            found.add(low)
        else:
            mixed.add(file)
    if mixed:
        query = f"select distinct {UPLOAD_ID} from read_parquet($files, union_by_name = true)"
        rows = connection.execute(query, {"files": sorted(mixed)}).fetchall()
        found |= {row[0] for row in rows if row[0] is not None}
    connection.close()
    return found
