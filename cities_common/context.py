"""The city, request id and event id of the work in progress.

nameko carries context data with every RPC call as message headers, so the gateway
puts ``city`` and ``request_id`` there once and every service it calls sees them.
nameko's event dispatcher sends context data too, but its standalone dispatcher does
not, so events also carry the city and request id inside their payload
(see ``cities_common.events``).

The values are kept in a ``contextvars.ContextVar``. greenlet gives every greenthread
its own context, so each nameko worker sees only its own values, and the logging
filter in ``cities_common.logs`` can read them without being handed a worker.
"""

import contextvars
import re
import uuid

from nameko.extensions import DependencyProvider

CITY_KEY = "city"
REQUEST_ID_KEY = "request_id"
CITY_SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")

_current: contextvars.ContextVar[dict] = contextvars.ContextVar(
    "cities_of_learning_context", default={}
)


def current() -> dict:
    """Return the city, request id and event id bound to this greenthread."""
    return _current.get()


def bind(**values) -> None:
    """Add values (``city``, ``request_id``, ``event_id``) to this greenthread's context."""
    _current.set({**_current.get(), **{k: v for k, v in values.items() if v}})


def clear() -> None:
    """Forget every value bound to this greenthread."""
    _current.set({})


def new_request_id() -> str:
    return uuid.uuid4().hex


def is_valid_city_slug(value) -> bool:
    return isinstance(value, str) and bool(CITY_SLUG_PATTERN.match(value))


class WorkerContext:
    """The context of one worker: its city (possibly absent) and request id."""

    def __init__(self, city: str | None, request_id: str):
        self.city = city
        self.request_id = request_id


class RequestContext(DependencyProvider):
    """Bind the worker's city and request id for logging, and inject them.

    The values come from the worker's context data, which the gateway sets for HTTP
    requests and nameko copies into every RPC call made while handling one. A worker
    started without a request id gets a fresh one, so its log lines still group.
    """

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        data.setdefault(REQUEST_ID_KEY, new_request_id())
        clear()
        bind(city=data.get(CITY_KEY), request_id=data[REQUEST_ID_KEY])

    def worker_teardown(self, worker_ctx):
        clear()

    def get_dependency(self, worker_ctx):
        data = worker_ctx.data
        return WorkerContext(data.get(CITY_KEY), data.get(REQUEST_ID_KEY, ""))
