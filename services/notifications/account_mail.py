"""E-mail with an account's single-use link: verify an address, set or reset a
password.

The identity service sends the token in the event. The link carries it in the
URL fragment (``#token=...``), which browsers never send to a server, so the
token stays out of access logs. The message is transactional, so it goes out
even to an address that unsubscribed from the city's e-mail.
"""

import logging

from services.notifications.mail import MailStore
from services.notifications.mail_templates import DEFAULT_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)

# Mail kind and the path of the page that takes the token, per event type.
LINKS = {
    "account_verification_requested": ("account_verification", "/verify-email"),
    "account_setup_requested": ("account_setup", "/set-password"),
    "account_password_reset_requested": ("password_reset", "/set-password"),
}


def link(base_url: str, path: str, token: str) -> str:
    return f"{base_url}{path}#token={token}"


def queue_account_link(mail: MailStore, city_record: dict, event: dict,
                       base_url: str) -> bool:
    """Queue the e-mail for an account token event; return False if queued before."""
    city, data = event["city"], event["data"]
    kind, path = LINKS[event["event_type"]]
    language = data["locale"] if data["locale"] in LANGUAGES else DEFAULT_LANGUAGE
    queued = mail.queue(city, kind, event["event_id"], data["email"], language, {
        "link": link(base_url, path, data["token"]),
        "city_name": city_record.get("name", city),
    })
    logger.info("%s e-mail for account %s %s", kind, data["account_id"],
                "queued" if queued else "already queued")
    return queued
