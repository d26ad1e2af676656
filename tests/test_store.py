"""Store round trips on a real Delta Lake table in a temporary data dir."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from civindex import DELTA_ALLOCATOR, DELTA_ALLOCATOR_SETTING
from civindex.store import OverlapError, StoreError

MONTH = date(2025, 3, 1)


def participation(
    rows: list[tuple[str, str, int]], month: date = MONTH, district: str | None = "350102"
) -> pa.Table:
    """Participation rows from (unit_code, category_code, participants); the other counts follow."""
    return pa.table(
        {
            "period_month": [month] * len(rows),
            "unit_code": [unit for unit, _, _ in rows],
            "district_code": pa.array([district] * len(rows), pa.string()),
            "category_code": [category for _, category, _ in rows],
            "tasks_claimed": [1] * len(rows),
            "tasks_completed": [1] * len(rows),
            "activities": [2] * len(rows),
            "participants": [people for _, _, people in rows],
            "volunteer_hours": [1.5 * people for _, _, people in rows],
        }
    )


FIRST = participation([("fgw", "community", 10), ("jyt", "traffic", 20), ("gat", "moral", 30)])


def participants(store, version: int | None = None) -> dict[tuple[str, str], int]:
    table = store.read("participation", version).to_pylist()
    return {(r["unit_code"], r["category_code"]): r["participants"] for r in table}


def upload_ids(store, version: int | None = None) -> dict[tuple[str, str], str]:
    table = store.read("participation", version).to_pylist()
    return {(r["unit_code"], r["category_code"]): r["upload_id"] for r in table}


def test_publish_read_and_history_record_the_batch(store):
    sha = hashlib.sha256(b"first file").hexdigest()
    commit = store.publish(
        "participation",
        FIRST,
        user="analyst-li",
        source_name="2025年3月参与.xlsx",
        sha256=sha,
        upload_id="u-first",
    )

    assert (commit.version, commit.rows, commit.action) == (0, 3, "publish")
    assert participants(store) == {
        ("fgw", "community"): 10,
        ("jyt", "traffic"): 20,
        ("gat", "moral"): 30,
    }
    assert set(upload_ids(store).values()) == {"u-first"}
    # Columns the batch left out are stored as nulls, not dropped.
    assert store.read("participation").column("practical_matters").null_count == 3

    (entry,) = store.history("participation")
    assert entry["version"] == 0
    assert entry["action"] == "publish"
    assert entry["user"] == "analyst-li"
    assert entry["source_name"] == "2025年3月参与.xlsx"
    assert entry["sha256"] == sha
    assert entry["rows"] == 3
    assert entry["upload_id"] == "u-first"
    assert entry["is_demo"] is False
    assert abs(entry["committed_at"] - datetime.now(UTC)) < timedelta(minutes=5)
    assert store.history("satisfaction") == []
    assert store.find_sha256("participation", sha)["upload_id"] == "u-first"


def test_an_old_version_stays_readable(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )

    assert store.version("participation") == 1
    assert sum(participants(store, 0).values()) == 60
    assert sum(participants(store).values()) == 67
    assert store.count_rows("participation", 0) == 3
    assert store.count_rows("participation") == 4
    assert [e["version"] for e in store.history("participation")] == [1, 0]


def test_version_as_of_a_timestamp(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )
    by_version = {e["version"]: e["committed_at"] for e in store.history("participation")}

    assert store.version_as_of("participation", by_version[0]) == 0
    assert store.version_as_of("participation", by_version[1]) == 1
    assert store.version_as_of("participation", by_version[1] + timedelta(days=1)) == 1
    assert store.version_as_of("participation", by_version[0] - timedelta(seconds=1)) is None
    # A naive timestamp is read as UTC.
    naive = (by_version[1] + timedelta(hours=1)).replace(tzinfo=None)
    assert store.version_as_of("participation", naive) == 1

    before = store.snapshot(by_version[0] - timedelta(seconds=1))
    assert before == {"participation": None, "satisfaction": None, "index_results": None}
    assert store.snapshot(by_version[1])["participation"] == 1


def test_overlap_is_refused_then_replaced_in_one_version(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    correction = participation([("jyt", "traffic", 25), ("czt", "volunteer", 5)])

    with pytest.raises(OverlapError) as refused:
        store.publish("participation", correction, user="b", upload_id="u-fix")
    assert refused.value.rows == 1
    assert refused.value.batches == ["u-first"]
    assert store.version("participation") == 0
    assert sum(participants(store).values()) == 60

    commit = store.publish(
        "participation", correction, user="b", upload_id="u-fix", replace_overlap=True
    )

    assert (commit.version, commit.action, commit.rows) == (1, "replace", 2)
    assert store.history("participation")[0]["action"] == "replace"
    assert participants(store) == {
        ("fgw", "community"): 10,
        ("jyt", "traffic"): 25,
        ("gat", "moral"): 30,
        ("czt", "volunteer"): 5,
    }
    assert upload_ids(store)[("jyt", "traffic")] == "u-fix"
    assert store.count_rows("participation") == 4


def test_rollback_of_a_plain_batch_is_a_new_version(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation",
        participation([("czt", "volunteer", 7), ("mzt", "window", 8)]),
        user="a",
        upload_id="u-second",
    )

    (commit,) = store.rollback("u-second", user="b")

    assert (commit.dataset, commit.version, commit.rows) == ("participation", 2, 2)
    assert sum(participants(store).values()) == 60
    assert set(upload_ids(store).values()) == {"u-first"}
    rollback = store.history("participation")[0]
    assert (rollback["action"], rollback["target"], rollback["user"]) == (
        "rollback",
        "u-second",
        "b",
    )
    # The rolled-back rows are still in version 1.
    assert sum(participants(store, 1).values()) == 75
    with pytest.raises(StoreError, match="u-second"):
        store.rollback("u-second", user="b")


def publish_fix(store, rows) -> None:
    """A correction that replaces the published rows it overlaps, as batch u-fix."""
    store.publish(
        "participation", participation(rows), user="b", upload_id="u-fix", replace_overlap=True
    )


def test_rollback_of_a_replace_brings_the_replaced_rows_back(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    publish_fix(store, [("jyt", "traffic", 25), ("czt", "volunteer", 5)])
    assert sum(participants(store).values()) == 70

    (commit,) = store.rollback("u-fix", user="c")

    assert commit.version == 2
    assert participants(store) == {
        ("fgw", "community"): 10,
        ("jyt", "traffic"): 20,
        ("gat", "moral"): 30,
    }
    assert set(upload_ids(store).values()) == {"u-first"}
    assert store.count_rows("participation") == 3


def test_rows_of_no_district_are_found_again_refused_replaced_and_brought_back(store):
    # a unit's row for the whole city has no district; it is a key like any other
    store.publish(
        "participation",
        participation([("fgw", "community", 10), ("jyt", "traffic", 20)], district=None),
        user="a",
        upload_id="u-first",
    )
    store.publish(
        "participation", participation([("jyt", "traffic", 7)]), user="a", upload_id="u-gulou"
    )
    again = participation([("jyt", "traffic", 25)], district=None)

    with pytest.raises(OverlapError) as refused:
        store.publish("participation", again, user="b", upload_id="u-fix")
    assert (refused.value.rows, refused.value.batches) == (1, ["u-first"])

    store.publish("participation", again, user="b", upload_id="u-fix", replace_overlap=True)
    rows = store.read("participation").to_pylist()
    by_key = {(r["unit_code"], r["district_code"]): r["participants"] for r in rows}
    assert by_key == {("fgw", None): 10, ("jyt", None): 25, ("jyt", "350102"): 7}

    store.rollback("u-fix", user="c")
    rows = store.read("participation").to_pylist()
    by_key = {(r["unit_code"], r["district_code"]): r["participants"] for r in rows}
    assert by_key == {("fgw", None): 10, ("jyt", None): 20, ("jyt", "350102"): 7}
    assert store.count_rows("participation") == 3


def test_restore_an_earlier_version(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )
    store.rollback("u-second", user="a")

    commit = store.restore("participation", 1, user="admin")

    assert (commit.version, commit.action, commit.rows) == (3, "restore", 4)
    assert sum(participants(store).values()) == 67
    entry = store.history("participation")[0]
    assert (entry["action"], entry["target"], entry["user"]) == ("restore", "1", "admin")


def test_restore_of_a_missing_version_is_refused(store):
    with pytest.raises(StoreError, match="no data"):
        store.restore("participation", 0, user="a")
    store.publish("participation", FIRST, user="a", upload_id="u-first")

    for version in (1, 7, -1):
        with pytest.raises(StoreError, match="does not exist"):
            store.restore("participation", version, user="a")
    assert store.version("participation") == 0


def test_batches_report_rolled_back_after_rollback_and_after_restore(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )

    def status():
        return {b["upload_id"]: b["rolled_back"] for b in store.batches("participation")}

    assert status() == {"u-first": False, "u-second": False}
    store.rollback("u-second", user="a")
    assert status() == {"u-first": False, "u-second": True}
    store.restore("participation", 1, user="a")
    assert status() == {"u-first": False, "u-second": False}
    store.restore("participation", 0, user="a")
    assert status() == {"u-first": False, "u-second": True}


def test_clear_demo_removes_only_demo_rows(store):
    store.publish("participation", FIRST, user="a", upload_id="u-real")
    demo_rows = participation([("czt", "volunteer", 100), ("mzt", "window", 200)])
    store.publish("participation", demo_rows, user="demo", upload_id="demo-p-1", is_demo=True)
    assert store.history("participation")[0]["is_demo"] is True
    assert store.count_rows("participation") == 5

    commits = store.clear_demo(user="admin")

    assert [(c.dataset, c.rows) for c in commits] == [("participation", 2)]
    assert set(upload_ids(store).values()) == {"u-real"}
    assert sum(participants(store).values()) == 60


def test_demo_and_real_upload_ids_cannot_be_mixed(store):
    with pytest.raises(StoreError):
        store.publish("participation", FIRST, user="a", upload_id="demo-sneaky")
    with pytest.raises(StoreError):
        store.publish("participation", FIRST, user="a", upload_id="u-1", is_demo=True)
    assert store.version("participation") is None


def test_a_batch_missing_a_required_column_writes_nothing(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    incomplete = participation([("czt", "volunteer", 7)]).drop_columns(["category_code"])

    with pytest.raises(StoreError, match="category_code"):
        store.publish("participation", incomplete, user="a", upload_id="u-bad")

    assert store.version("participation") == 0
    assert store.count_rows("participation") == 3
    assert [b["upload_id"] for b in store.batches()] == ["u-first"]


def test_a_missing_required_column_on_an_empty_store_creates_no_table(store):
    incomplete = FIRST.drop_columns(["unit_code"])
    with pytest.raises(StoreError, match="unit_code"):
        store.publish("participation", incomplete, user="a")
    assert store.version("participation") is None
    assert not store.path("participation").exists()


def test_rolling_back_a_replace_does_not_revive_a_rolled_back_batch(store):
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    publish_fix(store, [("jyt", "traffic", 25)])
    store.rollback("u-first", user="a")
    assert participants(store) == {("jyt", "traffic"): 25}

    store.rollback("u-fix", user="b")

    assert participants(store) == {}


def test_live_batches_from_file_footers_equal_a_scan_of_the_rows(store):
    """Store.batches reads which batches are live from the Parquet statistics where a row group
    holds one batch; a replace writes files that mix batches, which are then read in full."""
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )
    publish_fix(store, [("jyt", "traffic", 25)])
    store.rollback("u-second", user="c")

    live = {b["upload_id"] for b in store.batches("participation") if not b["rolled_back"]}

    assert live == set(upload_ids(store).values()) == {"u-first", "u-fix"}


def test_every_tenth_version_writes_a_checkpoint_that_reads_the_same(store):
    store.publish("participation", FIRST, user="a", upload_id="u-0")
    for i in range(1, 11):
        batch = participation([("czt", f"c{i}", i)])
        store.publish("participation", batch, user="a", upload_id=f"u-{i}")
    log = store.path("participation") / "_delta_log"

    assert store.version("participation") == 10
    assert (log / f"{10:020d}.checkpoint.parquet").exists()
    assert store.count_rows("participation") == 3 + 10
    assert len(store.batches("participation")) == 11


def test_write_paths_query_under_the_pages_duckdb_memory_limit(store, monkeypatch):
    from civindex.db import Database
    from civindex.store import _scratch

    monkeypatch.setenv("CIVINDEX_DUCKDB_MEMORY", "300MB")
    limit = "select current_setting('memory_limit') as limit"
    with _scratch() as connection:
        scratch = connection.execute(limit).fetchone()[0]
    assert scratch == Database(store).sql(limit)["limit"].iloc[0]
    assert scratch.endswith("MiB") and 280 < float(scratch.split()[0]) < 300


def test_duckdb_spills_into_the_configured_folder_not_the_working_one(store, tmp_path, monkeypatch):
    from civindex.db import Database
    from civindex.store import _scratch

    monkeypatch.setenv("CIVINDEX_DUCKDB_MEMORY", "64MB")
    monkeypatch.setenv("CIVINDEX_DUCKDB_TEMP", str(tmp_path / "spill"))
    monkeypatch.chdir(tmp_path)
    folder = "select current_setting('temp_directory') as folder"
    assert Database(store).sql(folder)["folder"].iloc[0] == str(tmp_path / "spill")
    with _scratch() as connection:
        assert connection.execute(folder).fetchone()[0] == str(tmp_path / "spill")
        # three million groups of 32-character keys do not fit in 64 MB
        groups = connection.execute(
            "select count(*) from (select md5(i::varchar) as h, count(*) from range(3000000)"
            " t(i) group by h)"
        ).fetchone()[0]
        assert groups == 3_000_000
        assert (tmp_path / "spill").is_dir()
    assert not (tmp_path / ".tmp").exists()


def test_rollback_of_a_replace_also_removes_its_responses_without_an_id(store):
    def responses(ids: list[str | None], rating: int) -> pa.Table:
        return pa.table(
            {
                "response_id": pa.array(ids, pa.string()),
                "surveyed_on": [MONTH] * len(ids),
                "unit_code": ["gat"] * len(ids),
                "rating_overall": pa.array([rating] * len(ids), pa.int64()),
            }
        )

    store.publish("satisfaction", responses(["r1", "r2"], 5), user="a", upload_id="u-first")
    # a corrected file: r2 again, and two paper forms that carry no 问卷编号
    store.publish(
        "satisfaction",
        responses(["r2", None, None], 1),
        user="b",
        upload_id="u-fix",
        replace_overlap=True,
    )
    assert store.count_rows("satisfaction") == 4

    store.rollback("u-fix", user="c")

    rows = store.read("satisfaction").to_pylist()
    assert sorted((r["response_id"], r["rating_overall"], r["upload_id"]) for r in rows) == [
        ("r1", 5, "u-first"),
        ("r2", 5, "u-first"),
    ]


def delta_files(store, version: int) -> list[str]:
    from deltalake import DeltaTable

    return sorted(DeltaTable(store.path("participation"), version=version).file_uris())


def test_file_lists_written_down_are_each_versions_files_and_are_read_back(store, monkeypatch):
    """A version's data files are written down (by its commit, else its first reader), so a new
    process opens the version without replaying the Delta log; every version reads the files
    its log lists."""
    from civindex.store import Store

    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish(
        "participation", participation([("czt", "volunteer", 7)]), user="a", upload_id="u-second"
    )
    store.rollback("u-second", user="a")
    publish_fix(store, [("fgw", "community", 11)])
    latest = store.version("participation")
    assert latest == 3
    expected = {v: delta_files(store, v) for v in range(latest + 1)}
    for version in expected:
        assert sorted(store.file_uris("participation", version)) == expected[version]

    fresh = Store(store.root)  # as a new process: nothing in memory

    def no_log_replay(*args, **kwargs):
        raise AssertionError("the Delta log was replayed")

    monkeypatch.setattr(Store, "_table", no_log_replay)
    assert fresh.version("participation") == latest
    for version, files in expected.items():
        assert sorted(fresh.file_uris("participation", version)) == files
    assert fresh.snapshot() == {"participation": 3, "satisfaction": None, "index_results": None}


def test_a_file_list_is_not_used_for_another_table_at_the_same_path(store):
    """A table removed and made again starts its versions over; its version 0 has other files
    than the old version 0 written down, and a copied lake must read its own files."""
    import shutil

    from civindex.store import Store

    store.publish("participation", FIRST, user="a", upload_id="u-first")
    old_files = store.file_uris("participation", 0)
    copy_root = store.root.parent / "copied"
    shutil.copytree(store.root, copy_root)
    copied = Store(copy_root)
    copied_files = copied.file_uris("participation", 0)
    assert [f.rsplit("/", 1)[1] for f in copied_files] == [f.rsplit("/", 1)[1] for f in old_files]
    assert all(f.startswith(str(copy_root.resolve())) for f in copied_files)

    shutil.rmtree(store.path("participation"))
    again = Store(store.root)
    again.publish("participation", participation([("czt", "volunteer", 7)]), user="a")
    assert Store(store.root).file_uris("participation", 0) == delta_files(again, 0)
    assert Store(store.root).file_uris("participation", 0) != old_files
    assert sum(participants(Store(store.root)).values()) == 7


def test_every_commit_writes_down_the_files_of_its_version(store):
    """The writer writes the list, so even the first page after a new snapshot reads it."""
    from civindex.store import FILE_LISTS_DIR

    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.rollback("u-first", user="a")
    store.restore("participation", 0, user="a")
    written = sorted(p.name[:34] for p in (store.lake_dir / FILE_LISTS_DIR).iterdir())
    assert written == [f"participation-{v:020d}" for v in range(3)]


def test_a_damaged_file_list_falls_back_to_the_log(store):
    from civindex.store import FILE_LISTS_DIR, Store

    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.file_uris("participation", 0)
    (written,) = (store.lake_dir / FILE_LISTS_DIR).glob("participation-*.json")
    written.write_text('{"files": ', encoding="utf-8")
    assert Store(store.root).file_uris("participation", 0) == delta_files(store, 0)
    assert Store(store.root).count_rows("participation") == 3


def publish_as_before_keys_matched_empty(store, rows: pa.Table, upload_id: str) -> None:
    """A publish the way one went before a row of no district was found again by its key: the
    rows appended as they are, with the batch's commit record, no overlap check."""
    from deltalake import write_deltalake

    schema = store.read("participation").schema
    stored = [
        {name: row.get(name) for name in schema.names} | {"upload_id": upload_id}
        for row in rows.to_pylist()
    ]
    write_deltalake(
        store.path("participation"),
        pa.Table.from_pylist(stored, schema=schema),
        mode="append",
        commit_properties=store._commit(
            action="publish",
            user="a",
            upload_id=upload_id,
            dataset="participation",
            rows=rows.num_rows,
        ),
    )


def test_repeated_keys_are_found_and_folded_by_a_rollback_and_a_replace(store):
    no_district = participation([("fgw", "community", 10)], district=None)
    store.publish("participation", FIRST, user="a", upload_id="u-first")
    store.publish("participation", no_district, user="a", upload_id="u-a")
    assert store.repeated_keys("participation").keys == 0
    again = participation([("fgw", "community", 12)], district=None)
    publish_as_before_keys_matched_empty(store, again, "u-b")

    repeated = store.repeated_keys("participation")
    assert (repeated.keys, repeated.extra_rows, repeated.batches) == (1, 1, ["u-a", "u-b"])
    (example,) = repeated.examples
    assert (example["unit_code"], example["district_code"], example["row_count"]) == (
        "fgw",
        None,
        2,
    )

    store.rollback("u-b", user="a")  # the remedy `check` prints
    store.publish("participation", again, user="a", upload_id="u-c", replace_overlap=True)
    assert store.repeated_keys("participation").keys == 0
    rows = store.read("participation").to_pylist()
    kept = [r for r in rows if r["district_code"] is None]
    assert [(r["participants"], r["upload_id"]) for r in kept] == [(12, "u-c")]
    assert store.count_rows("participation") == 4


def test_responses_without_an_id_are_not_repeated_keys(store):
    forms = pa.table(
        {
            "response_id": pa.array([None, None, "r1"], pa.string()),
            "surveyed_on": [MONTH] * 3,
            "unit_code": ["gat"] * 3,
            "rating_overall": pa.array([5, 4, 5], pa.int64()),
        }
    )
    assert store.publish("satisfaction", forms, user="a").rows == 3
    assert store.repeated_keys("satisfaction").keys == 0


DELTA_WRITE = """
import os, sys
import civindex.store  # what every entry point imports before deltalake
import deltalake, pyarrow as pa
deltalake.write_deltalake(sys.argv[1], pa.table({"n": list(range(200_000))}))
print(os.environ["_RJEM_MALLOC_CONF"])
"""


def delta_write(tmp_path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", DELTA_WRITE, str(tmp_path / "table")],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )


def test_delta_allocator_setting_is_one_the_delta_library_reads_and_accepts(tmp_path):
    """The replace's peak memory depends on delta-rs's jemalloc returning freed pages
    (civindex/__init__.py). jemalloc ignores a variable it does not read and warns on stderr
    about a value it cannot parse, so both are checked in a fresh process."""
    import deltalake._internal

    library = Path(deltalake._internal.__file__).read_bytes()
    assert DELTA_ALLOCATOR_SETTING.encode() in library
    env = {k: v for k, v in os.environ.items() if k != DELTA_ALLOCATOR_SETTING}
    done = delta_write(tmp_path, env)
    assert done.stdout.strip() == DELTA_ALLOCATOR
    assert "jemalloc" not in done.stderr


def test_an_allocator_setting_given_by_the_operator_is_kept(tmp_path):
    done = delta_write(tmp_path, os.environ | {DELTA_ALLOCATOR_SETTING: "dirty_decay_ms:0"})
    assert done.stdout.strip() == "dirty_decay_ms:0"
