"""Corrections at scale: into a copy of a scale's data, publish a month of new responses, then a
corrected file that replaces some of them, then roll the correction back. Each step runs in its
own process, so its peak RSS is its own:

    python -m bench.correction --data bench/out/10m/data [--rows 1000000] [--fix 20000]

Prints one JSON line: seconds and peak RSS per step, and the rows before and after.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEPS = ("publish", "replace", "rollback")


def month_of_responses(store, rows: int):
    """`rows` new responses shaped like the newest published ones, under new 问卷编号, all
    surveyed in the month after the latest of them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from civindex.schema import UPLOAD_ID

    files = store.file_uris("satisfaction", store.version("satisfaction"))
    newest = pq.ParquetFile(files[-1].removeprefix("file://"))
    parts, have = [], 0
    for group in range(newest.num_row_groups):
        parts.append(newest.read_row_group(group))
        have += parts[-1].num_rows
        if have >= rows:
            break
    table = pa.concat_tables(parts).slice(0, rows).drop_columns([UPLOAD_ID])
    position = table.schema.get_field_index("response_id")
    ids = pa.array([f"BENCH{i:010d}" for i in range(table.num_rows)], pa.string())
    table = table.set_column(position, "response_id", ids)
    # surveyed in the month after the data's last, as the next month's file is
    last = max(d for d in table["surveyed_on"].to_pylist() if d is not None)
    after = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    position = table.schema.get_field_index("surveyed_on")
    field = table.schema.field(position)
    return table.set_column(position, field, pa.array([after] * table.num_rows, field.type))


def step(name: str, data: Path, rows: int, fix: int, upload_id: str | None) -> dict:
    from bench.measure import peak_rss_mb
    from civindex.store import Store

    store = Store(data)
    month = (
        None
        if name == "rollback"
        else month_of_responses(store, fix if name == "replace" else rows)
    )
    started = time.perf_counter()
    if name == "publish":
        commit = store.publish("satisfaction", month, user="bench")
    elif name == "replace":  # the first `fix` responses of the month again
        commit = store.publish("satisfaction", month, user="bench", replace_overlap=True)
    else:
        (commit,) = store.rollback(upload_id, user="bench")
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "upload_id": commit.upload_id,
        "action": commit.action,
        "rows_after": store.count_rows("satisfaction"),
    }


def run(data: Path, rows: int, fix: int) -> dict:
    from civindex.store import Store

    result: dict = {"rows": rows, "fix": fix}
    with tempfile.TemporaryDirectory(prefix="civindex-correction-") as folder:
        copy = Path(folder) / "data"
        shutil.copytree(data, copy)
        result["rows_before"] = Store(copy).count_rows("satisfaction")
        upload_id = None
        for name in STEPS:
            args = [sys.executable, "-m", "bench.correction", "--step", name, "--data", str(copy)]
            args += ["--rows", str(rows), "--fix", str(fix)]
            if upload_id:
                args += ["--upload-id", upload_id]
            done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
            result[name] = json.loads(done.stdout.strip().splitlines()[-1])
            upload_id = result[name]["upload_id"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fix", type=int, default=20_000)
    parser.add_argument("--step", choices=STEPS)
    parser.add_argument("--upload-id")
    args = parser.parse_args(argv)
    if args.step:
        result = step(args.step, args.data, args.rows, args.fix, args.upload_id)
    else:
        result = run(args.data, args.rows, args.fix)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
