"""MongoDB and Elasticsearch dependency providers.

Every service owns one MongoDB database (``col_<service>``, prefixed by the
namespace) and never reads another service's. Queries stay within what both MongoDB
and FerretDB 1.x serve: no multi-document transactions, no ``$lookup``, no change
streams. Atomic single-document updates and unique indexes carry the invariants.
"""

import threading

import pymongo
from elasticsearch import Elasticsearch
from nameko.extensions import DependencyProvider

from cities_common.config import load_settings

_clients: dict[str, pymongo.MongoClient] = {}
_lock = threading.Lock()


def mongo_client(url: str) -> pymongo.MongoClient:
    """Return the process-wide client for ``url``; pymongo clients are thread-safe.

    ``socketTimeoutMS`` bounds every operation, so a server that stops answering
    fails the worker with ``NetworkTimeout`` instead of holding it forever. The
    slowest operations the services run, import batches, finish in a few
    seconds on FerretDB.
    """
    with _lock:
        if url not in _clients:
            _clients[url] = pymongo.MongoClient(
                url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
                socketTimeoutMS=30000, retryWrites=False,
            )
        return _clients[url]


class MongoDatabase(DependencyProvider):
    """Inject the ``pymongo.database.Database`` this service owns.

    ``store_class``, when given, wraps the database (for example ``CatalogStore``),
    so service code talks to a plain store object that unit tests can build alone.
    """

    def __init__(self, store_class=None):
        self.store_class = store_class

    def setup(self):
        settings = load_settings(self.container.config)
        client = mongo_client(settings.mongo_url)
        self.database = client[settings.mongo_database(self.container.service_name)]
        self.store = self.store_class(self.database) if self.store_class else None
        if self.store is not None and hasattr(self.store, "ensure_indexes"):
            self.store.ensure_indexes()

    def get_dependency(self, worker_ctx):
        return self.store if self.store is not None else self.database


class ElasticsearchClient(DependencyProvider):
    """Inject a store built over an ``Elasticsearch`` client and the index prefix."""

    def __init__(self, store_class):
        self.store_class = store_class

    def setup(self):
        settings = load_settings(self.container.config)
        client = Elasticsearch(settings.es_url, request_timeout=10, max_retries=2,
                               retry_on_timeout=True)
        self.store = self.store_class(client, settings.es_prefix())

    def get_dependency(self, worker_ctx):
        return self.store
