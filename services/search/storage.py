"""The search service's Elasticsearch store: writes and queries of the per-city indexes."""

import functools
import logging
import time
from datetime import date

import elastic_transport
from elasticsearch import ApiError, BadRequestError, ConflictError, NotFoundError

from cities_common.errors import InvalidInput, NotFound, StoreUnavailable
from services.search import queries
from services.search.documents import (
    interests_matching, opportunity_document, with_distance,
)
from services.search.indexes import CityIndexes
from services.search.schemas import DEFAULT_RADIUS_KM, encode_cursor

logger = logging.getLogger(__name__)

# Queries fail fast, so the gateway returns 503 well within its own 10 s deadline.
QUERY_TIMEOUT_SECONDS = 4
# How long a point in time stays open after the page that last used it. A reader
# who waits longer gets the next page from a new point in time.
PIT_KEEP_ALIVE = "2m"
LAST_SHARD_DOC = 2**63 - 1
# Statuses with which Elasticsearch reports that it is overloaded or not ready.
UNAVAILABLE_STATUSES = {429, 502, 503, 504}


# During an outage every query fails, so the warning is logged at most this often.
OUTAGE_WARNING_SECONDS = 10.0
# Maximum number of stale sites deleted per organisation update. An organisation
# has at most 500 locations (``OrganizationSchema`` in the catalog).
MAX_STALE_SITES = 500


class OutageLog:
    """Log Elasticsearch failures once per interval, with the count of those skipped."""

    def __init__(self, interval: float = OUTAGE_WARNING_SECONDS):
        self.interval = interval
        self.logged_at = -interval
        self.skipped = 0

    def warning(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self.logged_at < self.interval:
            self.skipped += 1
            return
        logger.warning(message + " (%s similar failures not logged)", *args, self.skipped)
        self.logged_at = now
        self.skipped = 0


outage_log = OutageLog()


def translate_errors(method):
    """Raise ``StoreUnavailable`` when Elasticsearch is unreachable or overloaded."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (elastic_transport.ConnectionError,
                elastic_transport.ConnectionTimeout) as exc:
            outage_log.warning("Elasticsearch is unreachable: %s", exc)
            raise StoreUnavailable("the search index is unreachable; retry later") \
                from exc
        except ApiError as exc:
            if exc.status_code not in UNAVAILABLE_STATUSES:
                raise
            outage_log.warning("Elasticsearch rejected a request with %s: %s",
                               exc.status_code, exc)
            raise StoreUnavailable("the search index is overloaded or starting; "
                                   "retry later") from exc

    return wrapper


class SearchStore:
    """Index and query a city's opportunities and provider sites.

    Writes use the catalog's version as an external version, so Elasticsearch
    itself rejects a replayed or out-of-order change that carries an older or
    equal version. A withdrawn opportunity stays indexed as a tombstone (see
    ``opportunity_document``), which keeps its version and so blocks an older
    ``published`` event from bringing it back.
    """

    def __init__(self, client, prefix: str):
        self.client = client
        self.reader = client.options(request_timeout=QUERY_TIMEOUT_SECONDS,
                                     max_retries=1, retry_on_timeout=False)
        self.indexes = CityIndexes(client, prefix)

    def alias(self, kind: str, city: str) -> str:
        return self.indexes.alias(kind, city)

    def ensure_city(self, city: str) -> None:
        self.indexes.ensure_city(city)

    def remove_city(self, city: str) -> list[str]:
        """Delete the city's indexes and aliases; see ``CityIndexes.remove_city``."""
        return self.indexes.remove_city(city)

    # Writes

    def index_opportunity(self, opportunity: dict) -> bool:
        """Index an opportunity at its version; return False when that version or a
        newer one is indexed already."""
        city = opportunity["city"]
        live = self.indexes.alias("opportunities", city)
        document = opportunity_document(opportunity)
        written = True
        for target in self.indexes.write_targets(city):
            try:
                self._write(target, document)
            except ConflictError:
                written = written and target != live
            except NotFoundError:
                if target != live:
                    continue  # a rebuild removed its staging alias meanwhile
                # The live index was deleted: create an empty one and write again.
                logger.warning("alias %s is missing; creating it again", target)
                self.indexes.ensure_city(city, force=True)
                try:
                    self._write(target, document)
                except ConflictError:
                    written = False
        return written

    def _write(self, alias: str, document: dict) -> None:
        # require_alias stops Elasticsearch from creating an index named after a
        # missing alias.
        self.client.index(index=alias, id=document["id"], document=document,
                          version=document["version"], version_type="external",
                          require_alias=True)

    def bulk_index(self, target: str, opportunities: list[dict],
                   require_alias: bool = True, missing_ok: bool = False) -> dict:
        """Write opportunities at their versions into ``target`` in one bulk request.

        Returns counts of ``indexed`` and ``stale`` documents (those whose version,
        or a newer one, is indexed already), and of ``missing`` ones when
        ``missing_ok`` accepts that the target alias no longer exists. Raises
        ``RuntimeError`` on any other failure.
        """
        operations = []
        for opportunity in opportunities:
            document = opportunity_document(opportunity)
            operations.append({"index": {"_index": target, "_id": document["id"],
                                         "version": document["version"],
                                         "version_type": "external"}})
            operations.append(document)
        counts = {"indexed": 0, "stale": 0, "missing": 0}
        if not operations:
            return counts
        response = self.client.bulk(operations=operations, require_alias=require_alias)
        for item in response["items"]:
            status = item["index"]["status"]
            if status in (200, 201):
                counts["indexed"] += 1
            elif status == 409:
                counts["stale"] += 1
            elif status == 404 and missing_ok:
                counts["missing"] += 1
            else:
                raise RuntimeError(f"indexing {item['index']['_id']} into {target} "
                                   f"failed: {item['index'].get('error')}")
        return counts

    def delete_opportunity(self, city: str, opportunity_id: str) -> None:
        """Delete a document from every write target; missing ones are ignored."""
        for target in self.indexes.write_targets(city):
            try:
                self.client.delete(index=target, id=opportunity_id)
            except NotFoundError:
                pass

    def indexed_ids(self, city: str, page_size: int = 5000):
        """Yield (id, version) of every document behind the live alias, in id order."""
        after = None
        while True:
            body = {"size": page_size, "sort": [{"id": "asc"}], "_source": ["version"],
                    "query": {"match_all": {}}}
            if after:
                body["search_after"] = after
            hits = self.client.search(index=self.alias("opportunities", city),
                                      **body)["hits"]["hits"]
            for hit in hits:
                yield hit["_id"], hit["_source"]["version"]
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]

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
            response = self.client.bulk(operations=operations, require_alias=True)
            failed = [item for item in response["items"]
                      if item["index"].get("status") not in (200, 201, 409)]
            if failed:
                raise RuntimeError(f"indexing sites failed: {failed[0]['index']}")
        current = [operation["id"] for operation in operations[1::2]]
        self._delete_stale_sites(alias, organization, current)
        return len(current)

    def _delete_stale_sites(self, alias: str, organization: dict,
                            current: list[str]) -> None:
        """Delete the organisation's sites from older versions, such as a removed
        location. The integ-test-zip server has no ``_delete_by_query``, so this
        searches for them and deletes them by id."""
        # The search may still see the old version of a site just written, because
        # the index refreshes once a second, so the ids written now are excluded.
        query = {"bool": {
            "filter": [{"term": {"organization_id": organization["id"]}},
                       {"range": {"version": {"lt": organization["version"]}}}],
            "must_not": [{"ids": {"values": current}}]}}
        hits = self.client.search(index=alias, query=query, size=MAX_STALE_SITES,
                                  source=False)["hits"]["hits"]
        if hits:
            self.client.bulk(operations=[{"delete": {"_index": alias, "_id": hit["_id"]}}
                                         for hit in hits])
            logger.info("deleted %s sites of organisation %s older than version %s",
                        len(hits), organization["id"], organization["version"])

    # Queries

    @translate_errors
    def count(self, city: str) -> dict:
        """Return how many published opportunities and sites the city's indexes hold."""
        counts = {}
        for kind in ("opportunities", "sites"):
            query = queries.PUBLISHED if kind == "opportunities" else None
            try:
                counts[kind] = self.reader.count(index=self.alias(kind, city),
                                                 query=query)["count"]
            except NotFoundError:
                counts[kind] = 0
        return counts

    @translate_errors
    def search(self, city: str, request: dict, today: date) -> dict:
        """Run a validated ``SearchRequestSchema`` query for the city."""
        body = queries.search_body(request, today)
        response = self._search(city, body, request)
        hits = response["hits"]["hits"]
        lat, lon = request.get("lat"), request.get("lon")
        results = []
        for hit in hits:
            document = hit["_source"]["document"]
            result = with_distance(dict(document), document.get("locations") or [],
                                   lat, lon)
            result["highlights"] = hit.get("highlight", {})
            results.append(result)
        page_full = len(hits) == request["page_size"]
        next_cursor = None
        if hits and page_full:
            next_cursor = encode_cursor(request["sort"], hits[-1]["sort"],
                                        response.get("pit_id"))
        return {
            "total": response["hits"]["total"]["value"],
            "sort": request["sort"],
            "results": results,
            "facets": queries.facet_counts(response.get("aggregations", {})),
            "next_cursor": next_cursor,
        }

    def _search(self, city: str, body: dict, request: dict) -> dict:
        """Run a first page on the city's alias, and later pages in a point in time.

        A first page opens nothing. The second page opens a point in time, and every
        page after it reads the same one, so results do not move between pages
        while the catalog changes. When the point in time has expired, or a rebuild
        replaced its index, the next page opens a new one.
        """
        alias = self.alias("opportunities", city)
        try:
            if not request.get("cursor"):
                return self.reader.search(index=alias, **body)
            return self._search_in_point_in_time(alias, body, request.get("pit"))
        except BadRequestError as exc:
            if request.get("cursor"):
                # The cursor's values do not fit the sort's field types.
                raise InvalidInput({"cursor": ["is not a cursor returned by a "
                                               "previous page of this search"]},
                                   "invalid search") from exc
            raise
        except NotFoundError as exc:
            raise StoreUnavailable(f"the search index of {city} is missing; an "
                                   "operator must run the search resync") from exc

    def _search_in_point_in_time(self, alias: str, body: dict, pit: str | None) -> dict:
        if pit:
            try:
                return self.reader.search(pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                                          **body)
            except NotFoundError:
                logger.debug("point in time expired; opening a new one on %s", alias)
        if len(body.get("search_after") or ()) == 2:
            # A search in a point in time sorts by ``_shard_doc`` last, ascending.
            # A cursor from a first page has no value for it. Ids never tie, so
            # the largest long places the cursor after the hit it names.
            body = {**body, "search_after": [*body["search_after"], LAST_SHARD_DOC]}
        pit = self.reader.open_point_in_time(index=alias,
                                             keep_alive=PIT_KEEP_ALIVE)["id"]
        return self.reader.search(pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE}, **body)

    @translate_errors
    def related(self, city: str, opportunity_id: str, size: int) -> dict:
        """Return opportunities related to one published opportunity of the city."""
        alias = self.alias("opportunities", city)
        try:
            source = self.reader.get(index=alias, id=opportunity_id)
        except NotFoundError as exc:
            raise NotFound(f"opportunity {opportunity_id!r} not found in {city}") \
                from exc
        if source["_source"].get("status") != "published":
            raise NotFound(f"opportunity {opportunity_id!r} in {city} is not published")
        document = source["_source"]["document"]
        body = queries.related_body({**source["_source"], "id": opportunity_id},
                                    source["_index"], size)
        hits = self.reader.search(index=alias, **body)["hits"]["hits"]
        origin = (document.get("locations") or [None])[0]
        results = []
        for hit in hits:
            result = dict(hit["_source"]["document"])
            if origin is None:
                result["distance"] = None
            else:
                with_distance(result, result.get("locations") or [], origin["lat"],
                              origin["lon"])
            results.append(result)
        return {"opportunity_id": opportunity_id, "results": results}

    @translate_errors
    def autocomplete(self, city: str, prefix: str, size: int) -> dict:
        """Suggest titles and interests that start with ``prefix`` (or a word of them)."""
        response = self.reader.search(index=self.alias("opportunities", city),
                                      **queries.autocomplete_body(prefix, size))
        suggest = response.get("suggest", {})
        titles, seen_titles = [], set()
        for option in _options(suggest, "titles"):
            title = option["_source"]["title"]
            if title.casefold() in seen_titles:
                continue
            seen_titles.add(title.casefold())
            titles.append({"title": title, "id": option["_source"]["id"]})
        interests = []
        for option in _options(suggest, "interests"):
            for slug in interests_matching(option["text"],
                                           option["_source"].get("interests") or []):
                if slug not in interests:
                    interests.append(slug)
        return {"prefix": prefix, "titles": titles[:size], "interests": interests[:size]}

    @translate_errors
    def search_sites(self, city: str, request: dict) -> dict:
        """Search provider sites by text and distance from a point."""
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
        response = self.reader.search(
            index=self.alias("sites", city), size=request["page_size"], sort=sort,
            query={"bool": {"must": must, "filter": filters}}, track_total_hits=True,
        )
        results = []
        for hit in response["hits"]["hits"]:
            site = hit["_source"]
            results.append(with_distance(site, [site["location"]], lat, lon))
        return {"total": response["hits"]["total"]["value"], "results": results}


def _options(suggest: dict, name: str) -> list[dict]:
    entries = suggest.get(name) or []
    return entries[0]["options"] if entries else []
