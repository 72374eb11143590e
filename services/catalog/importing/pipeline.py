"""Entry points: import one mapped source, or every mapping in a folder."""

from __future__ import annotations

import logging
from itertools import chain
from pathlib import Path
from typing import Iterator

from .exceptions import MappingError, SourceFileError
from .interests import InterestMatcher
from .mapping import SourceMapping, load_mapping
from .model import ImportResult
from .opportunities import import_opportunities
from .organizations import import_organizations
from .reading import SourceRow, read_header, read_rows
from .reference import load_cities, load_interest_slugs

logger = logging.getLogger(__name__)


def _open_rows(mapping: SourceMapping, data_root: Path) -> Iterator[SourceRow]:
    """Check every file of the mapping and its columns, then chain their rows."""
    needed = set(mapping.columns.values())
    for rule in ("group_by", "tag_columns"):
        needed |= set(mapping.rule(rule) or [])
    needed |= set(mapping.rule("flag_tags") or {})

    for relative in mapping.files:
        path = data_root / relative
        if not path.is_file():
            raise SourceFileError(
                f"{mapping.path}: source file {relative} not found under {data_root}"
            )
        missing = sorted(needed - set(read_header(path, mapping.format)))
        if missing:
            raise SourceFileError(
                f"{relative} lacks column(s) {missing} named in {mapping.path.name}"
            )
    return chain.from_iterable(
        read_rows(data_root / relative, relative, mapping.format)
        for relative in mapping.files
    )


def load_source(mapping_path: Path, data_root: Path | None = None) -> ImportResult:
    """Import the source described by one mapping file.

    ``data_root`` contains ``cities.json``, ``interests.json`` and the files the
    mapping names; it defaults to the parent of the mapping file's folder.
    Raises MappingError or SourceFileError if the mapping or a file is unusable.
    A row that fails a rule is recorded in ``ImportResult.rejected`` instead.
    """
    mapping_path = Path(mapping_path)
    root = Path(data_root) if data_root is not None else mapping_path.parent.parent
    mapping = load_mapping(mapping_path)
    cities = load_cities(root)
    if mapping.city not in cities:
        raise MappingError(
            f"{mapping_path}: city {mapping.city!r} is not in {root / 'cities.json'}"
        )
    area = cities[mapping.city].service_area
    rows = _open_rows(mapping, root)

    result = ImportResult(mapping.source, mapping.city, mapping.kind)
    if mapping.kind == "opportunities":
        interests = InterestMatcher(mapping, load_interest_slugs(root))
        import_opportunities(mapping, rows, area, interests, result)
    else:
        import_organizations(mapping, rows, area, result)

    counts = result.summary()
    logger.info(
        "imported source %s for %s: %s rows, %s documents, %s merged, "
        "%s rejected, %s warnings",
        mapping.source,
        mapping.city,
        counts["rows_read"],
        counts["documents"],
        counts["merged_rows"],
        counts["rejected"],
        counts["warnings"],
    )
    return result


def load_all(mappings_dir: Path, data_root: Path | None = None) -> list[ImportResult]:
    """Import every ``*.yml`` mapping in ``mappings_dir``, in file-name order."""
    return [
        load_source(path, data_root)
        for path in sorted(Path(mappings_dir).glob("*.yml"))
    ]
