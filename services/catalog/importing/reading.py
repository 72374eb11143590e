"""Read source files into rows that remember where they came from."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from .exceptions import SourceFileError


@dataclass(frozen=True)
class SourceRow:
    """One record of a source file.

    ``line`` is the physical line on which a CSV record starts (the header is
    line 1; a quoted description can make a record span many lines). For JSON
    it is the record's 1-based position in the top-level list.
    ``field_count_ok`` is False when a CSV record has more or fewer fields than
    the header, which is how broken comma-split exports show up.
    """

    file: str
    line: int
    values: dict[str, str]
    field_count_ok: bool = True


def _open_text(path: Path) -> TextIO:
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SourceFileError(f"cannot open source file {path}: {exc}") from exc


def _csv_header(path: Path) -> list[str]:
    with _open_text(path) as handle:
        try:
            header = next(csv.reader(handle), None)
        except UnicodeDecodeError as exc:
            raise SourceFileError(
                f"source file {path} is not valid UTF-8: {exc}"
            ) from exc
    if header is None:
        raise SourceFileError(f"source file {path} is empty")
    return header


def _csv_rows(path: Path, display_name: str) -> Iterator[SourceRow]:
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
            next_line = reader.line_num + 1
            for record in reader:
                start_line = next_line
                next_line = reader.line_num + 1
                if not record:
                    continue
                values = dict(zip(header, record, strict=False))
                for column in header[len(record) :]:
                    values[column] = ""
                yield SourceRow(
                    display_name, start_line, values, len(record) == len(header)
                )
        except UnicodeDecodeError as exc:
            raise SourceFileError(
                f"source file {path} is not valid UTF-8 after line "
                f"{reader.line_num}: {exc}"
            ) from exc


def _json_records(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SourceFileError(f"cannot read JSON source file {path}: {exc}") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceFileError(f"JSON source file {path} must contain a list of objects")
    return records


def _json_header(records: list[dict]) -> list[str]:
    """Return the union of keys in order of first appearance."""
    header: list[str] = []
    for record in records:
        header += [key for key in record if key not in header]
    return header


def _as_text(value: object) -> str:
    """Return a JSON value as the text a CSV cell would contain: null is ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _json_rows(path: Path, display_name: str) -> Iterator[SourceRow]:
    records = _json_records(path)
    header = _json_header(records)
    for position, record in enumerate(records, start=1):
        values = {column: _as_text(record.get(column)) for column in header}
        yield SourceRow(display_name, position, values)


def read_header(path: Path, file_format: str) -> list[str]:
    """Return the column names of a CSV or JSON source file."""
    if file_format == "json":
        return _json_header(_json_records(path))
    return _csv_header(path)


def read_rows(path: Path, display_name: str, file_format: str) -> Iterator[SourceRow]:
    """Yield the records of a UTF-8 CSV file, or of a JSON list of flat objects.

    JSON values become strings, with null as '' and booleans as '1'/'0', so
    both formats go through the same field parsers.
    """
    if file_format == "json":
        return _json_rows(path, display_name)
    return _csv_rows(path, display_name)
