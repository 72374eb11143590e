"""Signed search cursors: a cursor works only for the city whose search made it.

From the second page on, a cursor carries the id of an Elasticsearch point in time,
and a point in time names the indexes it reads. A cursor made by one city's search
must therefore never be replayed against another city, and a cursor's sort
values mean nothing for another query. Each cursor ends with an HMAC-SHA256 over
the city, the query's parameters and the cursor's payload, under a random key
that the search service keeps in its MongoDB database. The first process to need the key
creates it; every other search process reads the same one.
"""

import base64
import hashlib
import hmac
import json
import secrets

from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from cities_common.config import load_settings
from cities_common.storage import mongo_client

KEY_ID = "cursor_signing_key"
MAC_BYTES = 16


class CursorSigner:
    """Sign and check cursors with the key stored in ``collection``."""

    def __init__(self, collection):
        self.collection = collection
        self._key: bytes | None = None

    def sign(self, city: str, query: str, payload: str) -> str:
        """Return ``payload`` followed by a dot and its MAC for ``city`` and ``query``
        (the search's parameters, from ``query_key``)."""
        return f"{payload}.{self._mac(city, query, payload)}"

    def verify(self, city: str, query: str, cursor: str) -> bool:
        """Return whether ``cursor`` was signed by this platform for ``city`` and
        ``query``."""
        payload, dot, mac = cursor.rpartition(".")
        if not payload or not dot:
            return False
        return hmac.compare_digest(mac, self._mac(city, query, payload))

    def _mac(self, city: str, query: str, payload: str) -> str:
        message = f"{city}\n{query}\n{payload}".encode()
        digest = hmac.new(self._signing_key(), message,
                          hashlib.sha256).digest()[:MAC_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _signing_key(self) -> bytes:
        if self._key is None:
            document = self.collection.find_one({"_id": KEY_ID})
            if document is None:
                try:
                    # An insert with a fixed id: of two processes starting at once,
                    # one creates the key and the other reads it below.
                    self.collection.insert_one({"_id": KEY_ID,
                                                "key": secrets.token_hex(32)})
                except DuplicateKeyError:
                    pass
                document = self.collection.find_one({"_id": KEY_ID})
            self._key = bytes.fromhex(document["key"])
        return self._key


# Parameters that may change from one page to the next of the same search.
PAGE_PARAMETERS = frozenset({"cursor", "page_size", "facets"})


def query_key(query: dict | None) -> str:
    """Return the search's parameters, other than paging, as canonical JSON."""
    parameters = {name: value for name, value in (query or {}).items()
                  if name not in PAGE_PARAMETERS}
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)


class CursorKeys(DependencyProvider):
    """Inject the service's ``CursorSigner``."""

    def setup(self):
        settings = load_settings(self.container.config)
        database = mongo_client(settings.mongo_url)[
            settings.mongo_database(self.container.service_name)]
        self.signer = CursorSigner(database["secrets"])

    def get_dependency(self, worker_ctx):
        return self.signer
