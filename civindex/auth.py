"""Roles, local accounts (salted scrypt) and sign-in rate limiting.

Accounts live in `<data dir>/accounts/users.json`; only salts and scrypt hashes are stored.
Roles: viewer < analyst < admin. Callers that change data pass an `Actor`; the store checks
its role, so hiding a page is never the only guard.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROLES = ("viewer", "analyst", "admin")
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
NAME = re.compile(r"^[A-Za-z0-9_.@\-]{2,64}$")
MIN_PASSWORD = 8
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60


class AccessDenied(PermissionError):
    """The caller's role does not allow the action."""


class AccountError(ValueError):
    """A bad account name, role or password; the message is meant for the user."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    via: str = "local"

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = Actor("anonymous", "viewer", via="anonymous")


def require(user: str | Actor, role: str, action: str) -> str:
    """Refuse an Actor below `role`; return the name to record. Plain names are trusted local
    callers (the command line, which runs with the data dir's file permissions)."""
    if isinstance(user, Actor):
        if not user.can(role):
            raise AccessDenied(f"{user.name} ({user.role}) may not {action}; needs {role}")
        return user.name
    return user


def _accounts_file(root: Path) -> Path:
    return root / "accounts" / "users.json"


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT)


_file_lock = threading.Lock()


@contextmanager
def _locked(root: Path):
    path = _accounts_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    import fcntl

    with _file_lock, open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_accounts(root: Path) -> dict[str, dict]:
    path = _accounts_file(root)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _save(path: Path, accounts: dict[str, dict]) -> None:
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(json.dumps(accounts, ensure_ascii=False, indent=1), encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")


def add_user(root: Path, name: str, role: str, password: str) -> None:
    if not NAME.match(name):
        raise AccountError("name: 2–64 letters, digits or _ . @ -")
    _check_role(role)
    _check_password(password)
    with _locked(root) as path:
        accounts = load_accounts(root)
        if name in accounts:
            raise AccountError(f"user {name!r} already exists")
        salt = secrets.token_bytes(16)
        accounts[name] = {
            "role": role,
            "salt": salt.hex(),
            "hash": _hash(password, salt).hex(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _save(path, accounts)


def remove_user(root: Path, name: str) -> None:
    with _locked(root) as path:
        accounts = load_accounts(root)
        if accounts.pop(name, None) is None:
            raise AccountError(f"no user {name!r}")
        _save(path, accounts)


def set_role(root: Path, name: str, role: str) -> None:
    _check_role(role)
    with _locked(root) as path:
        accounts = load_accounts(root)
        if name not in accounts:
            raise AccountError(f"no user {name!r}")
        accounts[name]["role"] = role
        _save(path, accounts)


def set_password(root: Path, name: str, password: str) -> None:
    _check_password(password)
    with _locked(root) as path:
        accounts = load_accounts(root)
        if name not in accounts:
            raise AccountError(f"no user {name!r}")
        salt = secrets.token_bytes(16)
        accounts[name]["salt"] = salt.hex()
        accounts[name]["hash"] = _hash(password, salt).hex()
        _save(path, accounts)


class RateLimiter:
    """Failed sign-ins per key (account name or client address) in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S):
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.max_failures for k in keys if k)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                if key:
                    self._recent(key, now).append(now)

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


LIMITER = RateLimiter()
_DUMMY_SALT = secrets.token_bytes(16)


def authenticate(
    root: Path, name: str, password: str, client: str = "", limiter: RateLimiter = LIMITER
) -> Actor | None:
    """The account's Actor when the password matches; None otherwise or while locked out.
    Unknown names cost the same scrypt work, so timing does not reveal which names exist."""
    account_key, client_key = f"user:{name}", f"client:{client}" if client else ""
    if limiter.blocked(account_key, client_key):
        return None
    account = load_accounts(root).get(name)
    salt = bytes.fromhex(account["salt"]) if account else _DUMMY_SALT
    expected = bytes.fromhex(account["hash"]) if account else b"\0" * SCRYPT["dklen"]
    matches = hmac.compare_digest(_hash(password, salt), expected)
    if account and matches:
        limiter.clear(account_key)
        return Actor(name, account["role"])
    limiter.fail(account_key, client_key)
    return None


def is_locked_out(name: str, client: str = "", limiter: RateLimiter = LIMITER) -> bool:
    return limiter.blocked(f"user:{name}", f"client:{client}" if client else "")
