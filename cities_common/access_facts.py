"""The request check shared by every service's ``access_facts`` RPC.

``access_facts(kind, record_id)`` returns the owner of one record of the worker's
city (its youth, organisation or issuer ids and its status), so the gateway can
decide whether the caller may touch the record. It returns ids and statuses
only, never personal data.
"""

from cities_common.errors import InvalidInput

MAX_RECORD_ID = 100


def check_request(kind, record_id, kinds: tuple[str, ...]) -> str:
    """Return ``record_id``; raise ``InvalidInput`` naming ``kind`` or ``record_id``."""
    if not isinstance(kind, str) or kind not in kinds:
        raise InvalidInput(
            {"kind": [f"must be one of {', '.join(kinds)}, not {str(kind)[:40]!r}"]},
            "invalid access facts request")
    if not isinstance(record_id, str) or not 1 <= len(record_id) <= MAX_RECORD_ID:
        raise InvalidInput(
            {"record_id": [f"must be a record id of 1 to {MAX_RECORD_ID} characters"]},
            "invalid access facts request")
    return record_id
