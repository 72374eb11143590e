"""Prometheus metrics for every service, served over HTTP on ``METRICS_PORT``."""

import logging
import time

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram, start_http_server

logger = logging.getLogger(__name__)

ENTRYPOINT_CALLS = Counter(
    "col_entrypoint_calls_total",
    "Entrypoint calls (RPC, HTTP, event, timer) by service, method and outcome.",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_SECONDS = Histogram(
    "col_entrypoint_duration_seconds",
    "Time spent in an entrypoint's worker, in seconds.",
    ["service", "entrypoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_HANDLED = Counter(
    "col_events_handled_total",
    "Events taken from a queue by outcome: processed, duplicate, dropped_archived "
    "or dead_lettered.",
    ["service", "event_type", "outcome"],
)
EVENTS_DISPATCHED = Counter(
    "col_events_dispatched_total",
    "Events a service dispatched, by type.",
    ["service", "event_type"],
)

_started_ports: set[int] = set()


class Metrics(DependencyProvider):
    """Serve ``/metrics`` on the configured port and time every worker.

    The port comes from the ``METRICS_PORT`` config key; 0 or absent serves nothing,
    as in unit tests. Outcomes are ``ok``, ``error`` (an expected caller error, such
    as invalid input) and ``failure`` (anything else).
    """

    def setup(self):
        self.port = int(self.container.config.get("METRICS_PORT") or 0)
        self.expected: dict[str, tuple] = {}
        self.started: dict[int, float] = {}

    def start(self):
        if self.port and self.port not in _started_ports:
            start_http_server(self.port, addr="127.0.0.1")
            _started_ports.add(self.port)
            logger.debug("serving metrics on 127.0.0.1:%s", self.port)

    def worker_setup(self, worker_ctx):
        self.started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(id(worker_ctx), None)
        service = self.container.service_name
        entrypoint = worker_ctx.entrypoint.method_name
        if started is not None:
            ENTRYPOINT_SECONDS.labels(service, entrypoint).observe(
                time.perf_counter() - started
            )
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], worker_ctx.entrypoint.expected_exceptions or ()):
            outcome = "error"
        else:
            outcome = "failure"
        ENTRYPOINT_CALLS.labels(service, entrypoint, outcome).inc()

    def get_dependency(self, worker_ctx):
        return self
