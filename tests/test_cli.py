"""`python -m civindex` run as a real subprocess against a temporary data dir."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from civindex.cli import default_params
from civindex.db import Database, load_query, query_names
from civindex.store import Store

REPO = Path(__file__).resolve().parent.parent


def civindex(data_dir: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    env = os.environ | {"CIVINDEX_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "civindex", "--user", "tester", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expect, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory) -> Path:
    """A data dir filled by `demo --if-empty`, shared read-only by the query tests."""
    root = tmp_path_factory.mktemp("cli")
    result = civindex(root, "demo", "--if-empty")
    for name in ("participation", "satisfaction", "index_results"):
        assert f"{name}: " in result.stdout
    return root


def test_demo_if_empty_does_nothing_the_second_time(cli_dir):
    before = Store(cli_dir).history()
    result = civindex(cli_dir, "demo", "--if-empty")
    assert "not rebuilt" in result.stdout
    assert Store(cli_dir).history() == before


def test_demo_rebuild_replaces_the_demo_rows(tmp_path):
    civindex(tmp_path, "demo")
    rows = Store(tmp_path).count_rows("satisfaction")
    civindex(tmp_path, "demo")
    store = Store(tmp_path)
    assert store.count_rows("satisfaction") == rows
    assert [e["action"] for e in store.history("satisfaction")] == [
        "publish",
        "clear_demo",
        "publish",
    ]
    civindex(tmp_path, "demo", "--clear")
    assert all(Store(tmp_path).count_rows(name) == 0 for name in store.snapshot())


def test_query_without_a_name_lists_every_query(cli_dir):
    lines = civindex(cli_dir, "query").stdout.splitlines()
    listed = {line.split()[0]: line for line in lines if line.strip()}
    assert sorted(listed) == query_names()
    for name, line in listed.items():
        assert load_query(name).description in line


def test_query_as_csv_with_params(cli_dir):
    result = civindex(
        cli_dir,
        "query",
        "participation_monthly",
        "--param",
        "start=2025-01",
        "--param",
        "end=2025-03",
        "--param",
        "categories=volunteer,moral",
    )
    printed = pd.read_csv(io.StringIO(result.stdout))
    expected = Database(Store(cli_dir)).run(
        "participation_monthly",
        **default_params()
        | {
            "start": date(2025, 1, 1),
            "end": date(2025, 3, 1),
            "categories": ["volunteer", "moral"],
        },
    )
    assert list(printed["period_month"]) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert list(printed.columns) == list(expected.columns)
    assert list(printed["participants"]) == list(expected["participants"])
    assert list(printed["activities"]) == list(expected["activities"])


def test_query_as_json_with_a_list_param(cli_dir):
    result = civindex(
        cli_dir,
        "query",
        "satisfaction_monthly",
        "--format",
        "json",
        "--param",
        "units=gat",
        "--param",
        "start=2025-01",
        "--param",
        "end=2025-02",
    )
    printed = json.loads(result.stdout)
    expected = Database(Store(cli_dir)).run(
        "satisfaction_monthly",
        **default_params() | {"units": ["gat"], "start": date(2025, 1, 1), "end": date(2025, 2, 1)},
    )
    assert [row["period_month"][:10] for row in printed] == ["2025-01-01", "2025-02-01"]
    assert [row["responses"] for row in printed] == list(expected["responses"])
    assert [row["satisfaction_rate"] for row in printed] == pytest.approx(
        list(expected["satisfaction_rate"])
    )


def test_history_lists_every_batch(cli_dir):
    output = civindex(cli_dir, "history").stdout
    for batch in Store(cli_dir).batches():
        assert batch["upload_id"] in output
    only = civindex(cli_dir, "history", "--dataset", "index_results").stdout
    assert "index_results" in only and "satisfaction" not in only


def test_rollback_restore_and_query_as_of(tmp_path):
    civindex(tmp_path, "demo")
    store = Store(tmp_path)
    (batch,) = store.batches("participation")
    published_at = batch["committed_at"]
    rows = store.count_rows("participation")

    result = civindex(tmp_path, "rollback", batch["upload_id"])
    assert f"rolled back {batch['upload_id']} ({rows} rows)" in result.stdout
    assert store.count_rows("participation") == 0

    def participation_rows(*as_of: str) -> int:
        printed = civindex(tmp_path, "query", "data_extent", "--format", "json", *as_of).stdout
        return {row["dataset"]: row["rows"] for row in json.loads(printed)}["participation"]

    assert participation_rows() == 0
    assert participation_rows("--as-of", published_at.isoformat()) == rows
    before_anything = (published_at - timedelta(days=1)).isoformat()
    assert participation_rows("--as-of", before_anything) == 0

    result = civindex(tmp_path, "restore", "--dataset", "participation", "--version", "0")
    assert "version 0 restored as version 2" in result.stdout
    assert Store(tmp_path).count_rows("participation") == rows
    assert participation_rows() == rows


def test_check_finds_keys_held_twice_and_says_how_to_fold_them(tmp_path):
    from tests.test_store import participation, publish_as_before_keys_matched_empty

    civindex(tmp_path, "demo")
    result = civindex(tmp_path, "check")
    assert result.stdout.count("every key is held by one row") == 3

    store = Store(tmp_path)
    rows = store.read("participation").to_pylist()
    row = rows[0]
    again = participation([(row["unit_code"], row["category_code"], 1)], row["period_month"])
    again = again.set_column(2, "district_code", pa.array([row["district_code"]], pa.string()))
    publish_as_before_keys_matched_empty(store, again, "u-again")

    result = civindex(tmp_path, "check", expect=1)
    (batch,) = store.batches("participation")[1:]
    assert (
        "participation: 1 key(s) (period_month × unit_code × district_code × category_code)"
        in result.stdout
    )
    assert f"1 row(s) too many, in batches {batch['upload_id']}, u-again" in result.stdout
    assert f"unit_code={row['unit_code']}" in result.stdout and ": 2 rows" in result.stdout
    assert "rollback UPLOAD_ID" in result.stdout
    assert "satisfaction: every key is held by one row" in result.stdout

    civindex(tmp_path, "rollback", "u-again")
    civindex(tmp_path, "check", "--dataset", "participation")


def test_unknown_query_is_an_error_without_a_traceback(cli_dir):
    result = civindex(cli_dir, "query", "no_such_query", expect=1)
    assert "error:" in result.stderr and "no_such_query" in result.stderr


def test_unknown_upload_id_is_an_error_without_a_traceback(cli_dir):
    before = Store(cli_dir).history()
    result = civindex(cli_dir, "rollback", "u-does-not-exist", expect=1)
    assert "error:" in result.stderr and "u-does-not-exist" in result.stderr
    assert Store(cli_dir).history() == before


def test_restore_of_a_missing_version_is_an_error(cli_dir):
    result = civindex(cli_dir, "restore", "--dataset", "participation", "--version", "99", expect=1)
    assert "error:" in result.stderr and "99" in result.stderr


def test_bad_arguments_are_reported(cli_dir):
    result = civindex(cli_dir, "query", "data_extent", "--as-of", "yesterday", expect=2)
    assert "--as-of" in result.stderr
    result = civindex(cli_dir, "query", "data_extent", "--param", "novalue", expect=2)
    assert "key=value" in result.stderr
