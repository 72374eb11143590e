"""Deleting an archived city's indexes, and an organisation's stale sites, over a
small fake of the Elasticsearch client that records each call."""

from elasticsearch import NotFoundError

from services.search.indexes import CityIndexes
from services.search.storage import SearchStore
from tests.unit.search.test_search_store import api_error


class RecordingIndices:
    def __init__(self, aliases):
        self.aliases = aliases  # alias -> concrete index
        self.deleted = []

    def get_alias(self, name):
        if name not in self.aliases:
            raise api_error(NotFoundError, 404, "aliases_not_found_exception")
        return {self.aliases[name]: {"aliases": {name: {}}}}

    def delete(self, index, ignore_unavailable=False):
        self.deleted.append(index)
        for alias, target in list(self.aliases.items()):
            if target == index:
                del self.aliases[alias]


class RecordingClient:
    def __init__(self, aliases=None, stale_hits=()):
        self.indices = RecordingIndices(dict(aliases or {}))
        self.stale_hits = list(stale_hits)
        self.bulks = []
        self.searches = []

    def options(self, **kwargs):
        return self

    def bulk(self, operations, require_alias=False):
        self.bulks.append(operations)
        return {"items": [{"index": {"status": 201}}
                          for operation in operations[::2] if "index" in operation]}

    def search(self, index, query, size, source):
        self.searches.append({"index": index, "query": query})
        return {"hits": {"hits": [{"_id": identifier} for identifier in self.stale_hits]}}


ALIASES = {
    "col-opportunities-springfield": "col-opportunities-springfield_2",
    "col-opportunities-springfield_rebuild": "col-opportunities-springfield_3",
    "col-sites-springfield": "col-sites-springfield_1",
    "col-opportunities-shelbyville": "col-opportunities-shelbyville_1",
    "col-sites-shelbyville": "col-sites-shelbyville_1",
}


def test_remove_city_deletes_only_its_indexes():
    client = RecordingClient(ALIASES)
    indexes = CityIndexes(client, "col-")
    indexes._ready.update({"springfield", "shelbyville"})
    deleted = indexes.remove_city("springfield")
    assert deleted == ["col-opportunities-springfield_2",
                       "col-opportunities-springfield_3", "col-sites-springfield_1"]
    assert sorted(client.indices.deleted) == deleted
    assert sorted(client.indices.aliases) == ["col-opportunities-shelbyville",
                                              "col-sites-shelbyville"]
    assert indexes._ready == {"shelbyville"}


def test_remove_city_without_indexes():
    client = RecordingClient(ALIASES)
    assert CityIndexes(client, "col-").remove_city("ogdenville") == []
    assert client.indices.deleted == []


def organization(locations, version):
    return {"id": "org-1", "city": "springfield", "name": "Robot Lab", "kind": "museum",
            "version": version,
            "locations": [{"name": name, "lat": 39.78, "lon": -89.65}
                          for name in locations]}


def test_index_site_deletes_stale_sites():
    client = RecordingClient(stale_hits=["org-1-1"])
    store = SearchStore(client, "col-")
    assert store.index_site(organization(["Hall"], version=5)) == 1
    search = client.searches[0]
    assert search["index"] == "col-sites-springfield"
    bool_query = search["query"]["bool"]
    assert {"term": {"organization_id": "org-1"}} in bool_query["filter"]
    assert {"range": {"version": {"lt": 5}}} in bool_query["filter"]
    assert bool_query["must_not"] == [{"ids": {"values": ["org-1-0"]}}]
    assert client.bulks[-1] == [{"delete": {"_index": "col-sites-springfield",
                                            "_id": "org-1-1"}}]


def test_index_site_without_stale_sites():
    client = RecordingClient()
    store = SearchStore(client, "col-")
    assert store.index_site(organization(["Hall", "Annex"], version=2)) == 2
    assert len(client.bulks) == 1
