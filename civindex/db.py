"""DuckDB over a snapshot: one view per dataset and per reference list; named queries by name.

A `Database` is built for one snapshot (a version per dataset). Its views read exactly the Parquet
files of those versions, so every result is reproducible from the snapshot key. Each `run` opens
its own cursor because DuckDB connections must not be shared across threads.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from civindex import config, derived
from civindex.config import duckdb_settings
from civindex.schema import BOOLEAN_REFERENCE_COLUMNS, DATASETS, DUCKDB_TYPES
from civindex.store import Snapshot, Store

PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
REFERENCE_NUMERIC = {"sort_order": "INTEGER", "max_points": "DOUBLE"}
MACROS_FILE = "_macros.sql"


class QueryError(Exception):
    """A named query that does not exist or was called with missing parameters."""


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    description: str
    params: tuple[str, ...]


def _strip_sql_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


@cache
def _load_query(path: Path, mtime: float) -> Query:
    sql = path.read_text(encoding="utf-8")
    first = sql.splitlines()[0] if sql else ""
    description = first.removeprefix("--").strip()
    params = tuple(dict.fromkeys(PARAM.findall(_strip_sql_comments(sql))))
    return Query(path.stem, sql, description, params)


def query_names() -> list[str]:
    return sorted(p.stem for p in config.QUERIES_DIR.glob("*.sql") if not p.name.startswith("_"))


def load_query(name: str) -> Query:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise QueryError(f"invalid query name {name!r}")
    path = config.QUERIES_DIR / f"{name}.sql"
    try:
        modified = path.stat().st_mtime  # one call a run of a page makes dozens of times
    except FileNotFoundError:
        raise QueryError(f"no query named {name!r}; known: {', '.join(query_names())}") from None
    return _load_query(path, modified)


def snapshot_key(snapshot: Snapshot) -> tuple:
    return tuple(sorted(snapshot.items()))


def reference_key(root: Path) -> tuple:
    folder = config.reference_dir(root)
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.csv")))


def dataset_select(name: str, files: list[str]) -> str:
    """The rows of a dataset version: its Parquet files, cast to the schema's column types."""
    ds = DATASETS[name]
    if not files:
        columns = ", ".join(
            f"cast(null as {DUCKDB_TYPES[c.dtype]}) as {c.name}" for c in ds.columns
        )
        return f"select {columns}, cast(null as varchar) as upload_id where false"
    file_list = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    columns = ", ".join(
        f"cast({c.name} as {DUCKDB_TYPES[c.dtype]}) as {c.name}" for c in ds.columns
    )
    return f"select {columns}, upload_id from read_parquet([{file_list}], union_by_name = true)"


_instances: dict[tuple, duckdb.DuckDBPyConnection] = {}
_reference_schemas: dict[tuple, _ReferenceSchema] = {}  # by (instance, folder): the latest
_schema_numbers = itertools.count(1)
_instances_lock = threading.Lock()


def _instance(settings: dict) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process and settings: opening one costs ~12 ms, a connection
    to it nothing, and its memory limit then bounds every page's queries together."""
    key = tuple(sorted(settings.items()))
    with _instances_lock:
        if key not in _instances:
            _instances[key] = duckdb.connect(config=settings)
        return _instances[key]


class _ReferenceSchema:
    """A schema of the reference lists as they were on disk. Every Database opened while the
    files were so reads it; once newer files replace it and no Database holds it any more, it
    is dropped (an edited list would otherwise leave one schema behind per version)."""

    def __init__(self, instance: duckdb.DuckDBPyConnection, name: str, stamp: tuple) -> None:
        self.name, self.stamp = name, stamp
        finalizer = weakref.finalize(self, _drop_schema, instance, name)
        finalizer.atexit = False


def _reference_schema(instance: duckdb.DuckDBPyConnection, root: Path) -> _ReferenceSchema:
    """The reference lists' schema for the files as they are now, made once per version of
    them: every snapshot's views read the same one."""
    folder = config.reference_dir(root)
    key, stamp = (id(instance), str(folder)), reference_key(root)
    with _instances_lock:
        current = _reference_schemas.get(key)
        if current is None or current.stamp != stamp:
            name = f"reference_{next(_schema_numbers)}"
            cursor = instance.cursor()
            try:
                _create_reference_tables(cursor, folder, name)
            except BaseException:  # a list that cannot be read leaves no half-made schema
                _drop_schema(instance, name)
                raise
            finally:
                cursor.close()
            current = _reference_schemas[key] = _ReferenceSchema(instance, name, stamp)
        return current


def _create_reference_tables(connection: duckdb.DuckDBPyConnection, folder: Path, schema: str):
    connection.execute(f"create schema {schema}")
    for path in sorted(folder.glob("*.csv")):
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        casts = []
        for column in header:
            if column in BOOLEAN_REFERENCE_COLUMNS:
                casts.append(f"coalesce(try_cast({column} as boolean), false) as {column}")
            elif column in REFERENCE_NUMERIC:
                casts.append(f"try_cast({column} as {REFERENCE_NUMERIC[column]}) as {column}")
            else:
                casts.append(column)
        connection.execute(
            f"create table {schema}.{path.stem} as select {', '.join(casts)} "
            "from read_csv($path, header = true, all_varchar = true)",
            {"path": str(path)},
        )


def _drop_schema(instance: duckdb.DuckDBPyConnection, schema: str) -> None:
    with contextlib.suppress(duckdb.Error):
        cursor = instance.cursor()
        cursor.execute(f"drop schema if exists {schema} cascade")
        cursor.close()


class Database:
    """The snapshot's views and macros in a schema of their own, on the process's DuckDB; the
    schema goes when the Database does."""

    def __init__(
        self, store: Store, snapshot: Snapshot | None = None, memory_limit: str | None = None
    ):
        self.store = store
        self.snapshot = dict(snapshot) if snapshot is not None else store.snapshot()
        settings = duckdb_settings() | ({"memory_limit": memory_limit} if memory_limit else {})
        instance = _instance(settings)
        self.references = _reference_schema(instance, store.root)  # held while this is open
        self.schema = f"snapshot_{next(_schema_numbers)}"
        self.search_path = f"set search_path = '{self.schema},{self.references.name},main'"
        self.connection = instance.cursor()
        self.connection.execute(f"create schema {self.schema}")
        self.connection.execute(self.search_path)
        finalizer = weakref.finalize(self, _drop_schema, instance, self.schema)
        finalizer.atexit = False
        self.files: dict[str, list[str]] = {}
        self._create_dataset_views()
        self.connection.execute((config.QUERIES_DIR / MACROS_FILE).read_text(encoding="utf-8"))
        self._create_derived_views()

    @property
    def key(self) -> tuple:
        return snapshot_key(self.snapshot)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own (one per thread and query) that sees this snapshot."""
        cursor = self.connection.cursor()
        cursor.execute(self.search_path)
        return cursor

    def _create_dataset_views(self) -> None:
        for name in DATASETS:
            files = self.store.file_uris(name, self.snapshot.get(name))
            self.files[name] = files
            self.connection.execute(f"create view {name} as {dataset_select(name, files)}")

    def _create_derived_views(self) -> None:
        """One view per rollup (civindex/derived.py): its file for this snapshot, else its SQL."""
        for rollup in derived.ROLLUPS:
            files = self.files[rollup.dataset]
            version = self.snapshot.get(rollup.dataset)
            path = None
            if files and version is not None:
                path = derived.materialise(self.store, self.connection, rollup, version, files)
            if path is None:
                self.connection.execute(f"create view {rollup.name} as {rollup.sql}")
            else:
                source = str(path).replace("'", "''")
                self.connection.execute(
                    f"create view {rollup.name} as select * from read_parquet('{source}')"
                )

    def run(self, name: str, **params) -> pd.DataFrame:
        """Run `queries/<name>.sql` with its `$params` bound; extra parameters are ignored."""
        query = load_query(name)
        missing = [p for p in query.params if p not in params]
        if missing:
            raise QueryError(f"query {name!r} needs parameter(s): {', '.join(missing)}")
        bound = {p: params[p] for p in query.params}
        cursor = self.cursor()
        try:
            return cursor.execute(query.sql, bound).df()
        finally:
            cursor.close()

    def sql(self, text: str, params: dict | None = None) -> pd.DataFrame:
        cursor = self.cursor()
        try:
            return cursor.execute(text, params or {}).df()
        finally:
            cursor.close()


_databases: OrderedDict[tuple, Database] = OrderedDict()
_databases_lock = threading.Lock()


def open_database(store: Store, snapshot: Snapshot | None = None, keep: int = 4) -> Database:
    """A Database for the snapshot, reused while it is among the `keep` most recent ones."""
    snapshot = store.snapshot() if snapshot is None else snapshot
    key = (str(store.root), snapshot_key(snapshot), reference_key(store.root))
    with _databases_lock:
        database = _databases.get(key)
        if database is None:
            database = Database(store, snapshot)
            _databases[key] = database
            while len(_databases) > keep:
                _databases.popitem(last=False)
        _databases.move_to_end(key)
        return database
