"""The rules a registration must pass, each failing with a stable reason code.

Every check raises ``Rejected(reason, message, details)``; the gateway answers it
with a 409 ``application/problem+json`` body whose ``reason`` member is the code,
so clients can branch on it and show ``detail`` to people.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from cities_common.errors import Rejected
from services.registration.schedule import parse_local, to_utc

# Reason codes, as clients see them.
OPPORTUNITY_NOT_OPEN = "opportunity_not_open"
REGISTRATION_NOT_OPEN_YET = "registration_not_open_yet"
REGISTRATION_CLOSED = "registration_closed"
TOO_YOUNG = "too_young"
TOO_OLD = "too_old"
GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"
GUARDIAN_CONSENT_WITHDRAWN = "guardian_consent_withdrawn"
PREREQUISITES_MISSING = "prerequisite_badges_missing"

# Children under this age need a guardian's verifiable consent (as under COPPA).
CONSENT_AGE = 13


def age_on(today: date, birth_year: int, birth_month: int) -> int:
    """Return a youth's age in whole years, assuming a birthday on the 1st."""
    return today.year - birth_year - (1 if today.month < birth_month else 0)


def needs_guardian_consent(today: date, birth_year: int, birth_month: int) -> bool:
    """Return True while the youth may still be under 13.

    Only the birth month is stored, so the birthday is taken as the month's last
    day: a youth born in May 2013 counts as 13 from June 2026, never earlier.
    """
    age = today.year - birth_year - (1 if today.month <= birth_month else 0)
    return age < CONSENT_AGE


def check_open(opportunity: dict, now: datetime, time_zone: str) -> None:
    """Reject an opportunity that is not published or outside its registration window.

    The window (``registration.opens`` and ``.closes``) is in the city's wall-clock
    time; a missing bound leaves that side open.
    """
    if opportunity.get("status") != "published":
        raise Rejected(OPPORTUNITY_NOT_OPEN,
                       f"opportunity {opportunity['id']} is {opportunity.get('status')}, "
                       "not open for registration",
                       {"opportunity_status": opportunity.get("status")})
    window = opportunity.get("registration") or {}
    zone = ZoneInfo(time_zone)
    opens, closes = window.get("opens"), window.get("closes")
    if opens and now < to_utc(parse_local(opens), zone):
        raise Rejected(REGISTRATION_NOT_OPEN_YET,
                       f"registration opens at {opens} ({time_zone})",
                       {"opens": opens, "time_zone": time_zone})
    if closes and now >= to_utc(parse_local(closes), zone):
        raise Rejected(REGISTRATION_CLOSED,
                       f"registration closed at {closes} ({time_zone})",
                       {"closes": closes, "time_zone": time_zone})


def ended_on(opportunity: dict, now: datetime, time_zone: str) -> str | None:
    """Return the local date on which the opportunity's last session ended, or None.

    ``now`` is aware. The catalog's ``schedule.last_end`` is used when the
    opportunity has sessions, else its ``end_date``. Without either, nothing ended.
    """
    last_end = (opportunity.get("schedule") or {}).get("last_end")
    if last_end:
        ended = datetime.fromisoformat(last_end)
        return ended.date().isoformat() if ended <= now else None
    end_date = str(opportunity.get("end_date") or "")[:10]
    today = now.astimezone(ZoneInfo(time_zone)).date().isoformat()
    return end_date if end_date and end_date < today else None


def check_age(opportunity: dict, youth: dict, today: date) -> None:
    """Reject a youth whose age today is outside the opportunity's age range."""
    age = age_on(today, youth["birth_year"], youth["birth_month"])
    low, high = opportunity.get("min_age"), opportunity.get("max_age")
    if low is not None and age < low:
        raise Rejected(TOO_YOUNG, f"this opportunity is for ages {low} and up; "
                                  f"the youth is {age}",
                       {"min_age": low, "max_age": high, "age": age})
    if high is not None and age > high:
        raise Rejected(TOO_OLD, f"this opportunity is for ages up to {high}; "
                                f"the youth is {age}",
                       {"min_age": low, "max_age": high, "age": age})


def check_consent(youth: dict, today: date) -> None:
    """Reject a youth under 13 who has no granted guardian consent."""
    if not needs_guardian_consent(today, youth["birth_year"], youth["birth_month"]):
        return
    status = (youth.get("consent") or {}).get("status", "none")
    if status == "granted":
        return
    path = f"/v1/cities/{youth['city']}/youth/{youth['id']}/consent-requests"
    details = {"youth_id": youth["id"], "consent_status": status,
               "consent_requests_path": path}
    if status == "withdrawn":
        raise Rejected(GUARDIAN_CONSENT_WITHDRAWN,
                       "a guardian withdrew consent for this youth; a guardian must "
                       f"consent again (request it with POST {path}) before the "
                       "youth can register", details)
    raise Rejected(GUARDIAN_CONSENT_REQUIRED,
                   "a youth under 13 needs a guardian's consent before registering; "
                   f"request it with POST {path}", details)


def check_prerequisites(required: list[str], answer: dict) -> None:
    """Reject when the badges service's ``has_badges`` answer lists missing badges."""
    missing = [item for item in answer.get("missing", []) if item in required]
    if missing or not answer.get("has_all", not missing):
        raise Rejected(PREREQUISITES_MISSING,
                       "the youth lacks prerequisite badges: " + ", ".join(missing),
                       {"missing_badge_class_ids": missing})
