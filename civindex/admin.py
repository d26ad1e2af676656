"""What the 管理 page does with accounts and the audit log, as plain functions.

Each function takes the acting `Actor` and calls `auth.require(actor, "admin", …)` first, so a
page that forgot to hide a control still cannot change anything; every change and every refusal
leaves an audit line (the same actions the `users` command records).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from civindex import audit, auth, export
from civindex.auth import AccessDenied, AccountError, Actor
from civindex.i18n import catalogue, t

LOCAL_TIMEZONE = "Asia/Shanghai"


def _name(actor: Actor | str) -> str:
    return actor.name if isinstance(actor, Actor) else str(actor)


@contextmanager
def audited(root: Path, actor: Actor | str, action: str, **fields) -> Iterator[dict]:
    """Record the action as done, refused (AccessDenied) or failed (any other error); the block
    may add fields to the yielded dict (a row count known once done, another outcome)."""
    try:
        yield fields
    except AccessDenied as error:
        event = fields | {"outcome": "refused", "message": str(error)}
        audit.record(root, action, _name(actor), **event)
        raise
    except Exception as error:
        event = {"outcome": "failed", "message": str(error)} | fields
        audit.record(root, action, _name(actor), **event)
        raise
    audit.record(root, action, _name(actor), **({"outcome": "done"} | fields))


def action_label(action) -> str:
    """The action in the active language when the catalogue names it, else as recorded."""
    key = f"snapshots.action.{action}"
    return t(key) if key in catalogue() else str(action or "")


def accounts(root: Path, actor: Actor) -> pd.DataFrame:
    """One row per local account: name, role, created_at (never salts or hashes)."""
    auth.require(actor, "admin", "list accounts")
    rows = [
        {"name": name, "role": account["role"], "created_at": account.get("created_at", "")}
        for name, account in sorted(auth.load_accounts(root).items())
    ]
    return pd.DataFrame(rows, columns=["name", "role", "created_at"])


def _admins_left(root: Path, without: str) -> int:
    return sum(
        1
        for name, a in auth.load_accounts(root).items()
        if a["role"] == "admin" and name != without
    )


def add_account(root: Path, actor: Actor, name: str, role: str, password: str) -> None:
    with audited(root, actor, "users.add", target=name, role=role):
        auth.require(actor, "admin", "add an account")
        # The first account ends desktop mode; unless it is an admin, nobody could get back here.
        if not auth.load_accounts(root) and role != "admin":
            raise AccountError(t("admin.accounts.first_admin"))
        auth.add_user(root, name, role, password)


def set_account_role(root: Path, actor: Actor, name: str, role: str) -> None:
    with audited(root, actor, "users.set-role", target=name, role=role):
        auth.require(actor, "admin", "change a role")
        account = auth.load_accounts(root).get(name)
        demoted = account is not None and account["role"] == "admin" and role != "admin"
        if demoted and not _admins_left(root, without=name):
            raise AccountError(t("admin.accounts.last_admin"))
        auth.set_role(root, name, role)


def remove_account(root: Path, actor: Actor, name: str) -> None:
    with audited(root, actor, "users.remove", target=name):
        auth.require(actor, "admin", "remove an account")
        others = set(auth.load_accounts(root)) - {name}
        if others and not _admins_left(root, without=name):
            raise AccountError(t("admin.accounts.last_admin"))
        auth.remove_user(root, name)


def reset_password(root: Path, actor: Actor, name: str, password: str) -> None:
    with audited(root, actor, "users.passwd", target=name):
        auth.require(actor, "admin", "reset a password")
        auth.set_password(root, name, password)


def audit_log(
    root: Path,
    actor: Actor,
    *,
    actions: Sequence[str] = (),
    users: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Audit events, newest first, filtered by action, user and local calendar day (inclusive);
    `at` as local time text, fields no shown event uses left out."""
    auth.require(actor, "admin", "read the audit log")
    events = audit.read(root)
    local = events["at"].dt.tz_convert(LOCAL_TIMEZONE)
    keep = pd.Series(True, index=events.index)
    if actions:
        keep &= events["action"].isin(list(actions))
    if users:
        keep &= events["user"].isin(list(users))
    if start is not None:
        keep &= local >= pd.Timestamp(start, tz=LOCAL_TIMEZONE)
    if end is not None:
        keep &= local < pd.Timestamp(end + timedelta(days=1), tz=LOCAL_TIMEZONE)
    shown = events[keep].iloc[::-1].copy()
    shown["at"] = local[keep].iloc[::-1].dt.strftime("%Y-%m-%d %H:%M:%S")
    extra = [c for c in shown.columns if c not in audit.COLUMNS and shown[c].isna().all()]
    return shown.drop(columns=extra).reset_index(drop=True)


def audit_choices(root: Path, actor: Actor) -> tuple[list[str], list[str]]:
    """The actions and users the log holds, for the filters."""
    auth.require(actor, "admin", "read the audit log")
    events = audit.read(root)
    return (
        sorted(events["action"].dropna().unique()),
        sorted(events["user"].dropna().astype(str).unique()),
    )


def audit_csv(root: Path, actor: Actor, **filters) -> bytes:
    """The filtered log as CSV (formula-like cells neutralised); the export is audited too."""
    with audited(root, actor, "export.audit", file="audit.csv") as fields:
        frame = audit_log(root, actor, **filters)
        fields["rows"] = len(frame)
    return export.to_csv_bytes(frame)
