"""What a process killed in the middle of a publish leaves behind, put right at the next start.

`recover(store)` runs once per data dir and process (every command-line run, the dashboard's
first script run):
- lake: `Store.clean_orphans`, data files that no version refers to and staging files;
- archive: temporary copies, and raw files that no commit and no accepted audit line names
  (archived, then killed before the commit);
- audit: a commit without its audit line (killed between the commit and the line) gets one,
  rebuilt from the commit record, which names the user, file, SHA-256, rows and upload_id.
Only what is older than `min_age_s` is touched, so a publish still under way is left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from civindex import audit
from civindex.ingest.publish import UPLOADS, _remove_archive
from civindex.store import ORPHAN_MIN_AGE_S, Store

log = logging.getLogger(__name__)
_done: set[Path] = set()
_done_lock = threading.Lock()


@dataclass
class Recovered:
    lake_files: list[Path] = field(default_factory=list)
    archive_files: list[Path] = field(default_factory=list)
    audit_lines: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lake_files or self.archive_files or self.audit_lines)


def recover(store: Store, min_age_s: float = ORPHAN_MIN_AGE_S) -> Recovered:
    """Clean and reconcile one data dir; safe to run while other processes publish."""
    result = Recovered(lake_files=store.clean_orphans(min_age_s))
    history = [e for e in store.history() if not e["is_demo"]]
    events = audit.read(store.root)
    cutoff_ms = (time.time() - min_age_s) * 1000
    result.audit_lines = _reconcile_audit(store.root, history, events, cutoff_ms)
    known = {e["sha256"] for e in history if e["sha256"]}
    accepted = events[(events["action"] == "upload") & (events["outcome"] == "accepted")]
    known |= set(accepted["sha256"].dropna())
    result.archive_files = _clean_archive(store.root, known, time.time() - min_age_s)
    if result:
        log.warning(
            "recovered %s: %d lake files, %d archive files removed, %d audit lines added",
            store.root,
            len(result.lake_files),
            len(result.archive_files),
            len(result.audit_lines),
        )
    return result


def recover_once(store: Store) -> None:
    """`recover` the first time a process opens this data dir; never fails the caller."""
    root = Path(store.root).resolve()
    with _done_lock:
        if root in _done:
            return
        _done.add(root)
    try:
        recover(store)
    except Exception:  # a damaged data dir is reported where it is read, not here
        log.exception("recovery of %s failed", root)


def _reconcile_audit(root: Path, history: list[dict], events, cutoff_ms: float) -> list[dict]:
    done = events[events["outcome"].isin(["accepted", "done"])]
    uploads = set(done.loc[done["action"] == "upload", "upload_id"].dropna())
    version = done.get("version")
    changes = set()
    if version is not None:
        for action, dataset_name, number in zip(
            done["action"], done["dataset"], version, strict=True
        ):
            if action in ("rollback", "restore") and pd.notna(number):
                changes.add((action, dataset_name, int(number)))
    added = []
    for entry in sorted(history, key=lambda e: e["timestamp_ms"]):
        if entry["timestamp_ms"] > cutoff_ms:
            continue
        common = dict(
            dataset=entry["dataset"],
            version=entry["version"],
            rows=entry["rows"],
            committed_at=entry["committed_at"],
            recovered=True,
        )
        if entry["action"] in ("publish", "replace") and entry["upload_id"] not in uploads:
            added.append(
                audit.record(
                    root,
                    "upload",
                    entry["user"],
                    file=entry["source_name"],
                    sha256=entry["sha256"],
                    upload_id=entry["upload_id"],
                    outcome="accepted",
                    message="recorded at recovery from the commit log",
                    **common,
                )
            )
        elif entry["action"] in ("rollback", "restore"):
            if (entry["action"], entry["dataset"], entry["version"]) in changes:
                continue
            target = {"upload_id": entry["target"]} if entry["action"] == "rollback" else {}
            added.append(
                audit.record(
                    root,
                    entry["action"],
                    entry["user"],
                    outcome="done",
                    message="recorded at recovery from the commit log",
                    **target,
                    **common,
                )
            )
    return added


def _clean_archive(root: Path, known: set[str], cutoff: float) -> list[Path]:
    removed = []
    uploads = Path(root) / UPLOADS
    if not uploads.is_dir():
        return removed
    for folder in uploads.glob("??/*"):
        for file in list(folder.iterdir()):
            try:
                old = file.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            unfinished = file.name.startswith(".") and file.name.endswith(".tmp")
            if old and file.is_file() and (unfinished or folder.name not in known):
                _remove_archive(root, file)
                removed.append(file)
    return removed
