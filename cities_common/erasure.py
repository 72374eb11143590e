"""The acknowledgement that each consumer of ``youth_erased`` dispatches once done.

The registration service reports an erasure completed only when each service
that ``topology.consumers(events.YOUTH_ERASED)`` lists has acknowledged it.
"""

from datetime import datetime, timezone

from cities_common import events


def acknowledge_erasure(publish, event: dict, service: str, summary: dict) -> dict:
    """Dispatch ``youth_erasure_acknowledged`` for a handled ``youth_erased`` event.

    ``summary`` maps what was erased to a count. The event id derives from the
    erasure and the service, so a handler that runs again sends a copy that the
    registration service drops. Returns the envelope.
    """
    data = event["data"]
    return publish(events.YOUTH_ERASURE_ACKNOWLEDGED, event["city"], {
        "erasure_id": data["erasure_id"], "youth_id": data["youth_id"],
        "service": service, "summary": summary,
        "acknowledged_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, event_id=f"erasure-acknowledged-{data['erasure_id']}-{service}")
