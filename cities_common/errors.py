"""Errors that cross service boundaries.

Each class is registered with nameko's exception registry, so a caller of an RPC
receives an instance of the same class with the same arguments instead of a
``RemoteError`` whose text it would have to parse. The gateway maps these classes to
HTTP statuses in one table.
"""

import json

from nameko.exceptions import deserialize_to_instance


class PlatformError(Exception):
    """Base class of the errors a service raises to its callers."""


@deserialize_to_instance
class InvalidInput(PlatformError):
    """A request or message failed validation; ``errors`` maps field to messages."""

    def __init__(self, errors: dict, message: str = "invalid input"):
        super().__init__(errors, message)
        self.errors = errors
        self.message = message

    def __str__(self):
        return f"{self.message}: {self.errors}"


@deserialize_to_instance
class NotFound(PlatformError):
    """The requested record does not exist in the caller's city."""


@deserialize_to_instance
class UnknownCity(PlatformError):
    """The city is missing, malformed, or has not been onboarded."""


@deserialize_to_instance
class Conflict(PlatformError):
    """The request cannot be applied to the record in its current state."""


@deserialize_to_instance
class Rejected(Conflict):
    """A valid request that a rule forbids; ``reason`` is a stable code for clients.

    ``details`` holds the facts behind the rule, such as the missing badge ids. The
    gateway answers 409 with ``reason`` and ``details`` in the problem body.
    ``details`` travels as JSON text, because nameko turns numbers in exception
    arguments into strings.
    """

    def __init__(self, reason: str, message: str, details: dict | str | None = None):
        if isinstance(details, str):
            details = json.loads(details)
        super().__init__(reason, message, json.dumps(details or {}))
        self.reason = reason
        self.message = message
        self.details = details or {}

    def __str__(self):
        return f"{self.reason}: {self.message}"


@deserialize_to_instance
class StoreUnavailable(PlatformError):
    """A server the service depends on (Elasticsearch, MongoDB) did not answer."""


@deserialize_to_instance
class CityArchived(PlatformError):
    """The city was archived: its requests and events are no longer accepted."""


@deserialize_to_instance
class Forbidden(PlatformError):
    """The acting account may not perform this action on this record."""


@deserialize_to_instance
class Unauthenticated(PlatformError):
    """The caller's credential is missing, malformed, expired or revoked."""
