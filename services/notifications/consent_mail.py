"""E-mail that requests a guardian's consent for a youth under 13.

The registration service sends ``guardian_consent_requested`` with the
guardian's address, name and language and the consent link. The link's
single-use token sits in the URL fragment (``#token=...``), which browsers never
send to a server. The gateway's script-free consent page cannot read it there,
so the message also shows the token as a code to type into that page. The
message is transactional: a child cannot register without the answer, so it
reaches the guardian even after the address unsubscribed from the city's e-mail.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifications.mail import MailStore
from services.notifications.mail_templates import DEFAULT_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)

KIND = "guardian_consent_request"
TOKEN_MARKER = "#token="


def local_time(timestamp: str, time_zone: str | None) -> str:
    """Return an ISO 8601 instant as ``2026-12-07 15:00 America/Chicago``."""
    moment = datetime.fromisoformat(timestamp)
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"


def queue_consent_request(mail: MailStore, city_record: dict, event: dict) -> bool:
    """Queue the consent e-mail to the guardian; return False if queued before."""
    city, data = event["city"], event["data"]
    language = data["language"] if data["language"] in LANGUAGES else DEFAULT_LANGUAGE
    _, _, code = data["consent_url"].partition(TOKEN_MARKER)
    queued = mail.queue(city, KIND, event["event_id"], data["guardian_email"],
                        language, {
                            "guardian_name": data["guardian_name"],
                            "youth_display_name": data["youth_display_name"],
                            "consent_url": data["consent_url"],
                            "code": code,
                            "expires_at": local_time(data["expires_at"],
                                                     city_record.get("time_zone")),
                            "city_name": city_record.get("name", city),
                        }, youth_id=data["youth_id"], guardian_id=data["guardian_id"])
    logger.info("%s e-mail for consent request %s %s", KIND,
                data["consent_request_id"], "queued" if queued else "already queued")
    return queued
