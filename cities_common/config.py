"""Settings read from the environment, with loopback defaults for a local stack."""

import os
import re
from dataclasses import dataclass, field

_NAMESPACE_PATTERN = re.compile(r"^[a-z0-9_]{0,32}$")


@dataclass(frozen=True)
class Settings:
    """Where the shared servers are, and the namespace that keeps test runs apart."""

    amqp_uri: str
    mongo_url: str
    es_url: str
    namespace: str
    public_base_url: str
    # Passphrase that encrypts the badges service's signing keys at rest; empty
    # when unset, and the badges service then refuses to start.
    badges_key_passphrase: str = field(default="", repr=False)
    # The same for the identity service's access-token signing keys.
    identity_key_passphrase: str = field(default="", repr=False)

    def mongo_database(self, service: str) -> str:
        """Return the MongoDB database name a service owns, e.g. ``col_catalog``."""
        prefix = f"{self.namespace}_" if self.namespace else ""
        return f"{prefix}col_{service}"

    def es_prefix(self) -> str:
        """Return the prefix of every Elasticsearch index and alias in this namespace."""
        prefix = f"{self.namespace}-" if self.namespace else ""
        return f"{prefix}col-".replace("_", "-")


def load_settings(config: dict | None = None) -> Settings:
    """Build settings from a nameko config dict, falling back to the environment.

    Raises ValueError when ``COL_NAMESPACE`` holds anything but lowercase letters,
    digits and underscores, because it becomes part of database and index names.
    """
    config = config or {}

    def pick(key: str, default: str) -> str:
        return str(config.get(key) or os.environ.get(key) or default)

    namespace = pick("COL_NAMESPACE", "")
    if not _NAMESPACE_PATTERN.match(namespace):
        raise ValueError(
            f"COL_NAMESPACE {namespace!r} is invalid: use at most 32 lowercase "
            "letters, digits or underscores"
        )
    return Settings(
        amqp_uri=pick("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        mongo_url=pick("MONGO_URL", "mongodb://127.0.0.1:27017/"),
        es_url=pick("ES_URL", "http://127.0.0.1:9200"),
        namespace=namespace,
        public_base_url=pick("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        badges_key_passphrase=pick("BADGES_KEY_PASSPHRASE", ""),
        identity_key_passphrase=pick("IDENTITY_KEY_PASSPHRASE", ""),
    )
