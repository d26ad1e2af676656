"""Publish a prepared file as one Delta version, archive the raw file, and audit the outcome.

The raw file is kept content-addressed under `<data dir>/uploads/<sha[:2]>/<sha>/<name>` so
any batch can be traced back to exactly what the analyst sent. Refusals (validation errors,
an identical file already live, an overlap without replace) write no data, only an audit line.
Rollback and restore go through here too, so the audit log has every change.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path, PurePath

from civindex import audit, faults
from civindex.admin import audited
from civindex.auth import Actor, require
from civindex.i18n import t
from civindex.ingest.pipeline import Prepared, earlier_batch, identical_message
from civindex.store import (
    Commit,
    IdenticalFileError,
    OverlapError,
    Store,
    StoreError,
    new_upload_id,
)

UPLOADS = "uploads"
UNSAFE = re.compile(r"[^\w.\-()（）\[\] ]+")
NAME_BYTES = 200  # file systems allow 255 bytes; leaves room for the temporary name
log = logging.getLogger(__name__)


class IngestError(StoreError):
    """A publish that was refused; the message is meant for the analyst."""


def _name(user: str | Actor) -> str:
    return user.name if isinstance(user, Actor) else str(user)


def safe_name(name: str) -> str:
    """A file name without folders or characters a file system or a shell would trip on."""
    base = PurePath(str(name).replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = UNSAFE.sub("_", base).strip(" .") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 8:
        return f"{_clip(stem, NAME_BYTES - 9)}.{suffix}"
    return _clip(base, NAME_BYTES)


def _clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes (a Chinese character takes 3), never half a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def archive_dir(root: Path, sha256: str) -> Path:
    return Path(root) / UPLOADS / sha256[:2] / sha256


def archive(root: Path, sha256: str, source_name: str, content: bytes) -> tuple[Path, bool]:
    """Store the raw file; returns its path and whether this call created it."""
    folder = archive_dir(root, sha256)
    target = folder / safe_name(source_name)
    if target.exists():
        return target, False
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        temporary.write_bytes(content)
        faults.point("archive.write")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target, True


def _remove_archive(root: Path, path: Path) -> None:
    """Undo `archive` after a failed commit, leaving no empty folders behind."""
    path.unlink(missing_ok=True)
    for folder in (path.parent, path.parent.parent, Path(root) / UPLOADS):
        try:
            folder.rmdir()
        except OSError:
            break


def archived_file(root: Path, sha256: str, source_name: str | None = None) -> Path | None:
    """The archived raw file of a batch, preferring the name it was uploaded under."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        return None
    folder = archive_dir(root, sha256)
    if source_name and (folder / safe_name(source_name)).is_file():
        return folder / safe_name(source_name)
    files = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith("."))
    return files[0] if files else None


def raw_file_bytes(root: Path, batch: dict, actor: Actor) -> bytes:
    """The batch's archived raw file, for an analyst to download; the download is audited (the
    file holds every answer as the unit sent it)."""
    path = archived_file(root, batch["sha256"], batch.get("source_name"))
    fields = {"dataset": batch["dataset"], "upload_id": batch["upload_id"]}
    with audited(root, actor, "export.raw", **fields, file=path.name if path else None):
        require(actor, "analyst", "download a raw file")
        if path is None:
            raise IngestError(t("snapshots.raw_missing"))
        return path.read_bytes()


def _audit_upload(root: Path, prepared: Prepared, user, outcome: str, message: str, **extra):
    """An audit line; failing to write it never changes what happened to the data (a commit
    without its line gets one from the Delta log at the next start, see civindex.recovery)."""
    try:
        audit.record(
            root,
            "upload",
            _name(user),
            dataset=prepared.dataset,
            file=prepared.source_name,
            sha256=prepared.sha256,
            rows=prepared.row_count,
            outcome=outcome,
            message=message,
            **extra,
        )
    except OSError as error:
        log.error("audit line not written (%s): %s %s", error, outcome, prepared.source_name)


def _published(store: Store, name: str, upload_id: str) -> Commit | None:
    """The commit of `upload_id` if it reached the log (a failure after the commit)."""
    for entry in store.history(name):
        if entry["upload_id"] == upload_id and entry["action"] in ("publish", "replace"):
            return Commit(name, entry["version"], upload_id, entry["rows"], entry["action"])
    return None


def record_rejection(root: Path, prepared: Prepared, user: str | Actor) -> None:
    """Audit a file that failed validation (nothing is written to the data)."""
    first = next((p.problem for p in prepared.report.problems if p.severity == "error"), "")
    message = t("ingest.audit.rejected", errors=prepared.report.errors, first=first)
    _audit_upload(root, prepared, user, "rejected", message)


def publish(
    prepared: Prepared,
    store: Store,
    *,
    user: str | Actor,
    replace_overlap: bool = False,
) -> Commit:
    """Write the prepared rows as one new version; raises IngestError (audited) when refused."""
    root = store.root
    upload_id = new_upload_id()
    try:
        require(user, "analyst", f"publish to {prepared.dataset}")
        earlier = earlier_batch(store, prepared.dataset, prepared.sha256)
        if earlier:
            raise IngestError(identical_message(earlier))
        if not prepared.ok:
            raise IngestError(t("ingest.refused.invalid", errors=prepared.report.errors))
        path, created = archive(root, prepared.sha256, prepared.source_name, prepared.content)
        try:
            faults.point("archive.done")
            commit = store.publish(
                prepared.dataset,
                prepared.table,
                user=user,
                source_name=prepared.source_name,
                sha256=prepared.sha256,
                upload_id=upload_id,
                replace_overlap=replace_overlap,
            )
        except BaseException as error:
            try:
                commit = _published(store, prepared.dataset, upload_id)
            except Exception:  # cannot tell: keep the file; recovery removes it if unused
                commit, created = None, False
            if commit is None or not isinstance(error, Exception):
                if created and commit is None:
                    _remove_archive(root, path)
                raise
            log.error("%s published as version %s, then: %s", upload_id, commit.version, error)
    except IdenticalFileError as error:  # checked again under the lock: a concurrent upload
        message = identical_message(error.earlier)
        _audit_upload(root, prepared, user, "rejected", message)
        raise IngestError(message) from None
    except OverlapError as error:
        message = t(
            "ingest.refused.overlap", rows=f"{error.rows:,}", batches="、".join(error.batches)
        )
        _audit_upload(root, prepared, user, "rejected", message)
        raise IngestError(message) from None
    except (StoreError, PermissionError) as error:
        _audit_upload(root, prepared, user, "rejected", str(error))
        if isinstance(error, IngestError):
            raise
        raise IngestError(str(error)) from error
    except OSError as error:
        message = t("ingest.refused.io", detail=str(error))
        _audit_upload(root, prepared, user, "rejected", message)
        raise IngestError(message) from error
    _audit_upload(
        root,
        prepared,
        user,
        "accepted",
        t("ingest.audit.accepted", version=commit.version, action=commit.action),
        upload_id=commit.upload_id,
        version=commit.version,
    )
    faults.point("publish.done")
    return commit


def rollback(store: Store, upload_id: str, *, user: str | Actor) -> list[Commit]:
    try:
        commits = store.rollback(upload_id, user=user)
    except (StoreError, PermissionError) as error:
        audit.record(
            store.root,
            "rollback",
            _name(user),
            upload_id=upload_id,
            outcome="failed",
            message=str(error),
        )
        raise
    for commit in commits:
        audit.record(
            store.root,
            "rollback",
            _name(user),
            dataset=commit.dataset,
            upload_id=upload_id,
            rows=commit.rows,
            version=commit.version,
            outcome="done",
        )
    return commits


def restore(store: Store, name: str, version: int, *, user: str | Actor) -> Commit:
    try:
        commit = store.restore(name, version, user=user)
    except (StoreError, PermissionError) as error:
        audit.record(
            store.root,
            "restore",
            _name(user),
            dataset=name,
            outcome="failed",
            message=str(error),
            target=version,
        )
        raise
    audit.record(
        store.root,
        "restore",
        _name(user),
        dataset=name,
        rows=commit.rows,
        version=commit.version,
        target=version,
        outcome="done",
    )
    return commit
