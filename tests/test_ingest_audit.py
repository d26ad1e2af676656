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


def from_scratch(root):
    """The log as a reader that has never seen it would read it."""
    audit._read.clear()
    return audit.read(root)


def test_a_log_read_again_gives_what_a_first_read_would_however_it_changed(tmp_path):
    """The reader keeps what it parsed and parses only what was added: the frame it gives must
    equal a first read's after appends, a torn line, a last line still without its newline, a
    log cut shorter, an edit of the last line read, and a log replaced by another file."""
    import pandas as pd

    def same() -> None:
        pd.testing.assert_frame_equal(audit.read(tmp_path), from_scratch(tmp_path))
        assert audit.read(tmp_path)["user"].tolist() == from_scratch(tmp_path)["user"].tolist()

    log = audit.path(tmp_path)
    for i in range(3):
        audit.record(tmp_path, "sign_in", f"u{i}", outcome="done")
    audit.read(tmp_path)
    audit.record(tmp_path, "upload", "u3", rows=5, client="10.0.0.9")  # a new field too
    same()
    with open(log, "ab") as handle:  # a crash in the middle of a line
        handle.write(b'{"at": "2026-11-27T10:00:00+00:00", "user": "torn", "act')
    same()
    audit.record(tmp_path, "sign_in", "u4", outcome="done")
    same()
    assert "torn" not in audit.read(tmp_path)["user"].tolist()
    with open(log, "ab") as handle:  # whole, but its newline not written yet
        handle.write(json.dumps({"at": "2026-11-27T11:00:00+00:00", "user": "last"}).encode())
    assert audit.read(tmp_path)["user"].iloc[-1] == "last"
    same()
    with open(log, "ab") as handle:
        handle.write(b"\n")
    audit.record(tmp_path, "sign_out", "u5", outcome="done")
    assert audit.read(tmp_path)["user"].tolist()[-2:] == ["last", "u5"]
    same()

    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2]))  # cut shorter, same file
    assert audit.read(tmp_path)["user"].tolist() == ["u0", "u1"]
    same()
    log.write_bytes(log.read_bytes().replace(b'"u1"', b'"u9"'))  # an edit, same length
    assert audit.read(tmp_path)["user"].tolist() == ["u0", "u9"]
    replaced = log.with_name("new.jsonl")
    replaced.write_bytes(b"".join([lines[0], *lines[3:]]))  # longer than what was read
    replaced.replace(log)  # another file under the same name
    assert audit.read(tmp_path)["user"].tolist()[:2] == ["u0", "u3"]
    same()
    log.unlink()
    assert audit.read(tmp_path).empty


def test_changing_a_frame_read_never_changes_the_next_read(tmp_path):
    audit.record(tmp_path, "upload", "analyst1", rows=3, outcome="accepted")
    first = audit.read(tmp_path)
    first.loc[0, "user"] = "someone else"
    first["rows"] = first["rows"] * 100
    again = audit.read(tmp_path)
    assert again.loc[0, "user"] == "analyst1" and again.loc[0, "rows"] == 3
