"""Ingest benchmark: a synthetic N-row GB18030 satisfaction CSV, as Chinese Excel writes it,
through `python -m civindex ingest` (--dry-run, then publish) against a bare pyarrow
CSV→Parquet conversion of the same file. Each step runs in its own process under
/usr/bin/time so peak RSS is that step's alone.

    python bench/ingest.py --rows 1000000 [--demo] [--repeat 3] [--out bench/out]

Best of --repeat alternating runs is kept, so a busy machine skews every step alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BASELINE = """
import sys, pyarrow as pa, pyarrow.csv as csv, pyarrow.parquet as pq
table = csv.read_csv(sys.argv[1], read_options=csv.ReadOptions(encoding="gb18030"))
pq.write_table(table, sys.argv[2])
print(table.num_rows)
"""


def make_file(path: Path, rows: int, month: str = "2026-11") -> None:
    from civindex import reference

    rng = np.random.default_rng(7)
    units = reference.load("units").query("has_service_window")
    districts = reference.load("districts")
    pick = rng.integers(0, len(units), rows)
    days = rng.integers(1, 29, rows)
    levels = np.array(["非常满意", "满意", "基本满意", "不满意", "非常不满意"])
    overall = rng.choice(5, rows, p=[0.6, 0.3, 0.07, 0.02, 0.01])
    year, mon = month.split("-")
    frame = pd.DataFrame(
        {
            "问卷编号": [f"B{i:09d}" for i in range(rows)],
            "调查日期": [f"{year}/{int(mon)}/{d}" for d in days],
            "单位名称": units["unit_short_name"].to_numpy()[pick],
            "区县": districts["district_name"].to_numpy()[rng.integers(0, len(districts), rows)],
            "服务窗口": units["unit_short_name"].to_numpy()[pick] + "办事大厅",
            "评价渠道": rng.choice(["评价器", "问卷", "线上"], rows),
            "总体评价": levels[overall],
            "服务态度": rng.integers(3, 6, rows),
            "办事时效": rng.integers(3, 6, rows),
        }
    )
    frame.to_csv(path, index=False, encoding="gb18030")


def timed(command: list[str], env: dict) -> dict:
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, cwd=REPO
    )
    seconds = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    cpu = sum(
        float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", result.stderr)
    )
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(int(peak.group(1)) / 1024) if peak else None,
        "exit": result.returncode,
        "tail": result.stdout.strip().splitlines()[-3:],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument(
        "--demo", action="store_true", help="publish into a store holding the demo data"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each step, alternating; best time kept"
    )
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = folder / f"satisfaction_{args.rows}.csv"
        make_file(source, args.rows)
        template = folder / "template"
        if args.demo:
            subprocess.run(
                [python, "-m", "civindex", "demo"],
                env=os.environ | {"CIVINDEX_DATA_DIR": str(template)},
                cwd=REPO,
                check=True,
                capture_output=True,
            )
        steps = {
            "baseline_pyarrow_csv_to_parquet": [
                python,
                "-c",
                BASELINE,
                str(source),
                str(folder / "baseline.parquet"),
            ],
            "ingest_dry_run": [
                python,
                "-m",
                "civindex",
                "ingest",
                str(source),
                "--dataset",
                "satisfaction",
                "--dry-run",
            ],
            "ingest_publish": [
                python,
                "-m",
                "civindex",
                "ingest",
                str(source),
                "--dataset",
                "satisfaction",
                "--user",
                "bench",
            ],
        }
        runs: dict[str, list[dict]] = {name: [] for name in steps}
        for attempt in range(args.repeat):
            for name, command in steps.items():
                data = folder / f"data{attempt}{name}"  # a fresh store: the file is new to it
                if template.exists():
                    shutil.copytree(template, data)
                runs[name].append(timed(command, os.environ | {"CIVINDEX_DATA_DIR": str(data)}))
                shutil.rmtree(data, ignore_errors=True)
        results = {
            "rows": args.rows,
            "store": "demo data" if args.demo else "empty",
            "file_mb": round(source.stat().st_size / 2**20, 1),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 1) for x in os.getloadavg()],
        }
        for name, attempts in runs.items():
            best = min(attempts, key=lambda r: r["seconds"])
            results[name] = best | {
                "all_seconds": [r["seconds"] for r in attempts],
                "max_peak_rss_mb": max(r["peak_rss_mb"] or 0 for r in attempts),
            }
    base = results["baseline_pyarrow_csv_to_parquet"]["seconds"]
    base_cpu = min(r["cpu_seconds"] for r in runs["baseline_pyarrow_csv_to_parquet"])
    for step in ("ingest_dry_run", "ingest_publish"):
        results[step]["x_baseline"] = round(results[step]["seconds"] / base, 2)
        cpu = min(r["cpu_seconds"] for r in runs[step])
        results[step]["x_baseline_cpu"] = round(cpu / base_cpu, 2)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "_demo" if args.demo else ""
    (args.out / f"ingest_{args.rows}{suffix}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
