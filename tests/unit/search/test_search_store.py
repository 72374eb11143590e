"""SearchStore over a small in-memory fake of the Elasticsearch client.

The fake keeps the client's method names and raises the client's own exception
classes, so these tests pin the store's write order, version handling and error
translation. The real server is exercised by tests/e2e/test_search_*.py.
"""

import elastic_transport
import pytest
from elasticsearch import ApiError, ConflictError, NotFoundError

from cities_common.errors import StoreUnavailable
from services.search.storage import OutageLog, SearchStore


def api_error(cls, status, error):
    meta = elastic_transport.ApiResponseMeta(status, "1.1", {}, 0.0, None)
    return cls(error, meta, {"error": {"type": error}})


class FakeIndices:
    def __init__(self, client):
        self.client = client

    def exists_alias(self, name):
        return name in self.client.aliases

    def get_alias(self, name):
        if name not in self.client.aliases:
            raise api_error(NotFoundError, 404, "aliases_not_found_exception")
        return {self.client.aliases[name]: {"aliases": {name: {}}}}

    def get_mapping(self, index):
        return {index: {"mappings": {"_meta": {"mapping_version": 99}}}}

    def create(self, index, settings, mappings, aliases):
        self.client.created.append(index)
        for alias in aliases:
            self.client.aliases[alias] = index


class FakeClient:
    """Documents per concrete index with external versions, behind aliases."""

    def __init__(self, aliases=None, down=False):
        self.aliases = dict(aliases or {})
        self.documents: dict[str, dict] = {}
        self.writes: list[str] = []
        self.created: list[str] = []
        self.down = down
        self.indices = FakeIndices(self)

    def options(self, **kwargs):
        return self

    def index(self, index, id, document, version, version_type, require_alias):
        self.writes.append(index)
        if index not in self.aliases:
            raise api_error(NotFoundError, 404, "index_not_found_exception")
        stored = self.documents.setdefault(self.aliases[index], {})
        if id in stored and stored[id]["version"] >= version:
            raise api_error(ConflictError, 409, "version_conflict_engine_exception")
        stored[id] = document

    def search(self, **kwargs):
        if self.down:
            raise elastic_transport.ConnectionError("connection refused")
        return {"hits": {"hits": [], "total": {"value": 0}}}

    def count(self, **kwargs):
        raise api_error(ApiError, 503, "cluster_block_exception")


def published(version, **changes):
    return {"id": "opp-1", "city": "dallas", "status": "published", "version": version,
            "title": "Robot Club", "provider": {"name": "Library"},
            "format": "in_person", "locations": [], **changes}


LIVE = "col-opportunities-dallas"
STAGING = "col-opportunities-dallas_rebuild"


def test_store_index_rejects_older_version():
    client = FakeClient({LIVE: f"{LIVE}_1"})
    store = SearchStore(client, "col-")
    assert store.index_opportunity(published(3)) is True
    assert store.index_opportunity(published(2, title="Old")) is False
    assert client.documents[f"{LIVE}_1"]["opp-1"]["title"] == "Robot Club"


def test_store_index_rejects_replayed_version():
    store = SearchStore(FakeClient({LIVE: f"{LIVE}_1"}), "col-")
    assert store.index_opportunity(published(3)) is True
    assert store.index_opportunity(published(3)) is False


def test_store_withdrawal_leaves_tombstone():
    client = FakeClient({LIVE: f"{LIVE}_1"})
    store = SearchStore(client, "col-")
    store.index_opportunity(published(3))
    store.index_opportunity(published(4, status="withdrawn"))
    assert store.index_opportunity(published(3)) is False
    assert client.documents[f"{LIVE}_1"]["opp-1"] == {
        "id": "opp-1", "city": "dallas", "status": "withdrawn", "version": 4}


def test_store_writes_staging_before_live():
    client = FakeClient({LIVE: f"{LIVE}_1", STAGING: f"{LIVE}_2"})
    store = SearchStore(client, "col-")
    assert store.index_opportunity(published(5)) is True
    assert client.writes == [STAGING, LIVE]
    assert client.documents[f"{LIVE}_2"]["opp-1"]["version"] == 5
    assert client.documents[f"{LIVE}_1"]["opp-1"]["version"] == 5


def test_store_staging_conflict_still_writes_live():
    client = FakeClient({LIVE: f"{LIVE}_1", STAGING: f"{LIVE}_2"})
    client.documents[f"{LIVE}_2"] = {"opp-1": published(5)}
    store = SearchStore(client, "col-")
    assert store.index_opportunity(published(5)) is True
    assert client.documents[f"{LIVE}_1"]["opp-1"]["version"] == 5


def test_store_recreates_lost_alias():
    client = FakeClient({})
    store = SearchStore(client, "col-")
    store.indexes._ready.add("dallas")  # the index existed, then was deleted
    assert store.index_opportunity(published(2)) is True
    assert f"{LIVE}_1" in client.created
    assert client.documents[f"{LIVE}_1"]["opp-1"]["version"] == 2


def test_store_search_unreachable_is_unavailable():
    store = SearchStore(FakeClient({LIVE: f"{LIVE}_1"}, down=True), "col-")
    with pytest.raises(StoreUnavailable, match="retry later"):
        store.autocomplete("dallas", "rob", 5)


def test_store_overloaded_is_unavailable():
    store = SearchStore(FakeClient({LIVE: f"{LIVE}_1"}), "col-")
    with pytest.raises(StoreUnavailable):
        store.count("dallas")


def test_store_generation_names():
    indexes = SearchStore(FakeClient(), "t1-col-").indexes
    assert indexes.index_name("opportunities", "dallas", 3) == \
        "t1-col-opportunities-dallas_3"
    assert indexes.generation_of("opportunities", "dallas",
                                 "t1-col-opportunities-dallas_12") == 12
    assert indexes.generation_of("opportunities", "dallas",
                                 "t1-col-opportunities-dallas-v1") == 1
    assert indexes.staging_alias("dallas") == "t1-col-opportunities-dallas_rebuild"


def test_outage_log_skips_repeats(caplog):
    log = OutageLog(interval=60)
    with caplog.at_level("WARNING", logger="services.search.storage"):
        for attempt in range(3):
            log.warning("Elasticsearch is unreachable: %s", attempt)
    assert len(caplog.records) == 1
    assert log.skipped == 2
