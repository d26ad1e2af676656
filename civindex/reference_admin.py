"""Reference lists managed by an admin: show, download, and replace with a checked CSV.

A replacement keeps the current header; its codes are unique and non-empty, its names filled,
booleans true/false, numbers numeric, paired districts existing districts, and every code that
published data (or another list) still refers to is still there. The list it replaces is kept
as `<data dir>/reference/history/<timestamp>_<name>.csv` and the replacement is audited.

`config.reference_dir` reads the data dir's lists only once `units.csv` is there, so the first
replacement copies all four current lists into the data dir (units.csv last) before writing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from civindex import config, export, reference
from civindex.admin import audited
from civindex.auth import Actor, require
from civindex.db import REFERENCE_NUMERIC
from civindex.i18n import t
from civindex.ingest.read import ReadError, read
from civindex.ingest.views import dataset_label
from civindex.schema import BOOLEAN_REFERENCE_COLUMNS, DATASETS, REFERENCE_LISTS
from civindex.store import Store

KINDS = tuple(REFERENCE_LISTS)
MAX_BYTES = 2 * 2**20
MAX_LISTED = 20
HISTORY = "history"
BOOLEANS = {"true", "false"}
PAIRED = "paired_district_code"
_lock = threading.Lock()


class ReferenceRefused(ValueError):
    """A replacement that failed its checks; `problems` says each reason."""

    def __init__(self, kind: str, problems: list[str]):
        self.kind = kind
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class Checked:
    kind: str
    frame: pd.DataFrame | None
    problems: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.frame is not None and not self.problems

    def summary(self) -> list[str]:
        """The counts of added, removed and changed codes, then each non-empty list of them."""
        counts = dict(added=len(self.added), removed=len(self.removed), changed=len(self.changed))
        lines = [t("admin.reference.changes", **counts)]
        for name, codes in (("added", self.added), ("removed", self.removed)):
            if codes:
                lines.append(t(f"admin.reference.codes_{name}", codes=_listed(codes)))
        if self.changed:
            lines.append(t("admin.reference.codes_changed", codes=_listed(self.changed)))
        return lines


@dataclass(frozen=True)
class Replaced:
    kind: str
    rows: int
    kept: Path
    sha256: str

    def message(self) -> str:
        kind = t(f"admin.reference.kind.{self.kind}")
        return t("admin.reference.replaced", kind=kind, rows=self.rows, kept=self.kept.name)


def _check_kind(kind: str) -> None:
    if kind not in REFERENCE_LISTS:
        raise KeyError(f"unknown reference list {kind!r}")


def current_path(kind: str, root: Path) -> Path:
    _check_kind(kind)
    return config.reference_dir(root) / f"{kind}.csv"


def current(kind: str, root: Path) -> pd.DataFrame:
    """The list in use, every cell as the text in the file."""
    return pd.read_csv(current_path(kind, root), dtype=str, keep_default_na=False)


def download(kind: str, root: Path, actor: Actor) -> bytes:
    """The list as CSV (formula-like cells neutralised); the download is audited."""
    with audited(root, actor, "export.reference", dataset=kind, file=f"{kind}.csv") as fields:
        require(actor, "admin", "download a reference list")
        frame = current(kind, root)
        fields["rows"] = len(frame)
    return export.to_csv_bytes(frame)


def history(kind: str, root: Path) -> list[Path]:
    """Kept earlier versions of the list, newest first."""
    _check_kind(kind)
    folder = Path(root) / "reference" / HISTORY
    return sorted(folder.glob(f"*_{kind}.csv"), reverse=True)


def _listed(codes) -> str:
    codes = sorted(codes)
    more = len(codes) - MAX_LISTED
    return "、".join(codes[:MAX_LISTED]) + (t("admin.reference.more", n=more) if more > 0 else "")


def _read(content: bytes, file_name: str, header: list[str]) -> pd.DataFrame:
    wanted = set(header)
    raw = read(content, file_name, header_score=lambda cells: len(wanted & set(cells)))
    frame = pd.DataFrame({i: [v.strip() for v in c.to_pylist()] for i, c in enumerate(raw.columns)})
    frame.columns = raw.headers  # a repeated header stays repeated, to be refused
    frame = frame[(frame != "").any(axis=1)] if len(frame.columns) else frame
    return frame.reset_index(drop=True)


def referenced_codes(kind: str, root: Path) -> dict[str, set[str]]:
    """Codes of `kind` that published data and the other lists use, by where they are used."""
    store = Store(root)
    used: dict[str, set[str]] = {}
    for ds in DATASETS.values():
        columns = [c for c in ds.columns if c.reference == kind]
        files = store.file_uris(ds.name, store.version(ds.name)) if columns else []
        for column in columns if files else []:
            query = (
                f"select distinct {column.name} from read_parquet($files, union_by_name = true) "
                f"where {column.name} is not null"
            )
            codes = {row[0] for row in duckdb.connect().execute(query, {"files": files}).fetchall()}
            used[t("admin.reference.used_by_data", dataset=dataset_label(ds.name))] = codes
    if kind == "districts":
        paired = set(reference.load("units", root)[PAIRED]) - {""}
        used[t("admin.reference.used_by_units")] = paired
    return used


def check(kind: str, content: bytes, file_name: str, root: Path) -> Checked:
    """Every reason the file cannot replace the list; changes against the current list."""
    _check_kind(kind)
    if len(content) > MAX_BYTES:
        return Checked(kind, None, [t("admin.reference.too_large", mb=MAX_BYTES // 2**20)])
    old = current(kind, root)
    header = list(old.columns)
    try:
        frame = _read(content, file_name, header)
    except ReadError as error:
        return Checked(kind, None, [str(error)])
    problems = []
    headers = list(frame.columns)
    missing = [h for h in header if h not in headers]
    extra = [h for h in headers if h not in header]
    if missing or extra or len(set(headers)) != len(headers):
        problems.append(
            t("admin.reference.header", expected=", ".join(header), got=", ".join(headers))
        )
        return Checked(kind, None, problems)
    frame = frame[header]
    if frame.empty:
        return Checked(kind, None, [t("admin.reference.no_rows")])
    code_column, names = REFERENCE_LISTS[kind]
    codes = frame[code_column]
    if (codes == "").any():
        problems.append(t("admin.reference.empty_code", column=code_column))
    duplicates = set(codes[codes.duplicated() & (codes != "")])
    if duplicates:
        problems.append(t("admin.reference.duplicate", codes=_listed(duplicates)))
    for column in names:
        if (frame[column] == "").any():
            problems.append(t("admin.reference.empty_name", column=column))
    for column in BOOLEAN_REFERENCE_COLUMNS & set(header):
        bad = set(frame[column][~frame[column].str.lower().isin(BOOLEANS)])
        if bad:
            problems.append(t("admin.reference.boolean", column=column, values=_listed(bad)))
        frame[column] = frame[column].str.lower()
    for column in set(REFERENCE_NUMERIC) & set(header):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.isna().any():
            bad = set(frame[column][numbers.isna()])
            problems.append(t("admin.reference.number", column=column, values=_listed(bad)))
    if PAIRED in header:
        districts = set(current("districts", root)["district_code"])
        unknown = set(frame[PAIRED]) - districts - {""}
        if unknown:
            problems.append(t("admin.reference.paired", codes=_listed(unknown)))
    kept_codes = set(codes)
    for where, used in referenced_codes(kind, root).items():
        gone = used - kept_codes
        if gone:
            problems.append(t("admin.reference.still_used", where=where, codes=_listed(gone)))
    old_codes = set(old[code_column])
    checked = Checked(kind, frame, problems)
    checked.added = sorted(kept_codes - old_codes)
    checked.removed = sorted(old_codes - kept_codes)
    both = old.merge(frame.drop_duplicates(code_column), on=code_column, suffixes=("", "_new"))
    differs = pd.Series(False, index=both.index)
    for column in header[1:]:
        differs |= both[column] != both[f"{column}_new"]
    checked.changed = sorted(both.loc[differs, code_column])
    return checked


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with _lock, open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _history_name(folder: Path, kind: str) -> Path:
    moment = datetime.now(UTC)
    while True:
        kept = folder / f"{moment:%Y%m%dT%H%M%S.%fZ}_{kind}.csv"
        if not kept.exists():
            return kept
        moment = moment.replace(microsecond=(moment.microsecond + 1) % 1_000_000)


def replace(kind: str, content: bytes, file_name: str, *, actor: Actor, root: Path) -> Replaced:
    """Check the file and make it the list in use; raises ReferenceRefused (audited) if not."""
    root = Path(root)
    sha256 = hashlib.sha256(content).hexdigest()
    with audited(
        root, actor, "reference.replace", dataset=kind, file=file_name, sha256=sha256
    ) as fields:
        require(actor, "admin", f"replace the {kind} list")
        folder = root / "reference"
        with _locked(folder):
            checked = check(kind, content, file_name, root)
            if not checked.ok:
                fields["outcome"] = "rejected"
                raise ReferenceRefused(kind, checked.problems)
            if config.reference_dir(root) != folder:
                source = config.reference_dir(root)
                for each in sorted(KINDS, key=lambda k: k == "units"):
                    shutil.copyfile(source / f"{each}.csv", folder / f"{each}.csv")
            (folder / HISTORY).mkdir(exist_ok=True)
            kept = _history_name(folder / HISTORY, kind)
            shutil.copyfile(folder / f"{kind}.csv", kept)
            _write_text(
                folder / f"{kind}.csv", checked.frame.to_csv(index=False, lineterminator="\n")
            )
        fields.update(
            rows=len(checked.frame),
            kept=kept.name,
            message=t(
                "admin.reference.summary",
                added=len(checked.added),
                removed=len(checked.removed),
                changed=len(checked.changed),
            ),
        )
    return Replaced(kind, len(checked.frame), kept, sha256)
