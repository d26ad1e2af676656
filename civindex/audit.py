"""The audit log: one JSON line per event under `<data dir>/audit/audit.jsonl`, append-only.

`record(root, action, user, **fields)` appends an event (uploads accepted and rejected,
rollbacks, restores, sign-ins); `read(root)` returns every event as a DataFrame, oldest first.
Each line is written with a single `write` on a file opened for appending, under an exclusive
lock, so concurrent writers never interleave and a crash loses at most the line being written.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from civindex import faults

COLUMNS = (
    "at",
    "user",
    "action",
    "dataset",
    "file",
    "sha256",
    "rows",
    "upload_id",
    "outcome",
    "message",
)

_lock = threading.Lock()


def path(root: Path) -> Path:
    return Path(root) / "audit" / "audit.jsonl"


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def record(root: Path, action: str, user: str, **fields) -> dict:
    """Append one event; `at` (UTC, ISO 8601) is added. Returns the event as written."""
    event = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "user": str(user)}
    event["action"] = action
    event |= {key: _plain(value) for key, value in fields.items()}
    line = (json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8")
    target = path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(target, "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except (ImportError, OSError):  # not POSIX, or a file system without locks
            pass
        faults.point("audit.write")
        if handle.seek(0, os.SEEK_END):
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a line cut short by a crash: keep this one whole
                line = b"\n" + line
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return event


def _parse(lines: bytes) -> list[dict]:
    events = []
    for line in lines.decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


# Per log file: (its inode and device, the bytes of whole lines read, their last bytes, the
# events in them, the frame made of them). The log only grows: a later read parses only the
# lines added since. A file replaced or cut shorter, or one whose last bytes read are no longer
# the same, is read again from the start.
_read: dict[str, tuple[tuple, int, bytes, list[dict], pd.DataFrame | None]] = {}
_read_lock = threading.Lock()
CHECKED_BYTES = 64


def _frame(events: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(events)
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype="object")
    extra = [c for c in frame.columns if c not in COLUMNS]
    frame = frame[[*COLUMNS, *extra]]
    frame["at"] = pd.to_datetime(frame["at"], utc=True, errors="coerce")
    frame["rows"] = pd.to_numeric(frame["rows"], errors="coerce").astype("Int64")
    return frame.reset_index(drop=True)


def read(root: Path) -> pd.DataFrame:
    """Every event, oldest first; the standard columns always present, extra fields after them.
    A line that cannot be parsed (a write cut short) is skipped. Pages read the log on every
    run, and a year of sign-ins and exports is ~50k lines (0.25 s to parse): only the lines
    added since the last read are parsed, and an unchanged log gives the same frame back."""
    target = path(root)
    with _read_lock:
        known = _read.get(str(target))
    offset, tail, events, frame = 0, b"", [], None
    try:
        with open(target, "rb") as handle:
            stat = os.fstat(handle.fileno())
            identity = (stat.st_ino, stat.st_dev)
            if known is not None and known[0] == identity and known[1] <= stat.st_size:
                handle.seek(max(known[1] - CHECKED_BYTES, 0))
                if handle.read(min(known[1], CHECKED_BYTES)) == known[2]:
                    offset, tail, events, frame = known[1:]
            handle.seek(offset)
            added = handle.read()
    except FileNotFoundError:
        return _frame([])
    whole = added.rfind(b"\n") + 1  # a last line without its newline yet is read, not kept
    if whole:
        events = events + _parse(added[:whole])
        offset += whole
        tail = (tail + added[:whole])[-CHECKED_BYTES:]
        frame = None
    if frame is None:
        frame = _frame(events)
    with _read_lock:
        _read[str(target)] = (identity, offset, tail, events, frame)
    if whole < len(added):
        frame = _frame(events + _parse(added[whole:]))
    return frame.copy(deep=False)  # copy-on-write: a caller's change never reaches the cache
