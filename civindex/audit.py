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


def read(root: Path) -> pd.DataFrame:
    """Every event, oldest first; the standard columns always present, extra fields after them.
    A line that cannot be parsed (a write cut short) is skipped."""
    target = path(root)
    events = []
    if target.exists():
        with open(target, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict):
                    events.append(event)
    frame = pd.DataFrame(events)
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype="object")
    extra = [c for c in frame.columns if c not in COLUMNS]
    frame = frame[[*COLUMNS, *extra]]
    frame["at"] = pd.to_datetime(frame["at"], utc=True, errors="coerce")
    frame["rows"] = pd.to_numeric(frame["rows"], errors="coerce").astype("Int64")
    return frame.reset_index(drop=True)
