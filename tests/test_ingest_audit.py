"""The append-only audit log: what is written, what is read back, and what is tolerated."""

from __future__ import annotations

import json
import threading

from civindex import audit


def test_record_and_read_round_trip(tmp_path):
    event = audit.record(
        tmp_path,
        "upload",
        "analyst1",
        dataset="satisfaction",
        file="十月.csv",
        sha256="ab" * 32,
        rows=120,
        upload_id="u1",
        outcome="accepted",
        message="version 3",
    )
    assert event["action"] == "upload" and event["user"] == "analyst1" and event["at"]
    frame = audit.read(tmp_path)
    assert list(frame.columns[: len(audit.COLUMNS)]) == list(audit.COLUMNS)
    assert frame.loc[0, "file"] == "十月.csv"
    assert frame.loc[0, "rows"] == 120
    line = audit.path(tmp_path).read_text(encoding="utf-8")
    assert "十月.csv" in line  # stored as readable UTF-8, not \u escapes


def test_empty_log_has_the_standard_columns(tmp_path):
    frame = audit.read(tmp_path)
    assert frame.empty
    assert list(frame.columns) == list(audit.COLUMNS)


def test_extra_fields_are_kept_and_a_torn_line_is_skipped(tmp_path):
    audit.record(tmp_path, "sign_in", "bob", outcome="ok", client="10.0.0.2")
    with open(audit.path(tmp_path), "a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-01-01T00:00:00+00:00", "user": "cut')
    frame = audit.read(tmp_path)
    assert len(frame) == 1
    assert frame.loc[0, "client"] == "10.0.0.2"


def test_concurrent_writers_do_not_interleave(tmp_path):
    def write(worker):
        for i in range(50):
            audit.record(tmp_path, "upload", f"w{worker}", message="x" * 500, rows=i)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = audit.path(tmp_path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["message"] == "x" * 500 for line in lines)
