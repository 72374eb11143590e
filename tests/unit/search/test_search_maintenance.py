"""Rebuild and resync logic over fakes of the store and the catalog.

The fakes keep the method names that ``services.search.maintenance`` calls; the
real servers are exercised by tests/e2e/test_search_index.py.
"""

import pytest

from services.search.maintenance import rebuild, resync

LIVE = "col-opportunities-dallas"


class FakeIndexes:
    def __init__(self, store):
        self.store = store
        self.abandoned = []
        self.swapped = []

    def begin_rebuild(self, city, discard_stale=False):
        self.store.documents["new"] = {}
        return "new"

    def finish_rebuild(self, city, index):
        self.swapped.append(index)
        return ["old"]

    def abandon_rebuild(self, index):
        self.abandoned.append(index)

    def ensure_city(self, city, force=False):
        self.store.documents.setdefault(LIVE, {})

    def write_targets(self, city):
        return [LIVE]


class FakeStore:
    """Versioned documents per target, as Elasticsearch's external versions keep them."""

    def __init__(self, live=None, fail_on_write=False):
        self.documents = {LIVE: dict(live or {})}
        self.indexes = FakeIndexes(self)
        self.fail_on_write = fail_on_write
        self.deleted = []
        self.client = self
        self.indices = self

    def alias(self, kind, city):
        return LIVE

    def bulk_index(self, target, opportunities, require_alias=True, missing_ok=False):
        if self.fail_on_write:
            raise RuntimeError("indexing failed")
        counts = {"indexed": 0, "stale": 0, "missing": 0}
        stored = self.documents[target]
        for opportunity in opportunities:
            current = stored.get(opportunity["id"])
            if current and current["version"] >= opportunity["version"]:
                counts["stale"] += 1
            else:
                stored[opportunity["id"]] = opportunity
                counts["indexed"] += 1
        return counts

    def indexed_ids(self, city):
        for identifier, document in sorted(self.documents[LIVE].items()):
            yield identifier, document["version"]

    def delete_opportunity(self, city, opportunity_id):
        self.deleted.append(opportunity_id)
        del self.documents[LIVE][opportunity_id]

    def refresh(self, index):
        pass

    def count(self, city):
        return {"opportunities": len(self.documents[LIVE])}


class FakeCatalog:
    def __init__(self, records, page_size=2, created_meanwhile=()):
        self.records = sorted(records, key=lambda item: item["id"])
        self.page_size = page_size
        self.created_meanwhile = set(created_meanwhile)
        self.asked = []

    def pages(self, city):
        for start in range(0, len(self.records), self.page_size):
            yield self.records[start:start + self.page_size]

    def exists(self, city, opportunity_id):
        self.asked.append(opportunity_id)
        return opportunity_id in self.created_meanwhile


def opportunity(identifier, version):
    return {"id": identifier, "city": "dallas", "status": "published",
            "version": version, "title": identifier}


def test_rebuild_loads_every_page_and_swaps():
    store = FakeStore()
    catalog = FakeCatalog([opportunity(f"opp-{n}", 1) for n in range(5)])
    summary = rebuild(store, catalog, "dallas")
    assert set(store.documents["new"]) == {f"opp-{n}" for n in range(5)}
    assert store.indexes.swapped == ["new"]
    assert summary["catalog"] == 5
    assert summary["indexed"] == 5
    assert summary["replaced"] == ["old"]


def test_rebuild_failure_abandons_new_index():
    store = FakeStore(fail_on_write=True)
    catalog = FakeCatalog([opportunity("opp-1", 1)])
    with pytest.raises(RuntimeError):
        rebuild(store, catalog, "dallas")
    assert store.indexes.abandoned == ["new"]
    assert store.indexes.swapped == []


def test_resync_keeps_newer_indexed_version():
    store = FakeStore(live={"opp-1": opportunity("opp-1", 5)})
    catalog = FakeCatalog([opportunity("opp-1", 4), opportunity("opp-2", 1)])
    summary = resync(store, catalog, "dallas")
    assert store.documents[LIVE]["opp-1"]["version"] == 5
    assert store.documents[LIVE]["opp-2"]["version"] == 1
    assert summary["stale"] == 1
    assert summary["indexed"] == 1


def test_resync_removes_only_confirmed_orphans():
    store = FakeStore(live={"opp-gone": opportunity("opp-gone", 2),
                            "opp-new": opportunity("opp-new", 1)})
    catalog = FakeCatalog([opportunity("opp-1", 1)], created_meanwhile=["opp-new"])
    summary = resync(store, catalog, "dallas")
    assert store.deleted == ["opp-gone"]
    assert "opp-new" in store.documents[LIVE]
    assert sorted(catalog.asked) == ["opp-gone", "opp-new"]
    assert summary["removed"] == 1
    assert summary["published"] == 2
