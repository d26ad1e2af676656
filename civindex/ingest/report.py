"""The validation report: every problem of a file at once, with the row as Excel shows it.

A problem is (row, column, value, problem, suggestion, severity). Only errors block a publish;
warnings and notes tell the analyst what was assumed. A check that fails on many rows lists the
first `LISTED_PER_CHECK` of them and one summary line, so a 1M-row file with a systematic
mistake gives a readable report and bounded memory, while the counts stay exact.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from civindex.export import to_csv_bytes
from civindex.i18n import t

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
LISTED_PER_CHECK = 200
FIELDS = ("row", "column", "value", "problem", "suggestion", "severity")


Text = str | Sequence[str] | Callable[[str], str]


def _text(text: Text, position: int, value: str) -> str:
    if isinstance(text, str):
        return text
    if callable(text):
        return text(value)
    return text[position]


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str
    value: str
    problem: str
    suggestion: str
    severity: str


class Report:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.counts: Counter[str] = Counter()

    @property
    def errors(self) -> int:
        return self.counts[ERROR]

    @property
    def warnings(self) -> int:
        return self.counts[WARNING]

    def add(
        self,
        severity: str,
        problem: str,
        *,
        row: int | None = None,
        column: str = "",
        value: str = "",
        suggestion: str = "",
    ) -> None:
        self.counts[severity] += 1
        self.problems.append(Problem(row, column, value, problem, suggestion, severity))

    def add_rows(
        self,
        severity: str,
        rows: np.ndarray,
        values: Sequence[str],
        *,
        column: str,
        problem: Text,
        suggestion: Text = "",
    ) -> None:
        """One problem per row, listing at most LISTED_PER_CHECK. `values` and list-valued
        `problem` / `suggestion` are aligned with the listed rows; a callable gets the value."""
        total = len(rows)
        if not total:
            return
        self.counts[severity] += total
        listed = zip(rows[:LISTED_PER_CHECK], values[:LISTED_PER_CHECK], strict=False)
        for position, (row, value) in enumerate(listed):
            value = "" if value is None else str(value)
            self.problems.append(
                Problem(
                    int(row),
                    column,
                    value,
                    _text(problem, position, value),
                    _text(suggestion, position, value),
                    severity,
                )
            )
        if total > LISTED_PER_CHECK:
            text = _text(problem, 0, "")
            self.problems.append(
                Problem(
                    None,
                    column,
                    "",
                    t("ingest.more_rows", n=f"{total - LISTED_PER_CHECK:,}", problem=text),
                    "",
                    severity,
                )
            )

    def frame(self) -> pd.DataFrame:
        """Errors first, then warnings and notes, each by row."""
        frame = pd.DataFrame([p.__dict__ for p in self.problems], columns=list(FIELDS))
        frame["row"] = frame["row"].astype("Int64")
        order = frame["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
        frame = frame.assign(_order=order).sort_values(["_order", "row"], kind="stable")
        return frame.drop(columns="_order").reset_index(drop=True)

    def display_frame(self) -> pd.DataFrame:
        """The report with headers and severities in the active language."""
        frame = self.frame()
        frame["severity"] = frame["severity"].map(lambda s: t(f"ingest.severity.{s}"))
        return frame.rename(columns={f: t(f"ingest.report.{f}") for f in FIELDS})

    def csv_bytes(self) -> bytes:
        """The report as CSV that Excel opens (UTF-8 with BOM, formulas neutralised)."""
        return to_csv_bytes(self.display_frame())

    def text(self) -> str:
        """One line per problem, for the command line."""
        lines = []
        for p in self.frame().itertuples(index=False):
            row = t("ingest.report.row_n", row=p.row) if not pd.isna(p.row) else "-"
            parts = [t(f"ingest.severity.{p.severity}"), row, p.column, p.value, p.problem]
            if p.suggestion:
                parts.append(p.suggestion)
            lines.append(" | ".join(str(x) for x in parts if x != ""))
        return "\n".join(lines)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def markdown_literal(text: str) -> str:
    """Text from an upload made safe to put inside a markdown message: shown, never rendered."""
    return _MARKDOWN.sub(r"\\\1", str(text))
