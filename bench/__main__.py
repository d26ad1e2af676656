"""SPEC §7 benchmark: every page's raw DuckDB time, cold and warm script run and pandas baseline,
ingest against a bare pyarrow conversion, a correction published and rolled back at each scale,
and the Overview in a real browser.

    python -m bench --scales 1m,10m,50m      # the README's table (bench/out/report.md)
    python -m bench --quick                  # a small run for CI, so the benchmark cannot rot

Each measurement runs in its own process (bench/measure.py, bench/ingest.py, bench/browser.py)
so its peak RSS is its own; raw, cold and warm take turns `--rounds` times with `--runs` runs
each, and their times are the medians of them all. Data is generated once per
scale under bench/out/<scale>/data and reused (`--regenerate` rebuilds it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench import measure
from bench.measure import PAGE_SCRIPTS

REPO = Path(__file__).resolve().parent.parent
TARGET_SCALE = "10m"
WARM_MAX_S = 0.2
COLD_MAX_S = 2.0
COLD_OVER_RAW = 1.5
PANDAS_OVER_COLD = 10
INGEST_OVER_BASELINE = 3
INGEST_MAX_RSS_MB = 1536
PANDAS_PAGES_ABOVE_10M = ("overview",)  # the baseline takes minutes a page at 50M


def rows_of(scale: str) -> int:
    text = scale.lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def run_json(args: list[str], data: Path | None = None, timeout: float = 3600) -> dict:
    env = os.environ | ({"CIVINDEX_DATA_DIR": str(data)} if data else {})
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout[result.stdout.index("{") :])


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def generate(scale: str, out: Path, regenerate: bool) -> tuple[Path, dict]:
    folder = out / scale
    data, marker = folder / "data", folder / "scale.json"
    if marker.exists() and data.exists() and not regenerate:
        return data, json.loads(marker.read_text())
    log(f"{scale}: generating {rows_of(scale):,} satisfaction responses")
    made = run_json(["-m", "bench.scale", "--rows", str(rows_of(scale)), "--data", str(data)])
    marker.write_text(json.dumps(made, indent=1))
    return data, made


def measure_page(
    data: Path, folder: Path, page: str, runs: int, pandas: bool, rounds: int = 1
) -> dict:
    """raw, cold and warm take turns, `rounds` times with `runs` runs each, so a slow spell of
    the machine falls on all three rather than on one side of a ratio."""
    queries = folder / f"queries_{page}.json"
    common = ["--data", str(data), "--page", page]
    result = {
        "capture": run_json(["-m", "bench.measure", "capture", *common, "--queries", str(queries)])
    }
    for _round in range(rounds):
        for mode in ("raw", "cold", "warm"):
            args = ["-m", "bench.measure", mode, *common, "--runs", str(runs)]
            if mode == "raw":
                args += ["--queries", str(queries)]
            result[mode] = pooled(result.get(mode), run_json(args))
    if pandas and page in _PANDAS_PAGES:
        args = ["-m", "bench.measure", "pandas", *common, "--runs", str(runs)]
        try:
            result["pandas"] = run_json(args)
        except RuntimeError as error:  # e.g. the pandas baseline killed for memory at 50M
            result["pandas_error"] = str(error)[-500:]
            log(f"{page}: pandas baseline failed: {str(error)[-200:]}")
    return result


def pooled(before: dict | None, new: dict) -> dict:
    """One measurement's runs added to the earlier rounds': the median of them all, the
    highest peak RSS."""
    if before is None:
        return new
    seconds = before["seconds"] + new["seconds"]
    merged = before | {
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "peak_rss_mb": max(before["peak_rss_mb"], new["peak_rss_mb"]),
    }
    if "opens" in before:  # a raw measurement: its parts are pooled too
        opens, reads = before["opens"] + new["opens"], before["reads"] + new["reads"]
        per_query = {k: v + new["per_query"].get(k, []) for k, v in before["per_query"].items()}
        merged |= {"opens": opens, "reads": reads, "per_query": per_query}
        merged |= measure.raw_medians(opens, reads, per_query)
    return merged


_PANDAS_PAGES = set(PAGE_SCRIPTS) - {"snapshots"}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def difference_ms(a: float | None, b: float | None) -> float | None:
    return (a - b) * 1000 if a is not None and b is not None else None


def summarise(page: str, measured: dict) -> dict:
    med = {m: measured[m]["median_s"] for m in ("raw", "cold", "warm", "pandas") if m in measured}
    rss = {
        m: measured[m]["peak_rss_mb"] for m in ("raw", "cold", "warm", "pandas") if m in measured
    }
    return {
        "page": page,
        "queries": measured["capture"]["queries"],
        **{f"{m}_s": v for m, v in med.items()},
        **{f"{m}_rss_mb": v for m, v in rss.items()},
        "open_s": measured["raw"]["open_s"],
        "cold_over_raw": ratio(med.get("cold"), med.get("raw")),
        # what the run adds to its queries (Streamlit, the frame, drawing): a fixed cost, so a
        # page with little data has a high ratio
        "cold_minus_raw_ms": difference_ms(med.get("cold"), med.get("raw")),
        "pandas_over_cold": ratio(med.get("pandas"), med.get("cold")),
    }


def fmt(value, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}{suffix}"


def page_table(rows: list[dict]) -> list[str]:
    lines = [
        "| page | queries | raw s | cold s | cold ÷ raw | cold − raw ms | warm s | pandas s "
        "| pandas ÷ cold | peak RSS MB raw / cold / warm / pandas |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        rss = " / ".join(str(r.get(f"{m}_rss_mb", "—")) for m in ("raw", "cold", "warm", "pandas"))
        lines.append(
            f"| {r['page']} | {r['queries']} | {fmt(r.get('raw_s'), 3)} | {fmt(r.get('cold_s'), 3)}"
            f" | {fmt(r['cold_over_raw'], 2, '×')} | {fmt(r.get('cold_minus_raw_ms'), 0)}"
            f" | {fmt(r.get('warm_s'), 3)}"
            f" | {fmt(r.get('pandas_s'), 2)} | {fmt(r['pandas_over_cold'], 1, '×')} | {rss} |"
        )
    return lines


def targets(rows: list[dict], ingest: dict | None) -> list[str]:
    """SPEC §7, page by page: each line says met or not, with the figures."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = []
    checks = [
        ("warm ≤ 0.2 s", lambda r: r.get("warm_s"), lambda v: v <= WARM_MAX_S, "{:.3f} s"),
        ("cold ≤ 2 s", lambda r: r.get("cold_s"), lambda v: v <= COLD_MAX_S, "{:.3f} s"),
        (
            "cold ≤ 1.5 × raw",
            lambda r: r["cold_over_raw"],
            lambda v: v <= COLD_OVER_RAW,
            "{:.2f}×",
        ),
        (
            "cold ≥ 10 × faster than pandas",
            lambda r: r["pandas_over_cold"],
            lambda v: v >= PANDAS_OVER_COLD,
            "{:.1f}×",
        ),
    ]
    for label, get, ok, form in checks:
        values = [(r["page"], get(r)) for r in rows if get(r) is not None]
        if not values:
            continue
        failed = [(p, v) for p, v in values if not ok(v)]
        shown = ", ".join(f"{p} {form.format(v)}" for p, v in failed or values)
        lines.append(
            f"- {label}: {verdict(not failed)}; met on {len(values) - len(failed)} of "
            f"{len(values)} pages ({'missed on ' if failed else ''}{shown})"
        )
    if ingest:
        publish = ingest["ingest_publish"]
        x = publish["seconds"] / ingest["baseline_pyarrow_csv_to_parquet"]["seconds"]
        lines.append(
            f"- ingest ≤ 3 × bare conversion: {verdict(x <= INGEST_OVER_BASELINE)} ({x:.2f}×); "
            f"peak RSS ≤ 1.5 GB: {verdict(publish['peak_rss_mb'] <= INGEST_MAX_RSS_MB)} "
            f"({publish['peak_rss_mb']} MB)"
        )
    return lines


def ingest_table(ingest: dict) -> list[str]:
    base = ingest["baseline_pyarrow_csv_to_parquet"]
    lines = [
        f"{ingest['rows']:,}-row GB18030 CSV ({ingest['file_mb']} MB) into "
        f"{'an empty store' if ingest.get('store', 'empty') == 'empty' else ingest['store']}:",
        "",
        "| step | s | × bare conversion | peak RSS MB |",
        "|---|--:|--:|--:|",
        f"| bare pyarrow CSV→Parquet | {base['seconds']:.2f} | 1.00× | {base['peak_rss_mb']} |",
    ]
    for step in ("ingest_dry_run", "ingest_publish"):
        s = ingest[step]
        lines.append(
            f"| `civindex ingest`{' --dry-run' if 'dry' in step else ''} | {s['seconds']:.2f} "
            f"| {s['seconds'] / base['seconds']:.2f}× | {s['peak_rss_mb']} |"
        )
    return lines


def correction_table(corrections: dict) -> list[str]:
    """Per scale: a month of new responses published, then a corrected file replacing some of
    them, then the correction rolled back (bench/correction.py), each in its own process."""
    first = next(iter(corrections.values()))
    lines = [
        f"A month of {first['rows']:,} new responses published into the scale's data, a corrected "
        f"file of {first['fix']:,} of them published over it (replace) and that correction "
        "rolled back; seconds and peak RSS MB of each step's process:",
        "",
        "| scale | rows before | publish | replace | rollback of the replace |",
        "|---|--:|--:|--:|--:|",
    ]
    for scale, c in corrections.items():
        cells = [f"{c[s]['seconds']:.2f} s, {c[s]['peak_rss_mb']} MB" for s in CORRECTION_STEPS]
        lines.append(f"| {scale} | {c['rows_before']:,} | " + " | ".join(cells) + " |")
    return lines


CORRECTION_STEPS = ("publish", "replace", "rollback")


def growth_table(results: dict) -> list[str]:
    """Seconds per page at each scale: raw / cold / warm (and pandas where it ran)."""
    scales = list(results["scales"])
    by_page: dict[str, dict[str, dict]] = {}
    for scale, block in results["scales"].items():
        for row in block["pages"]:
            by_page.setdefault(row["page"], {})[scale] = row
    lines = [
        "| page | " + " | ".join(f"{s}: raw / cold / warm / pandas s" for s in scales) + " |",
        "|---|" + "--:|" * len(scales),
    ]
    for page, rows in by_page.items():
        cells = []
        for scale in scales:
            r = rows.get(scale, {})
            cells.append(
                " / ".join(fmt(r.get(f"{m}_s"), 2) for m in ("raw", "cold", "warm", "pandas"))
            )
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return lines


def report(results: dict) -> str:
    lines = [
        "# Benchmark report",
        "",
        f"`{results['command']}` on {results['machine']}, {results['started']}, "
        f"{results['seconds']} s; each measurement in its own process, raw, cold and warm "
        f"taking turns {results.get('rounds', 1)} times with {results['runs']} runs each "
        f"(medians of them all; pandas {results['runs']} runs). Load average (1 min) {results['load_before']:.1f} at the start and "
        f"{results['load_after']:.1f} at the end: other work on the machine inflates the figures.",
        "",
        "raw: the page's distinct named queries, one after another, on a fresh `Store` and "
        "`Database` over the same snapshot (opening it included; for snapshots also the Delta "
        "and audit log reads it lists); cold: the page's full script run (dashboard.py, "
        "AppTest) after every cache of query results, figures, databases and file lists is "
        "dropped, as after a new snapshot (the page starts its independent queries side by "
        "side); warm: the same run from the caches; pandas: the snapshot's Parquet read into "
        "pandas (needed columns) and the same aggregates computed (bench/baseline.py). What a "
        "running server keeps from its start is kept: the DuckDB instance, the parsed reference "
        "lists, compiled page scripts and Streamlit's component registry: raw, cold and warm "
        "each make one run first that is not measured.",
    ]
    for scale, block in results["scales"].items():
        made = block["data"]
        lines += [
            "",
            f"## {scale}: {made['rows'].get('satisfaction', 0):,} satisfaction responses, "
            f"{made['rows'].get('participation', 0):,} participation rows, "
            f"{made['rows'].get('index_results', 0):,} index rows",
            "",
            f"Generated in {made['seconds']} s (peak RSS {made['peak_rss_mb']} MB); lake "
            + ", ".join(f"{k} {v} MB" for k, v in made["lake_mb"].items())
            + ".",
            "",
            *page_table(block["pages"]),
        ]
        if scale == results["target_scale"]:
            lines += [
                "",
                f"SPEC §7 at {scale}:",
                "",
                *targets(block["pages"], results.get("ingest")),
            ]
    if len(results["scales"]) > 1:
        lines += ["", "## Growth with the number of responses", "", *growth_table(results)]
    if results.get("ingest"):
        lines += ["", "## Ingest", "", *ingest_table(results["ingest"])]
    corrections = {k: v["correction"] for k, v in results["scales"].items() if "correction" in v}
    if corrections:
        lines += ["", "## Corrections into the lake", "", *correction_table(corrections)]
    if results.get("browser"):
        b = results["browser"]
        lines += ["", f"## Browser: Overview at {results['browser_scale']}", ""]
        if "skipped" in b:
            lines.append(f"Skipped: {b['skipped']}.")
        else:
            lines += [
                "Navigation start to the last chart painted (Chromium, Playwright, "
                "`streamlit run`):",
                "",
                "| | median s | runs s |",
                "|---|--:|---|",
                f"| cold (new snapshot) | {b['cold_median_s']:.2f} | "
                + ", ".join(f"{v:.2f}" for v in b["cold_s"])
                + " |",
                f"| warm (reload) | {b['warm_median_s']:.2f} | "
                + ", ".join(f"{v:.2f}" for v in b["warm_s"])
                + " |",
                "",
                f"Server peak RSS {b['server_peak_rss_mb']} MB.",
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1m,10m,50m", help="e.g. 1m,10m,50m or 300k")
    parser.add_argument("--pages", default=",".join(PAGE_SCRIPTS))
    parser.add_argument("--runs", type=int, default=5, help="runs per measuring process")
    parser.add_argument(
        "--rounds", type=int, default=2, help="times raw, cold and warm take turns per page"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--no-ingest", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-correction", action="store_true")
    parser.add_argument("--correction-rows", type=int, default=1_000_000)
    parser.add_argument("--correction-fix", type=int, default=20_000)
    parser.add_argument("--browser-scale", default=TARGET_SCALE)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the scale data")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI: 20k rows, 2 pages, 1 run in 2 rounds, small ingest",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.scales, args.pages, args.runs, args.rounds = "20k", "overview,satisfaction", 1, 2
        args.ingest_rows, args.no_browser = 20_000, True
        args.correction_rows, args.correction_fix = 5_000, 500
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "started": f"{datetime.now():%Y-%m-%d %H:%M}",
        "load_before": os.getloadavg()[0],
        "runs": args.runs,
        "rounds": args.rounds,
        "target_scale": TARGET_SCALE if TARGET_SCALE in scales else scales[-1],
        "browser_scale": args.browser_scale,
        "scales": {},
    }
    started = time.perf_counter()
    for scale in scales:
        data, made = generate(scale, args.out, args.regenerate)
        block = {"data": made, "pages": [], "raw": {}}
        pandas = rows_of(scale) <= 10_000_000
        for page in pages:
            log(f"{scale}: {page}")
            with_pandas = pandas or page in PANDAS_PAGES_ABOVE_10M
            measured = measure_page(
                data, args.out / scale, page, args.runs, with_pandas, args.rounds
            )
            block["raw"][page] = measured
            block["pages"].append(summarise(page, measured))
        if not args.no_correction:
            log(f"{scale}: a month published, corrected and the correction rolled back")
            block["correction"] = run_json(
                [
                    "-m",
                    "bench.correction",
                    "--data",
                    str(data),
                    "--rows",
                    str(args.correction_rows),
                    "--fix",
                    str(args.correction_fix),
                ]
            )
        results["scales"][scale] = block
        if not args.no_browser and scale == args.browser_scale:
            log(f"{scale}: browser")
            charts = block["raw"].get("overview", {}).get("capture", {}).get("charts") or 5
            runs = str(min(args.runs, 3))
            results["browser"] = run_json(
                [
                    "-m",
                    "bench.browser",
                    "--data",
                    str(data),
                    "--runs",
                    runs,
                    "--charts",
                    str(charts),
                ]
            )
    if not args.no_ingest:
        log(f"ingest of {args.ingest_rows:,} rows")
        results["ingest"] = run_json(
            ["bench/ingest.py", "--rows", str(args.ingest_rows), "--out", str(args.out)]
        )
    results["seconds"] = round(time.perf_counter() - started)
    results["load_after"] = os.getloadavg()[0]
    text = report(results)
    (args.out / "report.md").write_text(text, encoding="utf-8")
    (args.out / "report.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    print(text)
    log(f"done in {results['seconds']} s; {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
