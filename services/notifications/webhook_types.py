"""Partner-facing event types, and how subscriptions' filters select them.

Internal events are named ``noun_past_participle`` (``badge_issued``); partners see
dotted types (``badge.issued``), which the CloudEvents ``type`` attribute carries
as ``org.citiesoflearning.badge.issued``. A filter is an exact type or a group
wildcard such as ``registration.*``.
"""

from cities_common import events

CLOUD_EVENT_TYPE_PREFIX = "org.citiesoflearning."

WEBHOOK_TYPES = (
    "badge.issued",
    "badge.revoked",
    "opportunity.published",
    "registration.confirmed",
    "registration.waitlisted",
    "registration.cancelled",
)
GROUPS = sorted({webhook_type.split(".")[0] for webhook_type in WEBHOOK_TYPES})
FILTERS = (*WEBHOOK_TYPES, *(f"{group}.*" for group in GROUPS))

# Fields of an event's data that only the platform may see. The registration
# contact e-mail is used for messages to people and never sent to partners.
PRIVATE_FIELDS = {
    events.YOUTH_REGISTERED: {"contact_email", "preferred_language",
                              "youth_display_name"},
}


def webhook_type(envelope: dict) -> str:
    """Return the partner-facing type of a validated event envelope."""
    event_type = envelope["event_type"]
    if event_type == events.BADGE_ISSUED:
        return "badge.issued"
    if event_type == events.BADGE_REVOKED:
        return "badge.revoked"
    if event_type == events.OPPORTUNITY_PUBLISHED:
        return "opportunity.published"
    if event_type == events.YOUTH_REGISTERED:
        return f"registration.{envelope['data']['status']}"
    if event_type == events.REGISTRATION_CANCELLED:
        return "registration.cancelled"
    raise ValueError(f"event type {event_type!r} has no webhook type")


def partner_data(envelope: dict) -> dict:
    """Return the event data partners receive: private fields removed, city added."""
    hidden = PRIVATE_FIELDS.get(envelope["event_type"], set())
    data = {key: value for key, value in envelope["data"].items() if key not in hidden}
    return {**data, "city": envelope["city"]}


def matches(filters: list[str], webhook_type_name: str) -> bool:
    """Tell whether any filter (exact type or ``group.*``) selects the type."""
    group = webhook_type_name.split(".")[0]
    return webhook_type_name in filters or f"{group}.*" in filters
