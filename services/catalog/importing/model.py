"""Result types of an import: documents, rejected rows and repaired rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .text import remove_emails

MAX_VALUE_CHARS = 80


def shorten_value(value: object) -> str:
    """Return ``value`` as a short, printable excerpt for a rejection or warning.

    E-mail addresses are removed, U+FFFD is shown as "[U+FFFD]" and the text is
    cut to 80 characters, ending in … when cut.
    """
    text = "" if value is None else str(value)
    text, _ = remove_emails(text)
    text = text.replace("\ufffd", "[U+FFFD]")
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return text[: MAX_VALUE_CHARS - 1] + "…"


@dataclass(frozen=True)
class RowIssue:
    """A finding about one source row.

    ``line`` is the physical line on which the record starts, counting the CSV
    header as line 1 (for JSON sources, the record's 1-based position).
    ``field`` names the source column, or several joined by commas.
    """

    source: str
    file: str
    line: int
    source_id: str | None
    field: str
    value: str
    reason_code: str
    reason: str


@dataclass(frozen=True)
class Rejection(RowIssue):
    """A row that produced no document and was folded into none."""


@dataclass(frozen=True)
class RowWarning(RowIssue):
    """A row that was repaired or partly dropped but still reached a document."""


@dataclass
class ImportResult:
    """Documents built from one source, with every row accounted for.

    Each row read is counted exactly once: as the row that created a document,
    as a merged row (folded into a document another row created, or replaced
    by a later row with the same ``source_id``), or as a rejection. The tests
    in ``tests/unit/catalog/test_import_sources.py`` check the totals.
    """

    source: str
    city: str
    kind: str
    documents: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    rows_read: int = 0
    merged_rows: int = 0

    def summary(self) -> dict[str, Any]:
        """Return the row counts, with rejections and warnings by reason code."""
        rejected = Counter(item.reason_code for item in self.rejected)
        warnings = Counter(item.reason_code for item in self.warnings)
        return {
            "source": self.source,
            "city": self.city,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "documents": len(self.documents),
            "merged_rows": self.merged_rows,
            "rejected": len(self.rejected),
            "rejected_by_reason": dict(sorted(rejected.items())),
            "warnings": len(self.warnings),
            "warnings_by_reason": dict(sorted(warnings.items())),
        }
