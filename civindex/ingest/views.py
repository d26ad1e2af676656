"""Tables the upload and snapshot pages show, built without Streamlit so they can be tested.

Every frame has its headers in the active language; cells hold uploaded text as plain data
(the pages show them with st.dataframe, which never renders HTML or markdown).
"""

from __future__ import annotations

import pandas as pd

from civindex import audit
from civindex.admin import LOCAL_TIMEZONE, action_label
from civindex.export import to_csv_bytes
from civindex.i18n import language, t
from civindex.ingest.headers import HeaderMatch
from civindex.ingest.pipeline import Prepared
from civindex.schema import DATASETS, RATING_LEVELS, dataset


def dataset_label(name: str) -> str:
    ds = dataset(name)
    return ds.label_en if language() == "en" else ds.label_zh


def column_label(dataset_name: str, column: str) -> str:
    col = dataset(dataset_name).column(column)
    return col.label_en if language() == "en" else col.label_zh


def template_csv(name: str) -> bytes:
    """An empty file with the Chinese headers of the dataset, ready to fill in Excel."""
    frame = pd.DataFrame(columns=[c.label_zh for c in dataset(name).columns])
    return to_csv_bytes(frame)


def mapping_frame(match: HeaderMatch) -> pd.DataFrame:
    """One row per column of the file: its header, what it became, and how."""
    manual = {k for k, v in match.manual.items() if v}
    records = []
    for index, header in enumerate(match.headers):
        target = match.source_of(index)
        if target is None:
            if index in match.ignored:
                status, shown = "ignored", ""
            elif any(index == i for i, _ in match.duplicates):
                status, shown = "duplicate", ""
            else:
                status, shown = "unmatched", ""
        elif target.startswith("level:"):
            level = int(target.split(":")[1])
            status, shown = "level", RATING_LEVELS[level][0 if language() == "zh" else 1]
        elif target in ("stated_rate", "stated_total"):
            status, shown = target, ""
        else:
            status = "manual" if header in manual else "matched"
            shown = column_label(match.dataset, target)
        records.append(
            {
                t("upload.mapping.header"): header,
                t("upload.mapping.column"): shown,
                t("upload.mapping.status"): t(f"upload.mapping.{status}"),
            }
        )
    return pd.DataFrame(records)


def unmapped_headers(match: HeaderMatch) -> list[str]:
    """Headers the analyst may map by hand: unrecognised ones and those mapped by hand before."""
    indices = sorted({*match.unmatched, *match.ignored})
    headers = [match.headers[i] for i in indices if match.headers[i]]
    manual = [h for h in match.manual if h in match.headers and h not in headers]
    return headers + manual


def assignable_columns(match: HeaderMatch, header: str) -> list[str]:
    """Columns still free for `header`, plus the one it is mapped to now."""
    taken = {name for name, i in match.columns.items() if match.headers[i] != header}
    return [c for c in dataset(match.dataset).column_names if c not in taken]


def by_month_unit_frame(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.drop(columns=["unit_code"]).copy()
    shown["month"] = pd.to_datetime(shown["month"]).dt.strftime("%Y-%m")
    return shown.rename(columns={c: t(f"upload.preview.{c}") for c in shown.columns})


def summary(prepared: Prepared) -> dict[str, str]:
    """Facts about how the file was read, for a caption."""
    raw = prepared.raw
    facts = {}
    if raw is not None:
        facts[t("upload.fact.kind")] = raw.kind.upper()
        if raw.encoding:
            facts[t("upload.fact.encoding")] = raw.encoding.upper()
        if raw.delimiter:
            shown = {"\t": "Tab", ",": ",", ";": ";", "|": "|"}[raw.delimiter]
            facts[t("upload.fact.delimiter")] = shown
        if raw.sheet:
            facts[t("upload.fact.sheet")] = raw.sheet
        facts[t("upload.fact.header_row")] = str(raw.header_row)
    facts[t("upload.fact.rows")] = f"{prepared.row_count:,}"
    if prepared.is_level_table:
        facts[t("upload.fact.level_table")] = t("upload.fact.yes")
    if prepared.skipped_blank or prepared.skipped_totals:
        facts[t("upload.fact.skipped")] = f"{prepared.skipped_blank + prepared.skipped_totals}"
    return facts


def batches_frame(entries: list[dict]) -> pd.DataFrame:
    """Published batches (`Store.batches`), newest first: who, when, file, rows, still live."""
    records = [
        {
            t("snapshots.col.dataset"): dataset_label(e["dataset"]),
            t("snapshots.col.upload_id"): e["upload_id"],
            t("snapshots.col.when"): _local(e["committed_at"]),
            t("snapshots.col.user"): e["user"],
            t("snapshots.col.file"): e["source_name"],
            t("snapshots.col.rows"): e["rows"],
            t("snapshots.col.version"): e["version"],
            t("snapshots.col.live"): t(
                "snapshots.live" if not e["rolled_back"] else "snapshots.gone"
            ),
        }
        for e in entries
    ]
    return pd.DataFrame(records)


def history_frame(entries: list[dict]) -> pd.DataFrame:
    """Every version of one dataset (`Store.history`), newest first, with what made it."""
    records = [
        {
            t("snapshots.col.version"): e["version"],
            t("snapshots.col.when"): _local(e["committed_at"]),
            t("snapshots.col.action"): action_label(e["action"]),
            t("snapshots.col.user"): e["user"],
            t("snapshots.col.upload_id"): e["upload_id"] or e["target"],
            t("snapshots.col.file"): e["source_name"],
            t("snapshots.col.rows"): e["rows"],
        }
        for e in entries
    ]
    return pd.DataFrame(records)


def audit_frame(log: pd.DataFrame) -> pd.DataFrame:
    """The audit log (`audit.read`), newest first, standard columns with localized headers.
    Column-wise: a year of events is ~50k rows, and a label per row took 0.6 s a run."""
    frame = log.iloc[::-1].reset_index(drop=True)
    local = frame["at"].dt.tz_convert(LOCAL_TIMEZONE).dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["at"] = local.fillna("")
    frame["action"] = _each_once(frame["action"], action_label)
    frame["dataset"] = _each_once(
        frame["dataset"], lambda n: dataset_label(n) if isinstance(n, str) and n in DATASETS else n
    )
    frame = frame[list(audit.COLUMNS)]
    return frame.rename(columns={c: t(f"snapshots.audit.{c}") for c in audit.COLUMNS})


def _local(moment) -> str:
    if moment is None or pd.isna(moment):
        return ""
    return pd.Timestamp(moment).tz_convert(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def _each_once(column: pd.Series, label) -> pd.Series:
    """`label` of every value, computed once per distinct value."""
    labels = {value: label(value) for value in column.dropna().unique()}
    return pd.Series(
        [labels.get(value, value) for value in column.tolist()], index=column.index, dtype=object
    )
