"""The lifecycle of an opportunity and the event each change dispatches.

    draft ──submit──▶ submitted ──approve──▶ published ──close──▶ closed
      ▲                   │                      ▲                  │
      └──────return───────┘                      └─────publish──────┘
    any status but withdrawn ──withdraw──▶ withdrawn (final)

A partner whose organisation still needs moderation (see ``needs_moderation``)
submits and waits for the anchor organisation to approve or return. Submitting
for any other organisation publishes at once, and so does ``publish`` from draft.
"""

from cities_common import events

DRAFT, SUBMITTED, PUBLISHED = "draft", "submitted", "published"
CLOSED, WITHDRAWN = "closed", "withdrawn"
EDITABLE = frozenset({DRAFT, SUBMITTED, PUBLISHED, CLOSED})

# action: (statuses it starts from, status it leads to, only the anchor may do it)
TRANSITIONS = {
    "submit": (frozenset({DRAFT}), SUBMITTED, False),
    "approve": (frozenset({SUBMITTED}), PUBLISHED, True),
    "return": (frozenset({SUBMITTED}), DRAFT, True),
    "publish": (frozenset({DRAFT, SUBMITTED, CLOSED}), PUBLISHED, False),
    "close": (frozenset({PUBLISHED}), CLOSED, False),
    "withdraw": (frozenset({DRAFT, SUBMITTED, PUBLISHED, CLOSED}), WITHDRAWN, False),
}
# Actions that need a reason, which the history and review notes keep.
REASON_REQUIRED = frozenset({"return"})
DEFAULT_MODERATED_OPPORTUNITIES = 3
MAX_HISTORY = 50


def opportunity_event(previous_status: str | None, status: str) -> str:
    """Return the event type that announces a change from one status to another.

    Every change dispatches one event with the whole document, so consumers see
    each version. Reaching ``published`` is a publication and a change while
    published an update. Reaching ``closed`` or ``withdrawn`` is a withdrawal.
    Anything else, such as a draft edit, is an update of an unpublished document
    that search keeps out of its results.
    """
    if status == PUBLISHED:
        if previous_status == PUBLISHED:
            return events.OPPORTUNITY_UPDATED
        return events.OPPORTUNITY_PUBLISHED
    if status in (CLOSED, WITHDRAWN) and previous_status != status:
        return events.OPPORTUNITY_WITHDRAWN
    return events.OPPORTUNITY_UPDATED


def opportunity_payload(opportunity: dict) -> dict:
    return {"opportunity": opportunity, "version": opportunity["version"]}


def needs_moderation(organization: dict, city: dict) -> bool:
    """Return True while the anchor must approve the organisation's opportunities.

    The anchor organisation never needs it. A partner needs it until the anchor
    has approved as many of its opportunities as the city's
    ``moderation.first_opportunities`` setting (3 unless onboarding set another).
    """
    if organization.get("anchor"):
        return False
    threshold = (city.get("moderation") or {}).get(
        "first_opportunities", DEFAULT_MODERATED_OPPORTUNITIES)
    return organization.get("approved_opportunities", 0) < threshold


def history_entry(action: str, status: str, actor: str | None, at: str,
                  reason: str | None = None) -> dict:
    return {"action": action, "status": status, "actor": actor, "at": at,
            "reason": reason}


def with_history(document: dict, entry: dict) -> list[dict]:
    """Return the document's history with ``entry`` added, keeping the newest 50."""
    return ((document.get("history") or []) + [entry])[-MAX_HISTORY:]
