"""Signed search cursors: a cursor works only for the city whose search made it.

From the second page on, a cursor carries the id of an Elasticsearch point in time,
and a point in time names the indexes it reads. A cursor made by one city's search
must therefore never be replayed against another city. Each cursor ends with an
HMAC-SHA256 over the city and the cursor's payload, under a random key that the
search service keeps in its MongoDB database. The first process to need the key
creates it; every other search process reads the same one.
"""

import base64
import hashlib
import hmac
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

    def sign(self, city: str, payload: str) -> str:
        """Return ``payload`` followed by a dot and its MAC for ``city``."""
        return f"{payload}.{self._mac(city, payload)}"

    def verify(self, city: str, cursor: str) -> bool:
        """Return whether ``cursor`` was signed by this platform for ``city``."""
        payload, dot, mac = cursor.rpartition(".")
        if not payload or not dot:
            return False
        return hmac.compare_digest(mac, self._mac(city, payload))

    def _mac(self, city: str, payload: str) -> str:
        digest = hmac.new(self._signing_key(), f"{city}\n{payload}".encode(),
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


class CursorKeys(DependencyProvider):
    """Inject the service's ``CursorSigner``."""

    def setup(self):
        settings = load_settings(self.container.config)
        database = mongo_client(settings.mongo_url)[
            settings.mongo_database(self.container.service_name)]
        self.signer = CursorSigner(database["secrets"])

    def get_dependency(self, worker_ctx):
        return self.signer
