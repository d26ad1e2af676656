"""数据上传 Upload: an office file → header mapping → validation report → preview → publish.
The pipeline is civindex.ingest; this page only gathers choices and shows its results."""

import streamlit as st

from civindex import ingest
from civindex.i18n import language, t
from civindex.ingest import views
from civindex.ingest.headers import IGNORE
from civindex.ingest.report import markdown_literal as literal
from civindex.schema import DATASETS
from civindex.ui.access import current_actor
from civindex.ui.context import current

STATE = "_upload"  # {"key", "prepared": Prepared, "preview_key", "preview", "mapping", "audited"}

context = current()
store = context.store
actor, _mode = current_actor(store.root)
st.title(t("upload.heading"))
st.caption(t("upload.intro"))
if not actor.can("analyst"):
    st.warning(t("auth.read_only"), icon=":material/lock:")
    st.stop()

state = st.session_state.setdefault(STATE, {"mapping": {}, "audited": set(), "uploader": 0})
if done := state.pop("published", None):
    st.success(t("upload.published", **done), icon=":material/check_circle:")
    st.page_link("pages/overview.py", label=t("upload.to_overview"), icon=":material/dashboard:")

left, right = st.columns([2, 1])
dataset = left.selectbox(
    t("upload.dataset"), list(DATASETS), format_func=views.dataset_label, key="w_upload_dataset"
)
right.download_button(
    t("upload.template"),
    views.template_csv(dataset),
    file_name=f"{dataset}_template.csv",
    mime="text/csv",
    icon=":material/download:",
)
uploaded = st.file_uploader(
    t("upload.file"),
    type=["csv", "txt", "tsv", "xlsx", "xls"],
    help=t("upload.file.help"),
    key=f"w_upload_file_{state['uploader']}",
)
if uploaded is None:
    st.info(t("upload.waiting"), icon=":material/upload_file:")
    st.stop()

content = uploaded.getvalue()
if len(content) > ingest.MAX_UPLOAD_BYTES:  # the server option can be changed; check anyway
    st.error(t("ingest.read.too_large", limit=ingest.MAX_UPLOAD_BYTES // 2**20))
    st.stop()
if state.get("file_id") != uploaded.file_id:  # hashed once per file, not on every rerun
    sha = ingest.pipeline.sha256_of(content)
    if state.get("sha") != sha:
        state["mapping"] = {}
    state.update(file_id=uploaded.file_id, sha=sha)
sha = state["sha"]
sheets = ingest.sheet_names(content, uploaded.name)
sheet = st.selectbox(t("upload.sheet"), sheets, key="w_upload_sheet") if len(sheets) > 1 else None

key = (sha, dataset, sheet, tuple(sorted(state["mapping"].items())), language())
if state.get("key") != key:
    bar = st.progress(0.0, text=t("ingest.progress.decode"))
    state["prepared"] = ingest.prepare(
        content,
        uploaded.name,
        dataset,
        sheet=sheet,
        mapping=state["mapping"],
        store=store,
        progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message),
    )
    state["key"] = key
    bar.empty()
prepared: ingest.Prepared = state["prepared"]
st.caption(" · ".join(f"{k}: {literal(v)}" for k, v in views.summary(prepared).items()))

if prepared.match is not None:
    with st.expander(t("upload.mapping"), expanded=bool(prepared.match.unmatched)):
        st.dataframe(views.mapping_frame(prepared.match), hide_index=True, width="stretch")
        for header in views.unmapped_headers(prepared.match):
            options = [IGNORE, *views.assignable_columns(prepared.match, header)]
            current_choice = state["mapping"].get(header, IGNORE)
            choice = st.selectbox(
                t("upload.map_column", header=literal(header)),
                options,
                index=options.index(current_choice) if current_choice in options else 0,
                format_func=lambda c: views.column_label(dataset, c) if c else t("upload.ignore"),
                key=f"w_map_{sha[:8]}_{header}",
            )
            if choice != current_choice:
                state["mapping"][header] = choice
                st.rerun()

report = prepared.report
columns = st.columns(3)
columns[0].metric(t("upload.rows"), f"{prepared.row_count:,}")
columns[1].metric(t("upload.errors"), f"{report.errors:,}")
columns[2].metric(t("upload.warnings"), f"{report.warnings:,}")
if report.problems:
    st.subheader(t("upload.report"))
    st.dataframe(
        report.display_frame(),
        hide_index=True,
        width="stretch",
        column_config={
            t("ingest.report.row"): st.column_config.NumberColumn(width="small"),
            t("ingest.report.problem"): st.column_config.TextColumn(width="large"),
            t("ingest.report.suggestion"): st.column_config.TextColumn(width="large"),
        },
    )
    st.download_button(
        t("upload.report.download"),
        report.csv_bytes,  # made on the click: a file with many problems has a long report
        file_name=f"{ingest.safe_name(uploaded.name).rsplit('.', 1)[0]}_report.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
if prepared.likely_dataset:
    st.button(
        t("upload.switch_dataset", dataset=views.dataset_label(prepared.likely_dataset)),
        on_click=st.session_state.update,
        kwargs={"w_upload_dataset": prepared.likely_dataset},
        icon=":material/swap_horiz:",
    )
if not prepared.ok:
    if key not in state["audited"]:
        ingest.record_rejection(store.root, prepared, actor)
        state["audited"].add(key)
    st.error(t("upload.fix_and_retry"), icon=":material/error:")
    st.stop()

st.subheader(t("upload.preview"))
choice = st.session_state.get("w_upload_overlap", "cancel")
# Kept across reruns while the file, its choices and the published data stay the same: the
# preview runs the dashboard's queries over every row, ~0.7 s for 300k rows into 10M.
snapshot = store.snapshot()
preview_key = (key, tuple(sorted(snapshot.items())), choice)
if state.get("preview_key") != preview_key:
    state["preview"] = ingest.preview(
        store, dataset, prepared.table, snapshot=snapshot, replace_overlap=choice == "replace"
    )
    state["preview_key"] = preview_key
result: ingest.Preview = state["preview"]
st.dataframe(views.by_month_unit_frame(result.by_month_unit), hide_index=True, width="stretch")
st.dataframe(ingest.format_changes(result.changes), hide_index=True, width="stretch")

replace = False
if result.overlap_rows:
    st.warning(
        t(
            "upload.overlap",
            rows=f"{result.overlap_rows:,}",
            batches="、".join(literal(b) for b in result.overlap_batches),
        ),
        icon=":material/warning:",
    )
    replace = (
        st.radio(
            t("upload.overlap.choice"),
            ["cancel", "replace"],
            format_func=lambda c: t(f"upload.overlap.{c}"),
            key="w_upload_overlap",
            horizontal=True,
        )
        == "replace"
    )

if st.button(
    t("upload.publish"),
    type="primary",
    disabled=bool(result.overlap_rows) and not replace,
    icon=":material/publish:",
):
    try:
        commit = ingest.publish(prepared, store, user=actor, replace_overlap=replace)
    except ingest.IngestError as error:
        st.error(literal(str(error)), icon=":material/error:")
    else:
        state.update(
            published={
                "upload_id": commit.upload_id,
                "rows": f"{commit.rows:,}",
                "version": commit.version,
            },
            key=None,
            prepared=None,
            preview_key=None,
            preview=None,
            uploader=state["uploader"] + 1,
        )
        st.rerun()
