"""Where the data lives. `CIVINDEX_DATA_DIR` overrides the repository's `data/`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = REPO_ROOT / "queries"


def data_dir() -> Path:
    override = os.environ.get("CIVINDEX_DATA_DIR")
    return Path(override).resolve() if override else REPO_ROOT / "data"


def reference_dir(root: Path | None = None) -> Path:
    """Reference lists of a data dir, falling back to the committed ones."""
    candidate = (root or data_dir()) / "reference"
    if (candidate / "units.csv").exists():
        return candidate
    return REPO_ROOT / "data" / "reference"


def duckdb_settings() -> dict[str, str | int]:
    """Every DuckDB's memory limit, threads and spill folder: CIVINDEX_DUCKDB_MEMORY (default
    2GB, so no page or write takes the server's memory), CIVINDEX_DUCKDB_THREADS (default: every
    core) and CIVINDEX_DUCKDB_TEMP (default: civindex-duckdb-<uid> in the system's temporary
    folder). An in-memory DuckDB otherwise spills into `.tmp` under whatever folder the server
    or command was started from, the repository's included."""
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""  # another user's folder is not ours
    temp = os.environ.get("CIVINDEX_DUCKDB_TEMP") or Path(tempfile.gettempdir()) / (
        f"civindex-duckdb{user}"
    )
    settings: dict[str, str | int] = {
        "memory_limit": os.environ.get("CIVINDEX_DUCKDB_MEMORY", "2GB"),
        "temp_directory": str(temp),
    }
    if threads := os.environ.get("CIVINDEX_DUCKDB_THREADS"):
        settings["threads"] = int(threads)
    return settings
