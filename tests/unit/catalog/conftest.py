"""Fixtures for the import tests: every source imported once per session.

The tests read the real public files copied under ``data/real``; see
``data/real/PROVENANCE.md`` for where each came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.catalog.importing import ImportResult, load_source

# The catalog service's fixtures, shared with tests/unit/test_catalog_service.py.
from tests.unit.catalog.fixtures import (  # noqa: F401
    catalog_db, catalog_for, chicago, published,
)

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"


@pytest.fixture(scope="session")
def import_results() -> dict[str, ImportResult]:
    """Return the import result of every mapping, keyed by mapping file stem."""
    paths = sorted((DATA_ROOT / "mappings").glob("*.yml"))
    return {path.stem: load_source(path) for path in paths}


@pytest.fixture(scope="session")
def interest_slugs() -> list[str]:
    with open(DATA_ROOT / "interests.json", encoding="utf-8") as handle:
        return [entry["slug"] for entry in json.load(handle)]
