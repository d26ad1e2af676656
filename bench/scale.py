"""The benchmark's data: the demo generator at a given number of satisfaction responses, with
the full participation and index history, in its own data dir (its own process, so its peak
RSS is its own).

    python -m bench.scale --rows 10000000 --data bench/out/10m/data
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

from civindex import config, demo
from civindex.store import Store


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def build(rows: int, data: Path) -> dict:
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    # Its own copy of the reference lists, so the data dir is complete on its own.
    shutil.copytree(config.reference_dir(), data / "reference")
    store = Store(data)
    started = time.perf_counter()
    commits = demo.build(store, scale=rows / demo.BASE_RESPONSES)
    seconds = time.perf_counter() - started
    return {
        "rows_wanted": rows,
        "rows": {c.dataset: c.rows for c in commits},
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "lake_mb": {p.name: folder_mb(p) for p in sorted(store.lake_dir.iterdir()) if p.is_dir()},
        "end_month": f"{demo.last_full_month():%Y-%m}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.rows, args.data.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
