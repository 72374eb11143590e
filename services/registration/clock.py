"""Timestamps as the registration store keeps them.

Dates that queries compare (expiry, leases, pending claims) are stored as BSON
dates: pymongo returns them as UTC ``datetime`` without tzinfo, so ``utc_now``
returns the same kind. Dates shown to clients are ISO 8601 strings with an offset.
"""

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """Format a UTC ``datetime`` (with or without tzinfo) as ISO 8601 with +00:00."""
    return moment.replace(tzinfo=timezone.utc).isoformat()
