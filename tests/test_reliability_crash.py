"""Crash safety of a publish, in the manner of SQLite's crash and I/O-error loops.

A process is killed (SIGKILL, set off by CIVINDEX_FAULT=<point>:kill) or gets an injected I/O
error at every fault point of a publish, a replace and a rollback (civindex.faults); then
`kill -9` lands at random moments of real publishes. After each: every table reads, no batch is
partial, every acknowledged batch is there exactly once, and the next start
(civindex.recovery) leaves no stray file, a raw file for every batch and an audit line for
every commit. CIVINDEX_CRASH_KILLS sets the number of random kills (100 for the full run).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from publisher import GROUP_ROWS, check_clean, check_consistent, group_file, groups_in_store, parse

from civindex import audit, faults, ingest
from civindex.recovery import recover
from civindex.store import Store

PUBLISHER = Path(__file__).with_name("publisher.py")
KILLS = int(os.environ.get("CIVINDEX_CRASH_KILLS", "10"))

# point -> is the batch in the log once the process died there
APPEND_POINTS = {
    "archive.write": False,
    "archive.done": False,
    "store.locked": False,
    "store.data_written": False,
    "store.committed": True,
    "audit.write": True,
    "publish.done": True,
}
REPLACE_POINTS = {p: c for p, c in APPEND_POINTS.items() if p != "store.data_written"} | {
    "store.before_commit": False
}
ROLLBACK_POINTS = {"store.before_commit": False, "store.committed": True, "audit.write": True}


def child(root: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(PUBLISHER.parent.parent)}
    env.pop(faults.ENV, None)
    if fault:
        env[faults.ENV] = fault
    return subprocess.run(
        [sys.executable, str(PUBLISHER), str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def publish_group(store: Store, group: int, variant: int = 0, replace: bool = False):
    content, name = group_file(group, variant)
    prepared = ingest.prepare(content, name, "participation", store=store)
    assert prepared.ok, prepared.report.text()
    return ingest.publish(prepared, store, user="tester", replace_overlap=replace)


def live(store: Store, group: int) -> Counter:
    return groups_in_store(store).get(group, Counter())


def after_crash(store: Store) -> None:
    """What every test checks before and after the next start cleaned up."""
    check_consistent(store)
    assert all(
        sum(c.values()) == GROUP_ROWS and len(c) == 1 for c in groups_in_store(store).values()
    )
    recover(store, min_age_s=0)
    check_consistent(store, all_versions=True)
    check_clean(store)


@pytest.fixture
def seeded(store) -> tuple[Store, str]:
    """A store holding group 1 (published in this process)."""
    return store, publish_group(store, 1).upload_id


def strays(store: Store) -> list[str]:
    path = store.path("participation")
    lake = [p.name for p in path.iterdir() if not p.name.startswith("_")]
    uploads = [p.name for p in (store.root / "uploads").glob("??/*/*")]
    return sorted(lake + uploads)


@pytest.mark.parametrize("point", list(APPEND_POINTS))
def test_kill_at_each_point_of_an_append(seeded, point):
    store, first = seeded
    before = strays(store)
    result = child(store.root, "publish", "--first", "2", "--count", "1", fault=f"{point}:kill")
    assert result.returncode == -9, result.stderr[-2000:]
    assert "ACK" not in result.stdout  # killed before the caller heard back
    committed = APPEND_POINTS[point]
    assert sum(live(store, 2).values()) == (GROUP_ROWS if committed else 0)
    assert live(store, 1) == Counter({first: GROUP_ROWS})
    if point == "store.data_written":  # the Parquet file is there, no version refers to it
        assert len(strays(store)) == len(before) + 2
    after_crash(store)
    if point in ("store.committed", "audit.write"):  # the line came from the commit record
        line = audit.read(store.root).iloc[-1]
        assert (line["action"], line["outcome"], line["recovered"]) == ("upload", "accepted", True)
    # the analyst tries again: published now, or refused as already published; never twice
    content, name = group_file(2)
    prepared = ingest.prepare(content, name, "participation", store=store)
    assert prepared.ok == (not committed)
    if not committed:
        publish_group(store, 2)
    assert sum(live(store, 2).values()) == GROUP_ROWS
    check_clean(store)


@pytest.mark.parametrize("point", list(REPLACE_POINTS))
def test_kill_at_each_point_of_a_replace(seeded, point):
    store, first = seeded
    result = child(
        store.root, "publish", "--first", "1", "--count", "1", "--replace", fault=f"{point}:kill"
    )
    assert result.returncode == -9, result.stderr[-2000:]
    (upload_id,) = live(store, 1)
    assert (upload_id != first) == REPLACE_POINTS[point]
    after_crash(store)


@pytest.mark.parametrize("point", list(ROLLBACK_POINTS))
def test_kill_at_each_point_of_a_rollback(seeded, point):
    store, first = seeded
    result = child(store.root, "rollback", first, fault=f"{point}:kill")
    assert result.returncode == -9, result.stderr[-2000:]
    rolled_back = ROLLBACK_POINTS[point]
    assert sum(live(store, 1).values()) == (0 if rolled_back else GROUP_ROWS)
    after_crash(store)
    rollbacks = audit.read(store.root).query("action == 'rollback'")
    assert rollbacks["upload_id"].tolist() == ([first] if rolled_back else [])


@pytest.mark.parametrize("point", list(APPEND_POINTS))
def test_io_error_at_each_point_of_an_append(seeded, point, monkeypatch):
    store, _first = seeded
    monkeypatch.setenv(faults.ENV, f"{point}:ioerror")
    committed = APPEND_POINTS[point]
    if point == "publish.done":  # everything was done; the caller still hears of the error
        with pytest.raises(faults.InjectedFault):
            publish_group(store, 2)
    elif committed:  # the version exists, so the publish stands; a failure after it is logged
        assert publish_group(store, 2).upload_id in live(store, 2)
    else:
        with pytest.raises(ingest.IngestError, match="injected I/O error"):
            publish_group(store, 2)
        assert audit.read(store.root).iloc[-1]["outcome"] == "rejected"
    monkeypatch.delenv(faults.ENV)
    assert sum(live(store, 2).values()) == (GROUP_ROWS if committed else 0)
    check_consistent(store)
    if point != "audit.write":  # nothing to clean up: the error path did it
        check_clean(store)
    after_crash(store)


@pytest.mark.parametrize("point", ["store.before_commit", "store.committed", "audit.write"])
def test_io_error_during_a_replace_and_a_rollback(seeded, point, monkeypatch):
    store, first = seeded
    monkeypatch.setenv(faults.ENV, f"{point}:ioerror")
    if point == "store.before_commit":
        with pytest.raises(ingest.IngestError):
            publish_group(store, 1, variant=1, replace=True)
        with pytest.raises(OSError):
            ingest.rollback(store, first, user="tester")
        assert live(store, 1) == Counter({first: GROUP_ROWS})
    else:
        replaced = publish_group(store, 1, variant=1, replace=True)
        assert live(store, 1) == Counter({replaced.upload_id: GROUP_ROWS})
    monkeypatch.delenv(faults.ENV)
    after_crash(store)


def test_recovery_leaves_young_files_alone(seeded):
    """A file younger than the safety margin may belong to a publish still under way."""
    store, _first = seeded
    child(store.root, "publish", "--first", "2", "--count", "1", fault="store.data_written:kill")
    before = strays(store)
    assert not recover(store)  # default margin: one hour
    assert strays(store) == before
    assert recover(store, min_age_s=0).lake_files


def test_a_torn_audit_line_does_not_swallow_the_next_one(store):
    audit.record(store.root, "upload", "a", outcome="accepted")
    with open(audit.path(store.root), "ab") as handle:
        handle.write(b'{"at": "2026-11-27T10:00:00+00:00", "user": "b", "act')
    audit.record(store.root, "upload", "c", outcome="accepted")
    assert audit.read(store.root)["user"].tolist() == ["a", "c"]


def test_kill_9_at_random_moments_of_real_publishes(store):
    """`kill -9` a child publishing, replacing and rolling back real batches at a random
    moment, KILLS times; each time check, recover, check clean, and carry on from the group
    after the last acknowledged one (so an unacknowledged publish is retried)."""
    rng = random.Random(20261127)
    expected: dict[int, str | None] = {}  # group -> upload_id, or None once rolled back
    next_group, found_after = 0, Counter()
    for _round in range(KILLS):
        process = subprocess.Popen(
            [
                sys.executable,
                str(PUBLISHER),
                str(store.root),
                "publish",
                "--mixed",
                *["--first", str(next_group), "--count", "60"],
            ],
            env=os.environ | {"PYTHONPATH": str(PUBLISHER.parent.parent)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout.readline().startswith("READY")
        time.sleep(rng.uniform(0.0, 1.5))
        process.kill()
        output, errors = process.communicate(timeout=30)
        assert process.returncode == -9, errors[-2000:]
        lines = parse(output)
        for word, op, group, upload_id in lines:
            if word == "ACK":
                expected[group] = None if op == "rollback" else upload_id
        last = lines[-1][2] if lines else next_group
        in_flight = {last - 1, last, last + 1}  # the op after the last line printed
        groups = groups_in_store(store)
        for group, counts in groups.items():
            assert sum(counts.values()) == GROUP_ROWS and len(counts) == 1, (group, counts)
        for group, upload_id in expected.items():
            if group not in in_flight:
                assert set(groups.get(group, {})) == ({upload_id} if upload_id else set()), group
        for group in in_flight:  # done or not, whichever it is must now stay
            expected[group] = next(iter(groups.get(group, {})), None)
        check_consistent(store)
        recovered = recover(store, min_age_s=0)
        found_after["orphan data file"] += len(recovered.lake_files)
        found_after["raw file or temporary copy"] += len(recovered.archive_files)
        found_after["commit without audit line"] += len(recovered.audit_lines)
        check_clean(store)
        published = [g for w, op, g, _u in lines if op == "publish"]
        next_group = max(published, default=next_group - 1) + 1
    check_consistent(store, all_versions=True)
    print(f"\n{KILLS} kills, {len(expected)} groups acknowledged; cleaned: {dict(found_after)}")
