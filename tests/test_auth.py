"""Accounts, password hashing, rate limiting and the store's role checks."""

import json

import pyarrow as pa
import pytest

from civindex import auth
from civindex.auth import AccessDenied, Actor, RateLimiter


def test_accounts_store_only_salted_scrypt_hashes(tmp_path):
    auth.add_user(tmp_path, "li.hua", "analyst", "correct horse 1")
    auth.add_user(tmp_path, "wang", "analyst", "correct horse 1")
    raw = (tmp_path / "accounts" / "users.json").read_text(encoding="utf-8")
    assert "correct horse" not in raw
    accounts = json.loads(raw)
    assert accounts["li.hua"]["role"] == "analyst"
    # Same password, different salts: different hashes.
    assert accounts["li.hua"]["salt"] != accounts["wang"]["salt"]
    assert accounts["li.hua"]["hash"] != accounts["wang"]["hash"]


def test_authenticate_accepts_right_password_and_refuses_wrong_one(tmp_path):
    auth.add_user(tmp_path, "zhang", "admin", "s3cret-pass")
    limiter = RateLimiter()
    actor = auth.authenticate(tmp_path, "zhang", "s3cret-pass", limiter=limiter)
    assert actor == Actor("zhang", "admin")
    assert auth.authenticate(tmp_path, "zhang", "wrong-pass", limiter=limiter) is None
    assert auth.authenticate(tmp_path, "nobody", "s3cret-pass", limiter=limiter) is None


def test_lockout_after_repeated_failures_even_with_the_right_password(tmp_path):
    auth.add_user(tmp_path, "zhao", "viewer", "right-password")
    limiter = RateLimiter(max_failures=3, window_s=60)
    for _ in range(3):
        assert auth.authenticate(tmp_path, "zhao", "guess", limiter=limiter) is None
    assert auth.is_locked_out("zhao", limiter=limiter)
    assert auth.authenticate(tmp_path, "zhao", "right-password", limiter=limiter) is None


def test_lockout_per_client_covers_other_account_names(tmp_path):
    auth.add_user(tmp_path, "qian", "viewer", "right-password")
    limiter = RateLimiter(max_failures=3, window_s=60)
    for name in ("a1", "a2", "a3"):
        auth.authenticate(tmp_path, name, "guess", client="10.0.0.9", limiter=limiter)
    assert auth.authenticate(tmp_path, "qian", "right-password", "10.0.0.9", limiter) is None
    assert auth.authenticate(tmp_path, "qian", "right-password", "10.0.0.8", limiter) is not None


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("x", "viewer", "long-enough", "name"),
        ("valid", "boss", "long-enough", "unknown role"),
        ("valid", "viewer", "short", "at least"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(tmp_path, name, role, password, message):
    with pytest.raises(auth.AccountError, match=message):
        auth.add_user(tmp_path, name, role, password)
    assert auth.load_accounts(tmp_path) == {}


def test_role_changes_and_removal(tmp_path):
    auth.add_user(tmp_path, "sun", "viewer", "password-1")
    auth.set_role(tmp_path, "sun", "analyst")
    assert auth.load_accounts(tmp_path)["sun"]["role"] == "analyst"
    auth.set_password(tmp_path, "sun", "password-2")
    limiter = RateLimiter()
    assert auth.authenticate(tmp_path, "sun", "password-1", limiter=limiter) is None
    assert auth.authenticate(tmp_path, "sun", "password-2", limiter=limiter).role == "analyst"
    auth.remove_user(tmp_path, "sun")
    assert auth.load_accounts(tmp_path) == {}
    with pytest.raises(auth.AccountError):
        auth.remove_user(tmp_path, "sun")


def _index_rows():
    import datetime as dt

    return pa.table(
        {
            "round_name": ["2025年度测评"],
            "round_date": [dt.date(2025, 12, 10)],
            "round_type": ["年度测评"],
            "district_code": ["350102"],
            "indicator_code": ["order"],
            "score": [16.0],
            "max_score": [18.0],
        }
    )


def test_store_refuses_a_viewer_and_accepts_an_analyst(store):
    viewer, analyst = Actor("leader", "viewer"), Actor("analyst1", "analyst")
    with pytest.raises(AccessDenied):
        store.publish("index_results", _index_rows(), user=viewer)
    assert store.version("index_results") is None
    commit = store.publish("index_results", _index_rows(), user=analyst)
    assert store.history("index_results")[0]["user"] == "analyst1"
    with pytest.raises(AccessDenied):
        store.rollback(commit.upload_id, user=viewer)
    with pytest.raises(AccessDenied):
        store.restore("index_results", 0, user=viewer)
    with pytest.raises(AccessDenied):
        store.clear_demo(user=viewer)
    assert store.count_rows("index_results") == 1
    store.rollback(commit.upload_id, user=analyst)
    assert store.count_rows("index_results") == 0
