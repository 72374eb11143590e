"""Per-row access to mapped fields, and the rejections and warnings a row raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .mapping import SourceMapping
from .model import Rejection, RowWarning, shorten_value
from .reading import SourceRow
from .text import Repair


class RowRejected(Exception):
    """Raised by a field parser to reject the current row."""

    def __init__(self, field: str, value: object, reason_code: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason_code = reason_code
        self.reason = reason


@dataclass
class MappedRow:
    """A source row read through a mapping: fields by their document name."""

    row: SourceRow
    mapping: SourceMapping
    source_id: str | None = None
    warnings: list[RowWarning] = field(default_factory=list)

    def get(self, name: str) -> str:
        """Return the field's column value, else its constant, else ''."""
        column = self.mapping.columns.get(name)
        if column is not None:
            return self.row.values.get(column, "")
        constant = self.mapping.constants.get(name)
        return "" if constant is None else str(constant)

    def column(self, *names: str) -> str:
        """Return the source column(s) behind fields, for messages."""
        return ",".join(self.mapping.columns.get(name, name) for name in names)

    def raw(self, column: str) -> str:
        return self.row.values.get(column, "")

    def reject(
        self, field_name: str | tuple[str, ...], value: object, code: str, reason: str
    ) -> Any:
        """Raise RowRejected; ``field_name`` may be a tuple of field names."""
        raise RowRejected(self._columns(field_name), value, code, reason)

    def _columns(self, field_name: str | tuple[str, ...]) -> str:
        if isinstance(field_name, str):
            return self.column(field_name)
        return self.column(*field_name)

    def make_warning(
        self, field_name: str | tuple[str, ...], value: object, code: str, reason: str
    ) -> RowWarning:
        """Return a warning about this row without recording it."""
        return RowWarning(
            source=self.mapping.source,
            file=self.row.file,
            line=self.row.line,
            source_id=self.source_id,
            field=self._columns(field_name),
            value=shorten_value(value),
            reason_code=code,
            reason=reason,
        )

    def warn(
        self, field_name: str | tuple[str, ...], value: object, code: str, reason: str
    ) -> None:
        self.warnings.append(self.make_warning(field_name, value, code, reason))

    def check_field_count(self) -> None:
        """Reject a CSV record whose field count differs from the header's."""
        if not self.row.field_count_ok:
            raise RowRejected(
                "*",
                ",".join(self.row.values.values()),
                "malformed_row",
                "The record has a different number of fields than the header, "
                "so its columns cannot be trusted.",
            )

    def warn_repairs(
        self, field_name: str, value: object, repairs: Iterable[Repair]
    ) -> None:
        for repair in repairs:
            self.warn(field_name, value, repair.code, repair.message)

    def rejection(self, error: RowRejected) -> Rejection:
        return Rejection(
            source=self.mapping.source,
            file=self.row.file,
            line=self.row.line,
            source_id=self.source_id,
            field=error.field,
            value=shorten_value(error.value),
            reason_code=error.reason_code,
            reason=error.reason,
        )
