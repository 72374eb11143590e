"""Which event a change to an opportunity sends, given its status before and after."""

from cities_common import events


def opportunity_event(previous_status: str | None, status: str) -> str | None:
    """Return the event type for a status change, or None when search need not know.

    A change to a published opportunity is an update; leaving ``published`` is a
    withdrawal; reaching it is a publication. Changes among unpublished states send
    nothing, because no consumer shows unpublished opportunities.
    """
    was_published = previous_status == "published"
    if status == "published":
        return events.OPPORTUNITY_UPDATED if was_published else events.OPPORTUNITY_PUBLISHED
    if was_published:
        return events.OPPORTUNITY_WITHDRAWN
    return None


def opportunity_payload(opportunity: dict) -> dict:
    return {"opportunity": opportunity, "version": opportunity["version"]}
