"""数据快照 Snapshots & audit: batches and versions of every dataset, roll back a batch, restore
a version, download the raw file a batch came from, and the audit log."""

import streamlit as st

from civindex import audit, ingest
from civindex.i18n import t
from civindex.ingest import views
from civindex.ingest.report import markdown_literal as literal
from civindex.schema import DATASETS
from civindex.store import StoreError
from civindex.ui.access import current_actor
from civindex.ui.context import current, in_background

AUDIT_SHOWN = 1000  # the newest events; 管理 (admin) filters and exports them all
PENDING = "_snapshots_pending"  # ("rollback", upload_id) or ("restore", dataset, version)

context = current()
store = context.store
actor, _mode = current_actor(store.root)
st.title(t("snapshots.heading"))
st.caption(t("snapshots.intro"))
if not actor.can("analyst"):
    st.warning(t("auth.read_only"), icon=":material/lock:")
    st.stop()
if message := st.session_state.pop("_snapshots_done", None):
    st.success(message, icon=":material/check_circle:")


def confirm(text: str, action) -> None:
    """A second, explicit click before anything changes."""
    st.warning(text, icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button(t("snapshots.confirm"), type="primary", key="w_confirm"):
        st.session_state.pop(PENDING, None)
        try:
            st.session_state["_snapshots_done"] = action()
        except (StoreError, PermissionError) as error:
            st.error(literal(str(error)), icon=":material/error:")
            return
        st.rerun()
    if no.button(t("snapshots.cancel"), key="w_cancel"):
        st.session_state.pop(PENDING, None)
        st.rerun()


# The three tabs' log reads side by side: Delta logs and the audit file are read without the
# GIL. The versions tab reads the dataset its picker holds (the first on a first run).
shown = st.session_state.get("w_versions_ds")
shown = shown if shown in DATASETS else next(iter(DATASETS))
reads = {
    "batches": in_background(store.batches),
    "version": in_background(store.version, shown),
    "history": in_background(store.history, shown),
    "audit": in_background(audit.read, store.root),
}
batches_tab, versions_tab, audit_tab = st.tabs(
    [t("snapshots.tab.batches"), t("snapshots.tab.versions"), t("snapshots.tab.audit")]
)
pending = st.session_state.get(PENDING)

with batches_tab:
    batches = reads["batches"].result()
    if not batches:
        st.info(t("snapshots.no_batches"), icon=":material/inbox:")
    else:
        st.dataframe(views.batches_frame(batches), hide_index=True, width="stretch")
        by_id = {b["upload_id"]: b for b in batches}
        chosen = st.selectbox(
            t("snapshots.batch"),
            list(by_id),
            format_func=lambda u: t(
                "snapshots.batch_label",
                upload_id=u,
                dataset=views.dataset_label(by_id[u]["dataset"]),
                rows=f"{by_id[u]['rows']:,}",
            ),
            key="w_snapshots_batch",
        )
        batch = by_id[chosen]
        left, right = st.columns(2)
        if not batch["rolled_back"] and left.button(
            t("snapshots.rollback"), icon=":material/undo:", key="w_rollback"
        ):
            st.session_state[PENDING] = pending = ("rollback", chosen)
        raw = ingest.archived_file(store.root, batch["sha256"], batch["source_name"])
        if raw is not None:
            right.download_button(  # read on the click, not on every run: it may be 200 MB
                t("snapshots.download_raw"),
                lambda batch=batch: ingest.raw_file_bytes(store.root, batch, actor),
                file_name=raw.name,
                icon=":material/download:",
                on_click="ignore",
                key="w_download_raw",
            )
        if pending and pending[0] == "rollback" and pending[1] == chosen:
            confirm(
                t("snapshots.rollback.confirm", upload_id=chosen, rows=f"{batch['rows']:,}"),
                lambda: t(
                    "snapshots.rolled_back",
                    upload_id=chosen,
                    versions=", ".join(
                        f"{c.dataset} v{c.version}"
                        for c in ingest.rollback(store, chosen, user=actor)
                    ),
                ),
            )

with versions_tab:
    name = st.selectbox(
        t("upload.dataset"), list(DATASETS), format_func=views.dataset_label, key="w_versions_ds"
    )
    current_version = reads["version"].result() if name == shown else store.version(name)
    if current_version is None:
        st.info(t("snapshots.no_versions"), icon=":material/inbox:")
    else:
        history = reads["history"].result() if name == shown else store.history(name)
        st.dataframe(views.history_frame(history), hide_index=True, width="stretch")
        version = st.number_input(
            t("snapshots.version"), 0, current_version, current_version, key="w_restore_version"
        )
        if st.button(t("snapshots.restore"), icon=":material/history:", key="w_restore"):
            st.session_state[PENDING] = pending = ("restore", name, int(version))
        if pending and pending[0] == "restore" and pending[1] == name:
            confirm(
                t(
                    "snapshots.restore.confirm",
                    version=pending[2],
                    dataset=views.dataset_label(name),
                ),
                lambda: t(
                    "snapshots.restored",
                    version=pending[2],
                    new=ingest.restore(store, name, pending[2], user=actor).version,
                ),
            )

with audit_tab:
    events = reads["audit"].result()
    if events.empty:
        st.info(t("snapshots.no_audit"), icon=":material/inbox:")
    else:
        if len(events) > AUDIT_SHOWN:  # a year of sign-ins and exports is ~50k events
            st.caption(t("snapshots.audit.latest", shown=AUDIT_SHOWN, total=len(events)))
        log = views.audit_frame(events.tail(AUDIT_SHOWN))
        st.dataframe(log, hide_index=True, width="stretch")
