"""Who is using the app: OIDC (st.login) when configured, local accounts, or desktop mode.

- `[auth]` in secrets: OIDC via st.login; roles from `<data dir>/accounts/oidc_roles.toml`.
- Otherwise local accounts (salted scrypt) with a sign-in form.
- No account at all and the server on loopback only: the local user is admin (desktop mode).
- Anyone not signed in is a viewer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamlit as st

from civindex import auth
from civindex.auth import ANONYMOUS, Actor
from civindex.i18n import t

ACTOR_KEY = "_civindex_actor"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def server_is_loopback() -> bool:
    return str(st.get_option("server.address") or "") in LOOPBACK


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def client_address() -> str:
    try:
        address = st.context.ip_address
    except Exception:
        return ""
    return address if isinstance(address, str) else ""


def oidc_role(root: Path, email: str, groups: list[str]) -> str:
    path = root / "accounts" / "oidc_roles.toml"
    if not path.exists():
        return "viewer"
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    roles = [config.get("emails", {}).get(email, "")]
    roles += [config.get("groups", {}).get(group, "") for group in groups]
    roles = [r for r in roles if r in auth.ROLES]
    default = config.get("default", "viewer")
    return max(roles, key=auth.ROLES.index) if roles else default


def current_actor(root: Path) -> tuple[Actor, str]:
    """The actor of this session and the mode: oidc, account, desktop or anonymous."""
    if oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            email = str(st.user.get("email", ""))
            groups = list(st.user.get("groups", []) or [])
            return Actor(email, oidc_role(root, email, groups), via="oidc"), "oidc"
        return ANONYMOUS, "oidc"
    accounts = auth.load_accounts(root)
    signed_in: Actor | None = st.session_state.get(ACTOR_KEY)
    if signed_in is not None:
        account = accounts.get(signed_in.name)
        if account is None:
            del st.session_state[ACTOR_KEY]
        else:
            return Actor(signed_in.name, account["role"]), "account"
    if not accounts and server_is_loopback():
        return Actor("local", "admin", via="desktop"), "desktop"
    return ANONYMOUS, "anonymous"


def _sign_in(root: Path) -> None:
    name = st.session_state.get("w_sign_in_name", "").strip()
    password = st.session_state.get("w_sign_in_password", "")
    client = client_address()
    from civindex import audit

    if auth.is_locked_out(name, client):
        st.session_state["_sign_in_error"] = t("auth.locked")
        audit.record(root, "sign_in", name, outcome="locked", client=client)
        return
    actor = auth.authenticate(root, name, password, client)
    st.session_state["w_sign_in_password"] = ""
    if actor is None:
        st.session_state["_sign_in_error"] = t("auth.failed")
        audit.record(root, "sign_in", name, outcome="failed", client=client)
        return
    st.session_state[ACTOR_KEY] = actor
    st.session_state.pop("_sign_in_error", None)
    audit.record(root, "sign_in", name, outcome="ok", client=client, role=actor.role)


def _sign_out(root: Path) -> None:
    actor = st.session_state.pop(ACTOR_KEY, None)
    if actor is not None:
        from civindex import audit

        audit.record(root, "sign_out", actor.name, outcome="ok")


def account_box(root: Path, actor: Actor, mode: str) -> None:
    """Sidebar: who is signed in, and a sign-in or sign-out control."""
    with st.sidebar:
        if mode == "desktop":
            st.info(t("auth.desktop"), icon=":material/computer:")
            return
        if mode == "oidc":
            if actor is ANONYMOUS:
                st.button(t("auth.sign_in_oidc"), on_click=st.login, key="w_oidc_login")
            else:
                st.caption(t("auth.signed_in", name=actor.name, role=t(f"role.{actor.role}")))
                st.button(t("auth.sign_out"), on_click=st.logout, key="w_oidc_logout")
            return
        if actor is not ANONYMOUS:
            st.caption(t("auth.signed_in", name=actor.name, role=t(f"role.{actor.role}")))
            st.button(t("auth.sign_out"), on_click=_sign_out, args=(root,), key="w_sign_out")
            return
        with st.expander(t("auth.sign_in"), icon=":material/login:"):
            with st.form("sign_in", clear_on_submit=False, border=False):
                st.text_input(t("auth.name"), key="w_sign_in_name")
                st.text_input(t("auth.password"), type="password", key="w_sign_in_password")
                st.form_submit_button(t("auth.submit"), on_click=_sign_in, args=(root,))
            if error := st.session_state.get("_sign_in_error"):
                st.error(error)
