"""Concurrent writers on one data dir, as separate processes through the real upload pipeline.

Four publishers × 25 batches (10 unless CIVINDEX_CONCURRENCY_BATCHES says) and a fifth process that replaces and rolls back its own batches,
while two readers query the latest snapshot with DuckDB: every row exactly once, no reader ever
sees part of a batch, no acknowledged commit is lost. Two processes racing with the same keys,
the same file or the same rollback: exactly one wins (the checks before a commit and the commit
hold the dataset's lock; before, both could pass the overlap check and the batch counted twice).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from deltalake import DeltaTable
from publisher import GROUP_ROWS, check_clean, check_consistent, groups_in_store, parse

from civindex.recovery import recover
from civindex.store import Store

PUBLISHER = Path(__file__).with_name("publisher.py")
WRITERS, BATCHES = 4, int(os.environ.get("CIVINDEX_CONCURRENCY_BATCHES", "10"))


def start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PUBLISHER), str(root), *args],
        env=os.environ | {"PYTHONPATH": str(PUBLISHER.parent.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    output, errors = process.communicate(timeout=timeout)
    assert process.returncode == 0, errors[-3000:]
    return output


def race(root: Path, *args: str, count: int) -> list[list[tuple]]:
    """Two processes doing the same thing at the same moments; their ACK/REFUSED lines."""
    at = time.time() + 4  # both have imported and prepared by then
    racers = [
        start(root, *args, "--variant", str(v), "--at", str(at), "--count", str(count))
        for v in (1, 2)
    ]
    return [parse(finish(r)) for r in racers]


def test_publishers_readers_replace_and_rollback_at_once(store, tmp_path):
    stop = tmp_path / "stop"
    readers = [start(store.root, "read", "--stop", str(stop)) for _ in range(2)]
    writers = [
        start(store.root, "publish", "--first", str(w * 1000), "--count", str(BATCHES))
        for w in range(WRITERS)
    ]
    mixed = start(store.root, "publish", "--first", "5000", "--count", str(BATCHES), "--mixed")
    started = time.perf_counter()
    outputs = [parse(finish(w)) for w in writers]
    mixed_lines = parse(finish(mixed))
    elapsed = time.perf_counter() - started
    stop.touch()
    reads = [finish(r) for r in readers]

    assert not [line for out in reads for line in out.splitlines() if line.startswith("PARTIAL")]
    reads_done = sum(int(out.split()[-1]) for out in reads)
    assert reads_done >= 20  # the readers ran all along

    groups = groups_in_store(store)
    for w, lines in enumerate(outputs):
        assert [(word, g) for word, _op, g, _u in lines] == [
            ("ACK", w * 1000 + b) for b in range(BATCHES)
        ]
        for _word, _op, group, upload_id in lines:
            assert groups[group] == Counter({upload_id: GROUP_ROWS})
    expected = {}
    for word, op, group, upload_id in mixed_lines:
        assert word == "ACK", (op, group)
        expected[group] = None if op == "rollback" else upload_id
    for group, upload_id in expected.items():
        assert groups.get(group, Counter()) == (
            Counter({upload_id: GROUP_ROWS}) if upload_id else Counter()
        )
    assert set(groups) == {g for g, u in expected.items() if u} | {
        g for lines in outputs for _w, _o, g, _u in lines
    }
    # no lost commit: one version per acknowledged publish, replace and rollback
    acked = sum(len(lines) for lines in outputs) + len(mixed_lines)
    assert DeltaTable(store.path("participation")).version() + 1 == acked
    check_consistent(store, all_versions=True)
    recover(store, min_age_s=0)
    check_clean(store)
    print(
        f"\n{acked} commits by {WRITERS + 1} processes in {elapsed:.1f} s, "
        f"{reads_done} consistent reads by 2 readers"
    )


def test_same_keys_at_the_same_moment_publish_once(store):
    first, second = race(store.root, "race", "--first", "0", count=6)
    for a, b in zip(first, second, strict=True):
        assert sorted([a[0], b[0]]) == ["ACK", "REFUSED"], (a, b)
    for group, counts in groups_in_store(store).items():
        assert sum(counts.values()) == GROUP_ROWS, group


def test_same_file_at_the_same_moment_publishes_once(store):
    """Survey rows without 问卷编号 have no key: only the file's SHA-256 stops a double count."""
    first, second = race(store.root, "race", "--satisfaction", count=4)
    for a, b in zip(first, second, strict=True):
        assert sorted([a[0], b[0]]) == ["ACK", "REFUSED"], (a, b)
    assert store.count_rows("satisfaction") == 4 * 40


def test_the_same_rollback_twice_at_once_rolls_back_once(store):
    from test_reliability_crash import publish_group

    upload_id = publish_group(Store(store.root), 3).upload_id
    at = str(time.time() + 3)
    racers = [start(store.root, "rollback", upload_id, "--at", at) for _ in range(2)]
    words = sorted(parse(finish(r))[0][0] for r in racers)
    assert words == ["ACK", "REFUSED"]
    actions = [h["action"] for h in store.history("participation")]
    assert actions == ["rollback", "publish"]
