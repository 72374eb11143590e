"""Rate limits per client address and per credential, counted in this process.

Each limit is a moving window from the ``limits`` library, kept in memory. Every
gateway instance therefore counts on its own, and N instances behind a load
balancer allow N times the configured rate. Shared storage was not used because
the platform's MongoDB server is FerretDB, which loses concurrent updates to one
document, so a counter kept there would undercount exactly when many requests
arrive at once.

Three limits apply, each configured as a ``limits`` rate string such as
``300/minute`` or ``10/minute;100/hour``:

- ``RATE_LIMIT_PER_ADDRESS``: every request, per client address;
- ``RATE_LIMIT_PER_CREDENTIAL``: requests carrying ``Authorization`` or
  ``X-Api-Key``, per SHA-256 of that header's value;
- ``RATE_LIMIT_AUTH``: writes to sign-in and sign-up paths (``/v1/auth/...`` and
  ``/v1/cities/{city}/accounts...``), per client address.

The client address is the socket peer, or the address in ``X-Forwarded-For``
when the peer is one of ``TRUSTED_PROXIES``.
"""

import hashlib
import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from nameko.exceptions import ConfigurationError

from gateway.errors import TooManyRequests, problem_response

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = {
    "RATE_LIMIT_PER_ADDRESS": "600/minute",
    "RATE_LIMIT_PER_CREDENTIAL": "1200/minute",
    "RATE_LIMIT_AUTH": "10/minute",
}
# Limits high enough that tests and benchmarks firing thousands of requests from
# loopback never meet them.
LOAD_TEST_RATE_LIMITS = {
    "RATE_LIMIT_PER_ADDRESS": "1000000/minute",
    "RATE_LIMIT_PER_CREDENTIAL": "1000000/minute",
    "RATE_LIMIT_AUTH": "1000000/minute",
}
AUTH_PATH = re.compile(r"^/v1/(auth/|cities/[^/]+/accounts(/|$))")
# Reads and preflights of the auth paths count only against the address limit.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY")
# X-Forwarded-For is read up to this many characters. One IPv6 address takes at
# most 45.
# The environ key under which ``check`` leaves the client's address for handlers.
CLIENT_ADDRESS_ENVIRON = "col.client_address"
MAX_FORWARDED_LENGTH = 2048
# Rejections are logged at most once per limit in this many seconds.
LOG_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Rule:
    """One configured limit: which requests it counts, and how many it allows."""

    name: str
    description: str
    item: RateLimitItem


@dataclass
class Decision:
    """The outcome of counting one request: the tightest limit and its state."""

    allowed: bool
    rule: Rule | None = None
    remaining: int = 0
    reset_after: int = 0

    def apply_headers(self, response) -> None:
        """Add ``RateLimit-*`` headers, and ``Retry-After`` when rejected."""
        if self.rule is None:
            return
        response.headers["RateLimit-Limit"] = str(self.rule.item.amount)
        response.headers["RateLimit-Remaining"] = str(self.remaining)
        response.headers["RateLimit-Reset"] = str(self.reset_after)
        if not self.allowed:
            response.headers["Retry-After"] = str(max(1, self.reset_after))


class RateLimiter:
    """Count requests against the configured limits; one instance per process."""

    def __init__(self, per_address: str, per_credential: str, auth: str,
                 trusted_proxies: str = ""):
        self.address_rules = _rules("RATE_LIMIT_PER_ADDRESS", per_address,
                                    "requests from one address")
        self.credential_rules = _rules("RATE_LIMIT_PER_CREDENTIAL", per_credential,
                                       "requests with one credential")
        self.auth_rules = _rules("RATE_LIMIT_AUTH", auth,
                                 "sign-in and sign-up requests from one address")
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.window = MovingWindowRateLimiter(MemoryStorage())
        self._rejections: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    @classmethod
    def from_config(cls, config: dict) -> "RateLimiter":
        """Build from nameko config; a missing or empty key takes its default."""
        values = {key: config.get(key) or default
                  for key, default in DEFAULT_LIMITS.items()}
        return cls(values["RATE_LIMIT_PER_ADDRESS"],
                   values["RATE_LIMIT_PER_CREDENTIAL"], values["RATE_LIMIT_AUTH"],
                   config.get("TRUSTED_PROXIES") or "")

    def check(self, environ: dict) -> Decision:
        """Count the request against every limit that applies to it.

        Stops at the first limit exceeded, so a rejected request uses up no
        allowance of the limits after it.
        """
        address = self.client_address(environ)
        environ[CLIENT_ADDRESS_ENVIRON] = address
        counted = []
        if environ.get("REQUEST_METHOD", "GET") not in SAFE_METHODS and \
                AUTH_PATH.match(environ.get("PATH_INFO", "")):
            counted += [(rule, ("auth", address)) for rule in self.auth_rules]
        counted += [(rule, ("address", address)) for rule in self.address_rules]
        credential = credential_digest(environ)
        if credential is not None:
            counted += [(rule, ("credential", credential))
                        for rule in self.credential_rules]
        decisions = []
        for rule, key in counted:
            if not self.window.hit(rule.item, rule.name, *key):
                decision = self._decision(False, rule, key)
                self._log_rejection(rule)
                return decision
            decisions.append(self._decision(True, rule, key))
        if not decisions:
            return Decision(allowed=True)
        return min(decisions, key=lambda decision: decision.remaining)

    def rejection(self, decision: Decision, request_id: str):
        """Return the 429 problem response for a rejected ``decision``."""
        rule = decision.rule
        detail = (f"more than {rule.item.amount} {rule.description} per "
                  f"{_period(rule.item)}; retry in {max(1, decision.reset_after)} s")
        return problem_response(TooManyRequests(detail, max(1, decision.reset_after)),
                                request_id)

    def client_address(self, environ: dict) -> str:
        """Return the socket peer, or the client a trusted proxy forwarded for.

        Walks ``X-Forwarded-For`` from the right and returns the first address
        that is not a trusted proxy, because each proxy appends the peer it saw
        and only the entries appended by trusted proxies can be believed.
        """
        peer = environ.get("REMOTE_ADDR") or "unknown"
        if not self.trusted_proxies or not self._trusted(peer):
            return peer
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")[:MAX_FORWARDED_LENGTH]
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            client = hop
            if not self._trusted(hop):
                break
        return client

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.trusted_proxies)

    def _decision(self, allowed: bool, rule: Rule, key: tuple) -> Decision:
        stats = self.window.get_window_stats(rule.item, rule.name, *key)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, rule, max(0, stats.remaining), reset_after)

    def _log_rejection(self, rule: Rule) -> None:
        # Addresses and credentials are personal data, so the line names the limit
        # only, and repeats are counted instead of logged one by one.
        self._rejections[rule.name] = self._rejections.get(rule.name, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(rule.name, -LOG_INTERVAL_SECONDS) \
                >= LOG_INTERVAL_SECONDS:
            logger.warning("rate limit %s (%s) rejected %s request(s) in the last %s s",
                           rule.name, rule.item, self._rejections.pop(rule.name),
                           LOG_INTERVAL_SECONDS)
            self._logged_at[rule.name] = now


def credential_digest(environ: dict) -> str | None:
    """Return the SHA-256 of the request's credential header, or None without one.

    ``Authorization`` wins over ``X-Api-Key``, as in the access layer. The raw value
    is never kept.
    """
    for header in CREDENTIAL_HEADERS:
        value = environ.get(header, "").strip()
        if value:
            return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return None


def parse_networks(value: str) -> tuple:
    """Parse ``TRUSTED_PROXIES``: comma-separated addresses or CIDR networks."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ConfigurationError(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network; list "
                "addresses such as 10.0.0.5 or networks such as 10.0.0.0/8, "
                "separated by commas") from exc
    return tuple(networks)


def _rules(name: str, value: str, description: str) -> list[Rule]:
    try:
        items = parse_many(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name}: {value!r} is not a rate limit; write it as <count>/<period>, "
            "such as 300/minute, or several separated by ';'") from exc
    return [Rule(name, description, item) for item in items]


def _period(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"
