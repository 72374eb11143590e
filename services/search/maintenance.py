"""Rebuild and resync a city's opportunity index from the catalog.

The integ-test-zip server has no ``reindex`` module, so both operations read the
catalog over RPC, which owns the opportunities, and never copy one index into
another. Both write with the catalog's version as the external version, so an
event that changes an opportunity while they run is never overwritten by the
older copy they read: Elasticsearch keeps whichever version is higher.
"""

import logging
from typing import Iterator, Protocol

from nameko.standalone.rpc import ClusterRpcProxy

from cities_common.errors import NotFound
from services.search.storage import SearchStore

logger = logging.getLogger(__name__)

# The catalog's list_opportunities returns at most 1,000 records per call.
CATALOG_PAGE_SIZE = 1000
RPC_TIMEOUT_SECONDS = 60


class Catalog(Protocol):
    """The catalog reads that rebuild and resync make."""

    def pages(self, city: str) -> Iterator[list[dict]]:
        """Yield every opportunity of the city, whatever its status, in id order."""

    def exists(self, city: str, opportunity_id: str) -> bool:
        """Return whether the catalog has the opportunity."""


class RpcCatalog:
    """Read the catalog service over nameko RPC, as a standalone client."""

    def __init__(self, amqp_uri: str, page_size: int = CATALOG_PAGE_SIZE):
        self.config = {"AMQP_URI": amqp_uri}
        self.page_size = page_size

    def pages(self, city: str) -> Iterator[list[dict]]:
        with ClusterRpcProxy(self.config, context_data={"city": city},
                             timeout=RPC_TIMEOUT_SECONDS) as rpc:
            after = None
            while True:
                page = rpc.catalog.list_opportunities(None, after, self.page_size)
                if page:
                    yield page
                if len(page) < self.page_size:
                    return
                after = page[-1]["id"]

    def exists(self, city: str, opportunity_id: str) -> bool:
        with ClusterRpcProxy(self.config, context_data={"city": city},
                             timeout=RPC_TIMEOUT_SECONDS) as rpc:
            try:
                rpc.catalog.get_opportunity(opportunity_id)
            except NotFound:
                return False
        return True

    def cities(self) -> list[str]:
        with ClusterRpcProxy(self.config, timeout=RPC_TIMEOUT_SECONDS) as rpc:
            return [city["slug"] for city in rpc.catalog.list_cities()]


def rebuild(store: SearchStore, catalog: Catalog, city: str,
            discard_stale: bool = False) -> dict:
    """Build a new index of the city from the catalog and swap the alias to it.

    Searches keep using the old index until the atomic alias swap, and changes
    that arrive meanwhile are written to both indexes (see ``CityIndexes``).
    Raises ``RebuildInProgress`` when another rebuild of the city is running.
    """
    index = store.indexes.begin_rebuild(city, discard_stale=discard_stale)
    logger.info("rebuilding %s into %s", city, index)
    totals = {"indexed": 0, "stale": 0, "missing": 0, "catalog": 0}
    try:
        for page in catalog.pages(city):
            counts = store.bulk_index(index, page, require_alias=False)
            _add(totals, counts)
            totals["catalog"] += len(page)
        replaced = store.indexes.finish_rebuild(city, index)
    except BaseException:
        store.indexes.abandon_rebuild(index)
        raise
    published = store.count(city)["opportunities"]
    logger.info("rebuilt %s: %s catalog records, %s published; replaced %s", city,
                totals["catalog"], published, replaced or "nothing")
    return {"city": city, "index": index, "replaced": replaced,
            "published": published, **totals}


def resync(store: SearchStore, catalog: Catalog, city: str) -> dict:
    """Bring the city's live index to the catalog's state, in place.

    Writes every catalog record at its version (an equal or newer indexed version
    wins), then deletes indexed documents the catalog no longer has. Use it after
    the index was lost or events were dead-lettered.
    """
    store.indexes.ensure_city(city, force=True)
    live = store.alias("opportunities", city)
    totals = {"indexed": 0, "stale": 0, "missing": 0, "catalog": 0, "removed": 0}
    catalog_ids = set()
    for page in catalog.pages(city):
        for target in store.indexes.write_targets(city):
            counts = store.bulk_index(target, page, missing_ok=target != live)
            if target == live:
                _add(totals, counts)
        totals["catalog"] += len(page)
        catalog_ids.update(item["id"] for item in page)
    for opportunity_id, _ in list(store.indexed_ids(city)):
        # A record created after its page was read is in the catalog but not in
        # catalog_ids, so ask the catalog before deleting.
        if opportunity_id not in catalog_ids and \
                not catalog.exists(city, opportunity_id):
            store.delete_opportunity(city, opportunity_id)
            totals["removed"] += 1
    store.client.indices.refresh(index=live)
    published = store.count(city)["opportunities"]
    logger.info("resynced %s: %s", city, totals)
    return {"city": city, "published": published, **totals}


def _add(totals: dict, counts: dict) -> None:
    for key, value in counts.items():
        totals[key] += value
