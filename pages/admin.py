"""管理 Admin: accounts and roles, the audit log with its CSV export, the reference lists.
Every change goes through civindex.admin and civindex.reference_admin, which check the role
themselves and write the audit lines; this page only gathers choices and shows results."""

from datetime import date

import streamlit as st

from civindex import admin, auth, config, reference_admin
from civindex.i18n import t
from civindex.ingest.report import markdown_literal as literal
from civindex.ui.access import current_actor
from civindex.ui.context import current

AUDIT_SHOWN = 2000  # rows in the table; the CSV export has every event the filters keep
DONE = "_admin_done"
PENDING = "_admin_remove"

context = current()
root = context.store.root
actor, mode = current_actor(root)
st.title(t("admin.heading"))
st.caption(t("admin.intro"))
if not actor.can("admin"):
    st.warning(
        t("auth.denied", action=t("page.admin"), role=t("role.admin")), icon=":material/lock:"
    )
    st.stop()
if message := st.session_state.pop(DONE, None):
    st.success(message, icon=":material/check_circle:")


def attempt(change, done) -> None:
    """Run a change; on success show `done` (text, or made from the change's result) after a
    rerun, else every reason it was refused."""
    try:
        result = change()
    except (auth.AccountError, auth.AccessDenied, reference_admin.ReferenceRefused) as error:
        problems = getattr(error, "problems", [str(error)])
        st.error("\n".join(f"- {literal(p)}" for p in problems), icon=":material/error:")
        return
    st.session_state[DONE] = done(result) if callable(done) else done
    st.rerun()


def role_label(role: str) -> str:
    return t(f"role.{role}")


def password_submitted(prefix: str, submit: str) -> str | None:
    """A form's two password fields and its submit button: the password once both match."""
    first = st.text_input(
        t("admin.accounts.password"), type="password", key=f"w_admin_{prefix}_password"
    )
    again = st.text_input(
        t("admin.accounts.password_again"), type="password", key=f"w_admin_{prefix}_again"
    )
    if not st.form_submit_button(submit):
        return None
    if first != again:
        st.error(t("admin.accounts.mismatch"))
        return None
    return first


accounts_tab, audit_tab, reference_tab = st.tabs(
    [t("admin.tab.accounts"), t("admin.tab.audit"), t("admin.tab.reference")]
)

with accounts_tab:
    if mode == "oidc":
        st.info(t("admin.accounts.oidc"), icon=":material/key:")
    accounts = admin.accounts(root, actor)
    if accounts.empty:
        st.info(t("admin.accounts.none"), icon=":material/group:")
        if mode == "desktop":
            st.caption(t("admin.accounts.desktop"))
    else:
        st.dataframe(
            accounts.assign(role=accounts["role"].map(role_label)),
            column_config={c: t(f"admin.accounts.col.{c}") for c in accounts.columns},
            hide_index=True,
        )
    with (
        st.expander(t("admin.accounts.add"), icon=":material/person_add:"),
        st.form("admin_add", clear_on_submit=True, border=False),
    ):
        name = st.text_input(t("admin.accounts.name"), key="w_admin_new_name")
        role = st.selectbox(
            t("admin.accounts.role"), auth.ROLES, format_func=role_label, key="w_admin_role"
        )
        password = password_submitted("new", t("admin.accounts.submit_add"))
        if password is not None:
            attempt(
                lambda: admin.add_account(root, actor, name.strip(), role, password),
                t("admin.accounts.added", name=name.strip(), role=role_label(role)),
            )
    if not accounts.empty:
        chosen = st.selectbox(t("admin.accounts.pick"), accounts["name"], key="w_admin_account")
        current_role = accounts.set_index("name").loc[chosen, "role"]
        left, right = st.columns(2)
        with left:
            new_role = st.selectbox(
                t("admin.accounts.role"),
                auth.ROLES,
                index=auth.ROLES.index(current_role),
                format_func=role_label,
                key=f"w_admin_set_role_{chosen}",
            )
            if st.button(t("admin.accounts.set_role"), key="w_admin_set_role"):
                attempt(
                    lambda: admin.set_account_role(root, actor, chosen, new_role),
                    t("admin.accounts.role_set", name=chosen, role=role_label(new_role)),
                )
            if st.button(t("admin.accounts.remove"), icon=":material/delete:", key="w_admin_rm"):
                st.session_state[PENDING] = chosen
            if st.session_state.get(PENDING) == chosen:
                st.warning(t("admin.accounts.remove_confirm", name=chosen))
                yes, no = st.columns(2)
                if yes.button(t("admin.confirm"), type="primary", key="w_admin_rm_yes"):
                    st.session_state.pop(PENDING)
                    attempt(
                        lambda: admin.remove_account(root, actor, chosen),
                        t("admin.accounts.removed", name=chosen),
                    )
                if no.button(t("admin.cancel"), key="w_admin_rm_no"):
                    st.session_state.pop(PENDING)
                    st.rerun()
        with right, st.form("admin_reset", clear_on_submit=True, border=False):
            password = password_submitted("reset", t("admin.accounts.reset"))
            if password is not None:
                attempt(
                    lambda: admin.reset_password(root, actor, chosen, password),
                    t("admin.accounts.reset_done", name=chosen),
                )

with audit_tab:
    actions, users = admin.audit_choices(root, actor)
    left, middle, right = st.columns(3)
    filters = {
        "actions": left.multiselect(
            t("admin.audit.actions"), actions, format_func=admin.action_label, key="w_audit_a"
        ),
        "users": middle.multiselect(t("admin.audit.users"), users, key="w_audit_u"),
    }
    period = right.date_input(t("admin.audit.period"), value=(), key="w_audit_period")
    if isinstance(period, date):
        period = (period,)
    filters["start"] = period[0] if len(period) > 0 else None
    filters["end"] = period[1] if len(period) > 1 else filters["start"]
    log = admin.audit_log(root, actor, **filters)
    if log.empty:
        st.info(t("admin.audit.none"), icon=":material/inbox:")
    else:
        st.caption(t("admin.audit.count", n=len(log)))
        if len(log) > AUDIT_SHOWN:  # a year of sign-ins and exports is ~50k events
            st.caption(t("admin.audit.newest", shown=AUDIT_SHOWN, total=len(log)))
        shown = log.head(AUDIT_SHOWN)
        st.dataframe(
            shown.assign(action=shown["action"].map(admin.action_label)),
            column_config={c: t(f"snapshots.audit.{c}") for c in admin.audit.COLUMNS},
            hide_index=True,
        )
        st.download_button(
            t("admin.audit.csv"),
            data=lambda: admin.audit_csv(root, actor, **filters),
            file_name=f"audit_{date.today():%Y%m%d}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="w_audit_csv",
        )

with reference_tab:
    kind = st.selectbox(
        t("admin.reference.list"),
        reference_admin.KINDS,
        format_func=lambda k: t(f"admin.reference.kind.{k}"),
        key="w_reference_kind",
    )
    shown = reference_admin.current(kind, root)
    in_data_dir = config.reference_dir(root) == root / "reference"
    source = "admin.reference.source.data" if in_data_dir else "admin.reference.source.committed"
    st.caption(t(source, rows=len(shown)))
    st.dataframe(shown, hide_index=True)
    st.download_button(
        t("admin.reference.download"),
        data=lambda: reference_admin.download(kind, root, actor),
        file_name=f"{kind}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="w_reference_download",
    )
    counter = st.session_state.setdefault("_admin_uploader", 0)
    uploaded = st.file_uploader(
        t("admin.reference.upload"), type=["csv", "xlsx"], key=f"w_reference_{kind}_{counter}"
    )
    if uploaded is not None:
        content = uploaded.getvalue()
        checked = reference_admin.check(kind, content, uploaded.name, root)
        if not checked.ok:
            problems = "\n".join(f"- {literal(p)}" for p in checked.problems)
            st.error(f"{t('admin.reference.refused')}\n\n{problems}", icon=":material/error:")
        else:
            first, *codes = checked.summary()
            st.info(first, icon=":material/difference:")
            for line in codes:
                st.caption(literal(line))
            if st.button(t("admin.reference.replace"), type="primary", key="w_reference_go"):

                def replaced(result: reference_admin.Replaced) -> str:
                    st.session_state["_admin_uploader"] = counter + 1  # a fresh, empty uploader
                    return result.message()

                attempt(
                    lambda: reference_admin.replace(
                        kind, content, uploaded.name, actor=actor, root=root
                    ),
                    replaced,
                )
    with st.expander(t("admin.reference.history"), icon=":material/history:"):
        kept = reference_admin.history(kind, root)
        if not kept:
            st.caption(t("admin.reference.history.none"))
        else:
            st.dataframe(
                {t("admin.reference.history.file"): [p.name for p in kept]}, hide_index=True
            )
