"""Token lifetimes from the nameko config, and the provider of the signing keys."""

from dataclasses import dataclass
from datetime import timedelta

from nameko.extensions import DependencyProvider

from cities_common.config import load_settings
from cities_common.storage import mongo_client
from services.identity.signing import AccessTokens, KeyRing

DEFAULT_ACCESS_TOKEN_SECONDS = 600
DEFAULT_REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
VERIFICATION_LIFETIME = timedelta(hours=24)
SETUP_LIFETIME = timedelta(days=7)
# A password reset link works for an hour; at most one goes out per address in
# RESET_INTERVAL, so repeated requests cannot flood a mailbox.
RESET_LIFETIME = timedelta(hours=1)
RESET_INTERVAL = timedelta(minutes=2)


def _seconds(config: dict, key: str, default: int) -> int:
    """Read a positive whole number of seconds; an empty value keeps ``default``."""
    raw = config.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise ValueError(f"{key} is {raw!r}: set a whole number of seconds above 0, "
                         f"or leave it empty for {default}")
    return value


@dataclass(frozen=True)
class TokenSettings:
    """Lifetimes in seconds of access tokens (JWTs) and refresh tokens."""

    access_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS
    refresh_seconds: int = DEFAULT_REFRESH_TOKEN_SECONDS

    @classmethod
    def from_config(cls, config: dict) -> "TokenSettings":
        return cls(
            access_seconds=_seconds(config, "ACCESS_TOKEN_SECONDS",
                                    DEFAULT_ACCESS_TOKEN_SECONDS),
            refresh_seconds=_seconds(config, "REFRESH_TOKEN_SECONDS",
                                     DEFAULT_REFRESH_TOKEN_SECONDS))

    @property
    def refresh_lifetime(self) -> timedelta:
        return timedelta(seconds=self.refresh_seconds)


class Signer(DependencyProvider):
    """Inject this provider: ``settings``, ``keyring`` and ``access`` (AccessTokens).

    The first signing key is generated when the service starts, not at the
    first login, so a fresh deployment fails early if the database cannot store it.
    """

    def setup(self):
        config = self.container.config
        settings = load_settings(config)
        self.settings = TokenSettings.from_config(config)
        database = mongo_client(settings.mongo_url)[
            settings.mongo_database(self.container.service_name)]
        self.keyring = KeyRing(database["signing_keys"], self.settings.access_seconds,
                               settings.identity_key_passphrase)
        self.access = AccessTokens(self.keyring, settings.public_base_url,
                                   self.settings.access_seconds)

    def start(self):
        self.keyring.active()

    def get_dependency(self, worker_ctx):
        return self
