"""The search service's Elasticsearch store: one index per city behind an alias."""

import logging

from elasticsearch import ConflictError, NotFoundError

from services.search.documents import opportunity_document, with_distance
from services.search.mappings import INDEX_SETTINGS, OPPORTUNITY_MAPPING, SITE_MAPPING
from services.search.schemas import DEFAULT_RADIUS_KM, decode_cursor, encode_cursor

logger = logging.getLogger(__name__)


class SearchStore:
    """Index and query a city's opportunities and provider sites.

    Writes use the catalog's version as an external version, so Elasticsearch
    itself rejects a replayed or out-of-order event that carries an older version.
    A withdrawn opportunity stays indexed as a tombstone with ``status: withdrawn``,
    which keeps its version and so blocks an older ``published`` event from bringing
    it back; queries only return ``status: published``.
    """

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix
        self._ready: set[str] = set()

    def alias(self, kind: str, city: str) -> str:
        return f"{self.prefix}{kind}-{city}"

    def ensure_city(self, city: str) -> None:
        """Create the city's indexes and aliases unless they exist; idempotent."""
        if city in self._ready:
            return
        for kind, mapping in (("opportunities", OPPORTUNITY_MAPPING),
                              ("sites", SITE_MAPPING)):
            alias = self.alias(kind, city)
            if self.client.indices.exists_alias(name=alias):
                continue
            index = f"{alias}-v1"
            if not self.client.indices.exists(index=index):
                self.client.indices.create(index=index, settings=INDEX_SETTINGS,
                                           mappings=mapping,
                                           aliases={alias: {"is_write_index": True}})
                logger.info("created index %s", index)
        self._ready.add(city)

    def index_opportunity(self, opportunity: dict) -> bool:
        """Index an opportunity at its version; return False when a newer one is there."""
        alias = self.alias("opportunities", opportunity["city"])
        try:
            self.client.index(index=alias, id=opportunity["id"],
                              document=opportunity_document(opportunity),
                              version=opportunity["version"], version_type="external")
        except ConflictError:
            return False
        return True

    def index_site(self, organization: dict) -> int:
        """Index each location of an organisation as a site; return how many."""
        alias = self.alias("sites", organization["city"])
        operations = []
        for position, location in enumerate(organization.get("locations") or []):
            operations.append({"index": {"_index": alias,
                                         "_id": f"{organization['id']}-{position}",
                                         "version": organization["version"],
                                         "version_type": "external"}})
            operations.append({
                "id": f"{organization['id']}-{position}",
                "city": organization["city"],
                "organization_id": organization["id"],
                "organization": organization["name"],
                "kind": organization["kind"],
                "name": location.get("name") or organization["name"],
                "address": location.get("address"),
                "site_type": location.get("site_type"),
                "status": location.get("status"),
                "location": {"lat": location["lat"], "lon": location["lon"]},
                "version": organization["version"],
            })
        if operations:
            response = self.client.bulk(operations=operations)
            stale = [item for item in response["items"]
                     if item["index"].get("status") not in (200, 201, 409)]
            if stale:
                raise RuntimeError(f"indexing sites failed: {stale[0]['index']}")
        return len(operations) // 2

    def count(self, city: str) -> dict:
        """Return how many published opportunities and sites the city's indexes hold."""
        counts = {}
        for kind in ("opportunities", "sites"):
            query = {"term": {"status": "published"}} if kind == "opportunities" else None
            try:
                counts[kind] = self.client.count(index=self.alias(kind, city),
                                                 query=query)["count"]
            except NotFoundError:
                counts[kind] = 0
        return counts

    def search(self, city: str, request: dict) -> dict:
        """Run a validated ``SearchRequestSchema`` query for the city."""
        lat, lon = request.get("lat"), request.get("lon")
        body = {
            "query": self._query(request),
            "sort": self._sort(request),
            "size": request["page_size"],
            "track_total_hits": True,
            "highlight": {"fields": {"title": {}, "description": {"fragment_size": 160}},
                          "pre_tags": ["<em>"], "post_tags": ["</em>"]},
            "_source": ["document"],
        }
        if request.get("cursor"):
            body["search_after"] = decode_cursor(request["cursor"])
        response = self.client.search(index=self.alias("opportunities", city), **body)
        hits = response["hits"]["hits"]
        results = []
        for hit in hits:
            document = hit["_source"]["document"]
            result = with_distance(dict(document), document.get("locations") or [],
                                   lat, lon)
            result["highlights"] = hit.get("highlight", {})
            results.append(result)
        page_full = len(hits) == request["page_size"]
        return {
            "total": response["hits"]["total"]["value"],
            "results": results,
            "next_cursor": encode_cursor(hits[-1]["sort"]) if hits and page_full else None,
        }

    def search_sites(self, city: str, request: dict) -> dict:
        lat, lon = request.get("lat"), request.get("lon")
        filters = []
        must = [{"multi_match": {"query": request["q"],
                                 "fields": ["name^2", "organization", "address"]}}] \
            if request.get("q") else [{"match_all": {}}]
        sort = ["_score", {"id": "asc"}]
        if lat is not None:
            radius = request.get("radius_km") or DEFAULT_RADIUS_KM
            filters.append({"geo_distance": {"distance": f"{radius}km",
                                             "location": {"lat": lat, "lon": lon}}})
            sort = [{"_geo_distance": {"location": {"lat": lat, "lon": lon},
                                       "order": "asc", "unit": "km"}}, {"id": "asc"}]
        response = self.client.search(
            index=self.alias("sites", city), size=request["page_size"], sort=sort,
            query={"bool": {"must": must, "filter": filters}}, track_total_hits=True,
        )
        results = []
        for hit in response["hits"]["hits"]:
            site = hit["_source"]
            location = site["location"]
            results.append(with_distance(site, [location], lat, lon))
        return {"total": response["hits"]["total"]["value"], "results": results}

    @staticmethod
    def _query(request: dict) -> dict:
        filters: list[dict] = [{"term": {"status": "published"}}]
        if request.get("interests"):
            filters.append({"terms": {"interests": request["interests"]}})
        if request.get("free") is not None:
            filters.append({"term": {"free": request["free"]}})
        if request.get("format"):
            filters.append({"term": {"format": request["format"]}})
        if request.get("age") is not None:
            filters.append({"term": {"ages": request["age"]}})
        if request.get("lat") is not None:
            radius = request.get("radius_km") or DEFAULT_RADIUS_KM
            near = {"geo_distance": {"distance": f"{radius}km",
                                     "locations": {"lat": request["lat"],
                                                   "lon": request["lon"]}}}
            if request.get("include_online"):
                near = {"bool": {"should": [near, {"term": {"format": "online"}}],
                                 "minimum_should_match": 1}}
            filters.append(near)
        must = [{"multi_match": {
            "query": request["q"],
            "fields": ["title^3", "provider^2", "description", "location_names"],
        }}] if request.get("q") else [{"match_all": {}}]
        return {"bool": {"must": must, "filter": filters}}

    @staticmethod
    def _sort(request: dict) -> list:
        sort = request.get("sort")
        if sort is None:
            sort = "distance" if request.get("lat") is not None and not request.get("q") \
                else "relevance"
        if sort == "distance":
            return [{"_geo_distance": {"locations": {"lat": request["lat"],
                                                     "lon": request["lon"]},
                                       "order": "asc", "unit": "km"}}, {"id": "asc"}]
        if sort == "start_date":
            return [{"start_date": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
        return [{"_score": "desc"}, {"id": "asc"}]
