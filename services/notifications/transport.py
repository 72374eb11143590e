"""One HTTP POST to a partner endpoint, pinned to an address checked just before.

``requests`` would resolve the host name again when it connects, which leaves a
window for DNS rebinding. The sender here resolves and checks the name itself,
then opens the connection to that IP address with urllib3, sending the original
host name in ``Host`` and, for HTTPS, in SNI and the certificate check.
"""

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import certifi
import eventlet
import urllib3

from services.notifications.urls import (
    Resolver, UnsafeUrl, parse_webhook_url, resolve_public, system_resolver,
)

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 500
USER_AGENT = "CitiesOfLearning-Webhooks/1.0"
MAX_POOLS = 1000


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one attempt: an HTTP status, or an error when none came back."""

    status_code: int | None
    latency_ms: float
    response_excerpt: str = ""
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AttemptTimedOut(Exception):
    """The endpoint sent no complete response within the total timeout."""


class HttpSender:
    """Send webhook requests with a total timeout, no redirects and pinned addresses.

    Connections are kept alive per endpoint address, up to ``pool_size`` each.
    """

    def __init__(self, timeout_seconds: float, pool_size: int,
                 allow_loopback: bool = False, require_https: bool = False,
                 resolver: Resolver = system_resolver):
        self.timeout_seconds = timeout_seconds
        self.pool_size = pool_size
        self.allow_loopback = allow_loopback
        self.require_https = require_https
        self.resolver = resolver
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()

    def post(self, url: str, body: bytes, headers: dict) -> AttemptResult:
        """POST ``body``; never raises for network, DNS or SSRF failures."""
        started = time.perf_counter()

        def elapsed_ms() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            parts, port = parse_webhook_url(url, self.require_https)
            addresses = resolve_public(parts.hostname, port, self.allow_loopback,
                                       self.resolver)
        except UnsafeUrl as exc:
            return AttemptResult(None, elapsed_ms(), error=f"unsafe URL: {exc}")

        pool = self._pool(parts.scheme, addresses[0], port, parts.hostname)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = {"host": parts.netloc, "user-agent": USER_AGENT, **headers}
        try:
            with eventlet.Timeout(self.timeout_seconds, AttemptTimedOut()):
                status, excerpt = self._exchange(pool, target, body, request_headers)
        except AttemptTimedOut:
            return AttemptResult(None, elapsed_ms(),
                                 error=f"timed out after {self.timeout_seconds:g} s")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return AttemptResult(None, elapsed_ms(),
                                 error=f"{type(exc).__name__}: {exc}"[:300])
        return AttemptResult(status, elapsed_ms(), excerpt)

    def _exchange(self, pool, target: str, body: bytes, headers: dict):
        response = pool.urlopen(
            "POST", target, body=body, headers=headers, redirect=False, retries=False,
            assert_same_host=False, preload_content=False,
            timeout=urllib3.Timeout(connect=self.timeout_seconds,
                                    read=self.timeout_seconds),
        )
        data = response.read(EXCERPT_BYTES + 1)
        if len(data) > EXCERPT_BYTES:
            # Drop the connection rather than read an unbounded body to reuse it.
            response.close()
        else:
            response.release_conn()
        return response.status, data[:EXCERPT_BYTES].decode("utf-8", "replace")

    def _pool(self, scheme: str, address: str, port: int, hostname: str):
        key = (scheme, address, port, hostname)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, port, maxsize=self.pool_size, block=False,
                server_hostname=hostname, assert_hostname=hostname,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, maxsize=self.pool_size,
                                              block=False)
        self._pools[key] = pool
        if len(self._pools) > MAX_POOLS:
            _, oldest = self._pools.popitem(last=False)
            oldest.close()
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
