"""E-mail to young people and their guardians, queued from platform events.

A registration gets a confirmation or a waitlist notice, a promotion from the
waitlist, a cancellation notice (except when the youth's data is being erased) and
later the badge earned. Only an address that a ``youth_registered`` or
``waitlist_promoted`` event
carried (its optional ``contact_email``) is ever written to. The registration
service sends the youth's own address, else a guardian's, with that person's
language; a youth with neither gets no e-mail. The address is kept per youth
until ``youth_erased`` forgets it (``MailStore.erase_youth``).
"""

import logging

from services.notifications.mail import MailStore
from services.notifications.mail_templates import (
    CANCELLATION_REASONS, DEFAULT_LANGUAGE, LANGUAGES,
)

logger = logging.getLogger(__name__)

GENERIC_PROGRAMME = {"en": "your programme", "es": "tu programa"}
GENERIC_BADGE = {"en": "a Cities of Learning badge",
                 "es": "una insignia de Cities of Learning"}
PARTICIPANT = {"en": "Participant: {name}\n", "es": "Participante: {name}\n"}


DETAILS = {"en": ("When: {}\n", "Where: {}\n", "online"),
           "es": ("Cuándo: {}\n", "Dónde: {}\n", "en línea")}


def first_date(opportunity: dict) -> str | None:
    """Return the first local date and start time that the catalog gives, or None."""
    start = (opportunity.get("schedule") or {}).get("first_start")
    if start:
        return f"{start[:10]} {start[11:16]}"
    day = opportunity.get("start_date")
    start_time = opportunity.get("start_time")
    return " ".join(filter(None, (str(day)[:10] if day else None, start_time))) or None


def place(opportunity: dict) -> str | None:
    """Return the first location's name and address, or "online", or None."""
    if opportunity.get("format") == "online":
        return "online"
    for location in opportunity.get("locations") or []:
        parts = [location.get("name"), location.get("address")]
        text = ", ".join(part for part in parts if part)
        if text:
            return text
    return None


def details(mail: MailStore, city: str, opportunity_id: str, language: str) -> str:
    """Return the "When:" and "Where:" lines of a registration e-mail, as known."""
    document = mail.opportunity(city, opportunity_id) or {}
    when, where, online = DETAILS[language]
    lines = ""
    if document.get("when"):
        lines += when.format(document["when"])
    if document.get("where"):
        shown = online if document["where"] == "online" else document["where"]
        lines += where.format(shown)
    return lines


def participant(contact: dict, language: str) -> str:
    """Return the line that names the youth, or "" when the name is not known."""
    name = contact.get("name")
    return PARTICIPANT[language].format(name=name) if name else ""


def _language(preferred: str | None, city_record: dict) -> str:
    for language in (preferred, city_record.get("default_locale")):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def registration_confirmed(mail: MailStore, city_record: dict, event: dict) -> bool:
    """Remember the youth's contact and queue the confirmation or the waitlist
    notice; return whether one was queued."""
    contact = _remember(mail, city_record, event["city"], event["data"])
    kind = ("registration_confirmed" if event["data"]["status"] == "confirmed"
            else "registration_waitlisted")
    return _registration_mail(mail, city_record, event, contact, kind)


def registration_cancelled(mail: MailStore, city_record: dict, event: dict) -> bool:
    """Queue the cancellation notice, with its reason, to the youth's known contact."""
    reasons = CANCELLATION_REASONS.get(event["data"]["reason"])
    if reasons is None:
        return False
    contact = mail.contact(event["city"], event["data"]["youth_id"])
    return _registration_mail(mail, city_record, event, contact,
                              "registration_cancelled", reasons)


def waitlist_promoted(mail: MailStore, city_record: dict, event: dict) -> bool:
    """Remember the contact the event carries and queue the "place opened" e-mail."""
    contact = _remember(mail, city_record, event["city"], event["data"])
    return _registration_mail(mail, city_record, event, contact, "waitlist_promoted")


def _registration_mail(mail: MailStore, city_record: dict, event: dict,
                       contact: dict | None, kind: str,
                       reasons: dict | None = None) -> bool:
    """Queue a ``kind`` e-mail about a registration to ``contact``, if known.

    ``reasons`` gives the ``reason`` sentence in each language, for kinds that
    have one.
    """
    city, data = event["city"], event["data"]
    if contact is None:
        logger.debug("no contact e-mail for youth %s; no %s e-mail sent",
                     data["youth_id"], kind)
        return False
    language = contact["language"]
    title = mail.opportunity_title(city, data["opportunity_id"])
    variables = {"opportunity_title": title or GENERIC_PROGRAMME[language],
                 "registration_id": data["registration_id"],
                 "participant": participant(contact, language),
                 "details": details(mail, city, data["opportunity_id"], language),
                 "city_name": city_record.get("name", city)}
    if reasons is not None:
        variables["reason"] = reasons[language]
    return mail.queue(city, kind, event["event_id"], contact["address"], language,
                      variables, youth_id=data["youth_id"])


def _remember(mail: MailStore, city_record: dict, city: str, data: dict) -> dict | None:
    """Store the event's contact, if it has one; return the youth's known contact."""
    address = data.get("contact_email")
    if address:
        language = _language(data.get("preferred_language"), city_record)
        mail.remember_contact(city, data["youth_id"], address, language,
                              data.get("youth_display_name"))
    return mail.contact(city, data["youth_id"])


def badge_earned(mail: MailStore, city_record: dict, event: dict,
                 base_url: str) -> bool:
    """Queue the "badge earned" e-mail when the youth's contact is known."""
    city, data = event["city"], event["data"]
    contact = mail.contact(city, data["youth_id"])
    if contact is None:
        return False
    language = contact["language"]
    title = mail.opportunity_title(city, data["opportunity_id"])
    hosted = data.get("assertion", {}).get("id")
    badge_url = hosted if isinstance(hosted, str) and hosted.startswith("http") else (
        f"{base_url}/v1/cities/{city}/badges/assertions/{data['assertion_id']}")
    return mail.queue(city, "badge_earned", event["event_id"], contact["address"],
                      language, {
                          "badge_name": title or GENERIC_BADGE[language],
                          "badge_url": badge_url,
                          "participant": participant(contact, language),
                          "city_name": city_record.get("name", city),
                      }, youth_id=data["youth_id"])
