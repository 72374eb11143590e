"""Errors that cross service boundaries.

Each class is registered with nameko's exception registry, so a caller of an RPC
receives an instance of the same class with the same arguments instead of a
``RemoteError`` whose text it would have to parse. The gateway maps these classes to
HTTP statuses in one table.
"""

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
