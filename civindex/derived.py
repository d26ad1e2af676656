"""Derived aggregates: small Parquet tables computed from one exact version of a dataset.

A page's satisfaction figures pool millions of responses, but only per month × unit × district ×
window × channel × rating level; `queries/_satisfaction_rollup.sql` computes that once per
version, `queries/_satisfaction_unit_month.sql` sums it over windows and channels, and each
satisfaction query reads the smallest that holds what it needs. A rollup file is named after
the dataset version and a digest of exactly what it was computed from — the version's Parquet
files (immutable in Delta), the rollup SQL and the column types — so a figure can never come
from rows other than the snapshot's: another version, a rebuilt table or a changed definition
has another digest. A restore back to an earlier file set finds that set's rollup again.

Rollups are refreshed after every commit (`Store` calls `refresh`) and computed on first open
when missing (`Database` calls `materialise`). Where the file cannot be written, the view is the
same SQL over the raw rows: slower, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from civindex import config
from civindex.schema import DATASETS, DUCKDB_TYPES

if TYPE_CHECKING:
    from civindex.store import Store

DERIVED_DIR = "_derived"
KEEP_FILES = 8  # per rollup: the newest versions, for snapshots still open and quick restores
MIN_AGE_S = 3600  # never prune a file younger than this: a reader may have just opened it
ROW_GROUP_ROWS = 32_768  # about half a year of months per row group at 10M responses
MAX_SPLICES = 24  # months a change may touch for its rollup step to keep the file's order


@dataclass(frozen=True)
class Rollup:
    name: str  # the view the queries read
    dataset: str
    keys: tuple[str, ...]  # its grain; every other column is a count or a sum, so it adds up
    source: str | None = None  # a finer rollup its SQL reads instead of the dataset

    @property
    def sql(self) -> str:
        return (config.QUERIES_DIR / f"_{self.name}.sql").read_text(encoding="utf-8")

    @property
    def definition(self) -> str:
        """Its SQL and that of every rollup it is computed from."""
        source = next((r for r in ROLLUPS if r.name == self.source), None)
        return self.sql + (source.definition if source else "")


# In dependency order: a rollup computed from another comes after it.
ROLLUPS = (
    Rollup(
        "satisfaction_rollup",
        "satisfaction",
        ("period_month", "unit_code", "district_code", "window_name", "channel", "rating_overall"),
    ),
    Rollup(
        "satisfaction_unit_month",
        "satisfaction",
        ("period_month", "unit_code", "district_code", "rating_overall"),
        source="satisfaction_rollup",
    ),
)


def rollups_of(dataset_name: str) -> list[Rollup]:
    return [r for r in ROLLUPS if r.dataset == dataset_name]


def folder(store: Store) -> Path:
    return store.lake_dir / DERIVED_DIR


def digest(rollup: Rollup, files: list[str]) -> str:
    """What the rollup is computed from: file names, the SQL and the dataset's column types."""
    h = hashlib.blake2b(digest_size=10)
    h.update(rollup.definition.encode())
    for column in DATASETS[rollup.dataset].columns:
        h.update(f"{column.name}:{DUCKDB_TYPES[column.dtype]};".encode())
    for name in sorted(os.path.basename(f) for f in files):
        h.update(name.encode() + b"\n")
    return h.hexdigest()


def find(store: Store, rollup: Rollup, key: str) -> Path | None:
    found = sorted(folder(store).glob(f"{rollup.name}-v*-{key}.parquet"))
    return found[-1] if found else None


def materialise(
    store: Store, connection: duckdb.DuckDBPyConnection, rollup: Rollup, version: int, files
) -> Path | None:
    """The rollup file of this version, computed with `connection` (whose dataset views read
    this version) when missing; None when it cannot be written."""
    key = digest(rollup, files)
    existing = find(store, rollup, key)
    if existing is not None:
        return existing
    target = folder(store) / f"{rollup.name}-v{version}-{key}.parquet"
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        step = _step_from_previous(store, rollup, version, files)
        if step is None:
            _write(connection, rollup.sql, partial)
        else:
            _write_step(rollup, *step, partial)
        os.replace(partial, target)  # readers see the whole file or none
    except (OSError, duckdb.IOException, duckdb.PermissionException):
        with contextlib.suppress(OSError):  # e.g. a read-only data dir: the view computes
            partial.unlink(missing_ok=True)
        return None
    prune(store, rollup, keep=target)
    return target


def _step_from_previous(
    store: Store, rollup: Rollup, version: int, files: list[str]
) -> tuple[Path, list[str], list[str]] | None:
    """(previous rollup, removed files, added files) when updating the previous version's
    rollup reads fewer bytes than computing this one afresh, else None."""
    if version == 0 or rollup.source is not None:  # from its source: cheap already
        return None
    previous = store.file_uris(rollup.dataset, version - 1)
    base = find(store, rollup, digest(rollup, previous)) if previous else None
    if base is None:
        return None
    removed = sorted(set(previous) - set(files))
    added = sorted(set(files) - set(previous))
    if _bytes(removed) + _bytes(added) >= _bytes(files):
        return None
    return base, removed, added


def _write_step(
    rollup: Rollup, base: Path, removed: list[str], added: list[str], target: Path
) -> None:
    """previous rollup − rollup(removed files) + rollup(added files): exact, because every
    measure is a count or a sum; a group whose rows all went away is dropped."""
    from civindex.config import duckdb_settings
    from civindex.db import dataset_select

    connection = duckdb.connect(config=duckdb_settings())
    try:
        base_sql = f"select * from read_parquet('{_quoted(base)}')"
        columns = [row[0] for row in connection.execute(f"describe {base_sql}").fetchall()]
        measures = [c for c in columns if c not in rollup.keys]
        keys = ", ".join(rollup.keys)
        parts = []
        for sign, files in (("-", removed), ("", added)):
            if not files:
                continue
            connection.execute(
                f"create or replace temp view {rollup.dataset} as "
                f"{dataset_select(rollup.dataset, files)}"
            )
            part = f"part_{len(parts)}"
            connection.execute(f"create temp table {part} as {rollup.sql}")
            signed = ", ".join(f"{sign}{m} as {m}" for m in measures)
            parts.append(f"select {keys}, {signed} from {part}")
        changes = " union all by name ".join(parts) or f"{base_sql} limit 0"
        connection.execute(f"create temp table changes as {changes}")
        first = rollup.keys[0]
        touched = [
            row[0]
            for row in connection.execute(
                f"select distinct {first} from changes order by 1"
            ).fetchall()
        ]
        sums = ", ".join(f"sum({m})::bigint as {m}" for m in measures)
        # Only the months a change touches are summed again, and spliced into the previous
        # rollup in their place (a month into 50M responses: 1.6-1.7 s and 1.1-1.2 GB above
        # the process's memory before, now 1.0 s and 0.1-0.2 GB). A change to more months, or
        # to groups without a month, has the whole rollup sorted again instead.
        if len(touched) <= MAX_SPLICES and all(type(v) is date for v in touched):
            _write_spliced(connection, base_sql, keys, sums, first, touched, target)
            return
        # Only the groups the change touches are summed again; the others are the previous
        # rows as they were. Key columns may be empty (no district, window or channel): empty
        # matches empty, as in the group by.
        same = " and ".join(f"b.{k} is not distinct from c.{k}" for k in rollup.keys)
        combined = f"""
            with base as ({base_sql}),
            touched as (select distinct {keys} from changes)
            select * from base as b where not exists (select 1 from touched as c where {same})
            union all by name
            select {keys}, {sums} from (
                select b.* from base as b semi join touched as c on {same}
                union all by name
                select * from changes
            )
            group by all
            having sum(rows) <> 0
            order by {first}
        """
        _write(connection, combined, target)
    finally:
        connection.close()


def _write_spliced(
    connection: duckdb.DuckDBPyConnection,
    base_sql: str,
    keys: str,
    sums: str,
    first: str,
    touched: list[date],
    target: Path,
) -> None:
    """The previous rollup in its order by `first` (the month), with each month the change
    touches summed again (previous rows and `changes`) and put back in its place. Every other
    part is a range of the previous file, so nothing is sorted: sorting the whole rollup, as
    the fallback does, held ~1.1 GB at 50M responses (1.6M groups). DuckDB writes the parts of
    a `union all` of scans in order (`preserve_insertion_order`), but not when a part is an
    aggregate, hence the temporary table; tests/test_derived.py checks that the file stays in
    order."""
    months = [f"DATE '{month.isoformat()}'" for month in touched]
    connection.execute(f"""
        create temp table resummed as
        select {keys}, {sums} from (
            {base_sql} where {first} in ({", ".join(months) or "null"})
            union all by name
            select * from changes
        )
        group by all
        having sum(rows) <> 0
    """)
    parts, after = [], None
    for month in months:
        before = f"{first} < {month}" + (f" and {first} > {after}" if after else "")
        parts.append(f"{base_sql} where {before}")
        parts.append(f"select * from resummed where {first} = {month}")
        after = month
    parts.append(f"{base_sql} where {first} > {after}" if after else base_sql)
    if after:  # a group without a month sorts last, as in the rollup's own `order by`
        parts.append(f"{base_sql} where {first} is null")
    _write(connection, " union all by name ".join(f"({part})" for part in parts), target)


def _write(connection: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    connection.execute(
        f"copy ({sql}) to '{_quoted(target)}' "
        f"(format parquet, compression zstd, row_group_size {ROW_GROUP_ROWS})"
    )


def _bytes(files: list[str]) -> int:
    total = 0
    for f in files:
        try:
            total += os.stat(f.removeprefix("file://")).st_size
        except OSError:
            total += 1 << 30  # not a local file: count it as large
    return total


def prune(store: Store, rollup: Rollup, keep: Path | None = None) -> None:
    files = sorted(folder(store).glob(f"{rollup.name}-v*.parquet"), key=_mtime, reverse=True)
    now = time.time()
    for path in files[KEEP_FILES:]:
        if path != keep and now - _mtime(path) > MIN_AGE_S:
            path.unlink(missing_ok=True)


def refresh(store: Store, dataset_name: str) -> None:
    """Compute the rollups of the dataset's latest version (after a commit)."""
    if not rollups_of(dataset_name):
        return
    from civindex.db import Database

    database = Database(store, {dataset_name: store.version(dataset_name)})
    database.connection.close()


def carry_over(store: Store, dataset_name: str, before: int, after: int) -> None:
    """After a commit that rewrote files without changing rows (optimize), the rollups of
    `before` hold for `after`: give them the new file set's name instead of recomputing."""
    for rollup in rollups_of(dataset_name):
        old = find(store, rollup, digest(rollup, store.file_uris(dataset_name, before)))
        files = store.file_uris(dataset_name, after)
        key = digest(rollup, files)
        target = folder(store) / f"{rollup.name}-v{after}-{key}.parquet"
        if old is None or find(store, rollup, key) is not None:
            continue
        try:
            os.link(old, target)
        except OSError:
            shutil.copyfile(old, target)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
