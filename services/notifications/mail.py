"""E-mail to people: an outbox in the service's database and an SMTP sender loop.

Event handlers only queue a message (``MailStore.queue``), so an SMTP outage
delays e-mail but never the webhook fan-out or the event queues. Addresses are
personal data: they are stored only where a message needs them, removed from a
message once it is sent, and never logged. An unsubscribed address (per city) gets
no further messages, except the transactional ones that a person requests,
such as a sign-up's verification link (``mail_templates.TRANSACTIONAL``).

A message about a young person carries the ``youth_id`` (and, for a guardian's
message, the ``guardian_id``) it concerns, so that ``erase_youth`` finds it. An
erased youth's contact is never stored again.
"""

import hashlib
import logging
import secrets
import smtplib
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage

import eventlet
import pymongo
from pymongo.errors import DuplicateKeyError

from services.notifications.engine import backoff_seconds
from services.notifications.mail_templates import TRANSACTIONAL, render
from services.notifications.settings import MailSettings
from services.notifications.storage import utcnow

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
LEASE = timedelta(minutes=2)
# Kinds of message about a youth that were queued without a ``youth_id`` before
# messages carried one. An erasure finds those by the forgotten contact's address.
UNTAGGED_YOUTH_KINDS = ("registration_confirmed", "badge_earned")
# Outcomes of a message that the postman never tried to send.
NOT_SENT = ("unsubscribed", "cancelled")


def address_key(city: str, address: str) -> str:
    """Return the id of an address's preferences: city plus a SHA-256 of the address."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return f"{city}:{digest}"


class MailStore:
    """Contacts, unsubscribe preferences, the outbox and a log without addresses."""

    def __init__(self, database):
        self.contacts = database["mail_contacts"]
        self.preferences = database["mail_preferences"]
        self.outbox = database["mail_outbox"]
        self.log = database["mail_log"]
        self.opportunities = database["opportunity_titles"]
        self.erased = database["erased_youth"]

    def ensure_indexes(self) -> None:
        self.preferences.create_index([("token", 1)], name="by_token", unique=True)
        self.outbox.create_index([("next_attempt_at", 1)], name="due")
        self.outbox.create_index([("city", 1), ("youth_id", 1)], name="by_youth")

    def remember_contact(self, city: str, youth_id: str, address: str,
                         language: str, name: str | None = None) -> None:
        """Store the youth's latest address and name, unless the youth was erased."""
        if self.is_erased(city, youth_id):
            return
        self.contacts.update_one(
            {"_id": f"{city}:{youth_id}"},
            {"$set": {"city": city, "youth_id": youth_id, "address": address,
                      "language": language, "name": name, "updated_at": utcnow()}},
            upsert=True)

    def erase_youth(self, city: str, youth_id: str, guardian_ids: list[str]) -> dict:
        """Forget the youth's contact and delete the unsent messages about them.

        Deletes the messages tagged with the youth or one of ``guardian_ids``, and
        untagged ones of ``UNTAGGED_YOUTH_KINDS`` to the forgotten address. The
        log of sent messages stays, because it has no address. Returns the counts
        of every call for the youth together, so a retry reports the first call's.
        """
        self.erased.update_one({"_id": f"{city}:{youth_id}"},
                               {"$setOnInsert": {"city": city, "erased_at": utcnow()}},
                               upsert=True)
        contact = self.contacts.find_one_and_delete({"_id": f"{city}:{youth_id}"})
        deleted = self.outbox.delete_many({"city": city, "youth_id": youth_id})
        queued = deleted.deleted_count
        if guardian_ids:
            queued += self.outbox.delete_many({
                "city": city, "guardian_id": {"$in": list(guardian_ids)}
            }).deleted_count
        if contact is not None:
            queued += self.outbox.delete_many({
                "city": city, "address_key": address_key(city, contact["address"]),
                "youth_id": {"$exists": False},
                "kind": {"$in": list(UNTAGGED_YOUTH_KINDS)},
            }).deleted_count
        totals = self.erased.find_one_and_update(
            {"_id": f"{city}:{youth_id}"},
            {"$inc": {"contacts_forgotten": int(contact is not None),
                      "queued_messages_deleted": queued}},
            return_document=pymongo.ReturnDocument.AFTER)
        return {key: totals[key]
                for key in ("contacts_forgotten", "queued_messages_deleted")}

    def is_erased(self, city: str, youth_id: str) -> bool:
        return self.erased.count_documents({"_id": f"{city}:{youth_id}"}, limit=1) > 0

    def youth_mail_status(self, city: str, youth_id: str) -> dict:
        """Return whether the youth's contact is stored and their unsent messages."""
        return {"erased": self.is_erased(city, youth_id),
                "contact_stored": self.contact(city, youth_id) is not None,
                "queued_messages": self.outbox.count_documents(
                    {"city": city, "youth_id": youth_id})}

    def contact(self, city: str, youth_id: str) -> dict | None:
        return self.contacts.find_one({"_id": f"{city}:{youth_id}"})

    def remember_opportunity(self, city: str, opportunity_id: str, title: str,
                             when: str | None = None, where: str | None = None) -> None:
        """Keep the title, first date and place that messages about it show."""
        try:
            self.opportunities.insert_one({"_id": f"{city}:{opportunity_id}",
                                           "title": title, "when": when,
                                           "where": where})
        except DuplicateKeyError:
            pass

    def opportunity_title(self, city: str, opportunity_id: str) -> str | None:
        document = self.opportunity(city, opportunity_id)
        return document["title"] if document else None

    def opportunity(self, city: str, opportunity_id: str) -> dict | None:
        return self.opportunities.find_one({"_id": f"{city}:{opportunity_id}"})

    # Unsubscribing

    def unsubscribe_token(self, city: str, address: str) -> str:
        """Return the address's unsubscribe token in ``city``, creating it once."""
        key = address_key(city, address)
        try:
            self.preferences.insert_one({"_id": key, "city": city,
                                         "token": secrets.token_urlsafe(24),
                                         "unsubscribed_at": None})
        except DuplicateKeyError:
            pass
        return self.preferences.find_one({"_id": key})["token"]

    def is_unsubscribed(self, city: str, address: str) -> bool:
        document = self.preferences.find_one({"_id": address_key(city, address)})
        return bool(document and document.get("unsubscribed_at"))

    def preference_by_token(self, city: str, token: str) -> dict | None:
        return self.preferences.find_one({"token": token, "city": city})

    def unsubscribe(self, city: str, token: str) -> dict | None:
        """Unsubscribe the token's address and drop its queued messages."""
        now = utcnow()
        document = self.preferences.find_one_and_update(
            {"token": token, "city": city},
            {"$set": {"unsubscribed_at": now}},
            return_document=pymongo.ReturnDocument.AFTER)
        if document is not None:
            self.outbox.delete_many({"address_key": document["_id"],
                                     "kind": {"$nin": sorted(TRANSACTIONAL)}})
        return document

    # The outbox

    def queue(self, city: str, kind: str, reference: str, address: str,
              language: str, variables: dict, youth_id: str | None = None,
              guardian_id: str | None = None) -> bool:
        """Queue one message; return False if unsubscribed or queued before.

        ``reference`` (an event or endpoint id) makes the message id, so a
        redelivered event queues it once. Transactional kinds ignore unsubscribing.
        ``youth_id`` and ``guardian_id`` name whom a message is about, so an
        erasure finds it; a message about an erased youth is not queued.
        """
        if kind not in TRANSACTIONAL and self.is_unsubscribed(city, address):
            return False
        if youth_id is not None and self.is_erased(city, youth_id):
            return False
        now = utcnow()
        tags = {key: value for key, value in
                (("youth_id", youth_id), ("guardian_id", guardian_id))
                if value is not None}
        try:
            self.outbox.insert_one({
                "_id": f"{kind}:{reference}", "city": city, "kind": kind,
                "address": address, "address_key": address_key(city, address),
                "language": language, "variables": variables, "attempts": 0,
                "created_at": now, "next_attempt_at": now, **tags,
            })
        except DuplicateKeyError:
            return False
        return True

    def claim_due(self, limit: int) -> list[dict]:
        now = utcnow()
        due = [document["_id"] for document in self.outbox.find(
            {"next_attempt_at": {"$lte": now}}, {"_id": 1}, limit=limit)]
        if not due:
            return []
        token = uuid.uuid4().hex
        self.outbox.update_many({"_id": {"$in": due}, "next_attempt_at": {"$lte": now}},
                                {"$set": {"next_attempt_at": now + LEASE,
                                          "lease_token": token}})
        return list(self.outbox.find({"lease_token": token}))

    def finish(self, message: dict, status: str, error: str | None = None) -> None:
        """Log the message without its address and take it out of the outbox."""
        try:
            self.log.insert_one({
                "_id": message["_id"], "city": message["city"], "kind": message["kind"],
                "language": message["language"], "status": status,
                "attempts": message["attempts"] + (0 if status in NOT_SENT else 1),
                "error": error, "finished_at": utcnow()})
        except DuplicateKeyError:
            pass
        self.outbox.delete_one({"_id": message["_id"]})

    def cancel_city(self, city: str) -> int:
        """Log the city's unsent messages as ``cancelled`` (error ``city_archived``).

        A message the postman has leased is being sent and is left to it.
        Returns how many were cancelled.
        """
        now = utcnow()
        token = uuid.uuid4().hex
        self.outbox.update_many(
            {"city": city, "$or": [{"lease_token": None},
                                   {"next_attempt_at": {"$lte": now}}]},
            {"$set": {"next_attempt_at": now + LEASE, "lease_token": token}})
        messages = list(self.outbox.find({"lease_token": token}))
        for message in messages:
            self.finish(message, "cancelled", "city_archived")
        return len(messages)

    def retry(self, message: dict, next_attempt_at: datetime, error: str) -> None:
        self.outbox.update_one({"_id": message["_id"]}, {"$set": {
            "attempts": message["attempts"] + 1, "next_attempt_at": next_attempt_at,
            "last_error": error, "lease_token": None}})


def build_message(settings: MailSettings, message: dict, unsubscribe_url: str | None
                  ) -> EmailMessage:
    """Build the e-mail; a transactional one gets None and no unsubscribe headers."""
    variables = {**message["variables"], "unsubscribe_url": unsubscribe_url}
    subject, body = render(message["kind"], message["language"], variables)
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message["address"]
    email["Subject"] = subject
    email["Message-ID"] = f"<{message['_id'].replace(':', '.')}@citiesoflearning.org>"
    if unsubscribe_url is not None:
        # One-click unsubscribe as RFC 8058 defines it: a POST to the same URL.
        email["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(body)
    # set_content replaces Content-* headers, so the language goes after it.
    email["Content-Language"] = message["language"]
    return email


class Postman:
    """Send the outbox over SMTP, retrying failures with backoff up to a limit."""

    def __init__(self, store: MailStore, settings: MailSettings, public_base_url: str,
                 poll_seconds: float = 1.0):
        self.store = store
        self.settings = settings
        self.public_base_url = public_base_url
        self.poll_seconds = poll_seconds
        self.running = False
        self._thread = None

    def start(self, spawn=eventlet.spawn) -> None:
        if not self.settings.smtp_host:
            logger.warning("SMTP_HOST is not set: e-mail stays in the outbox")
            return
        self.running = True
        self._thread = spawn(self._loop)

    def stop(self) -> None:
        self.running = False
        if self._thread is not None:
            self._thread.wait()

    def unsubscribe_url(self, city: str, token: str) -> str:
        return f"{self.public_base_url}/v1/cities/{city}/unsubscribe/{token}"

    def _loop(self) -> None:
        while self.running:
            try:
                sent = self.send_due()
            except Exception:
                logger.exception("sending e-mail from the outbox failed; retrying")
                sent = 0
            if not sent:
                eventlet.sleep(self.poll_seconds)

    def send_due(self, limit: int = 20) -> int:
        """Send the due messages over one SMTP connection; return how many were tried."""
        messages = self.store.claim_due(limit)
        if not messages:
            return 0
        try:
            connection = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            for message in messages:
                self._failed(message, f"SMTP connection failed: {type(exc).__name__}")
            return len(messages)
        with connection:
            for message in messages:
                self._send(connection, message)
        return len(messages)

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                                  timeout=self.settings.timeout_seconds)
        if self.settings.smtp_starttls:
            connection.starttls()
        if self.settings.smtp_username:
            connection.login(self.settings.smtp_username, self.settings.smtp_password)
        return connection

    def _send(self, connection: smtplib.SMTP, message: dict) -> None:
        city = message["city"]
        unsubscribe_url = None
        if message["kind"] not in TRANSACTIONAL:
            if self.store.is_unsubscribed(city, message["address"]):
                self.store.finish(message, "unsubscribed")
                return
            token = self.store.unsubscribe_token(city, message["address"])
            unsubscribe_url = self.unsubscribe_url(city, token)
        email = build_message(self.settings, message, unsubscribe_url)
        try:
            connection.send_message(email)
        except smtplib.SMTPException as exc:
            self._failed(message, f"{type(exc).__name__}: {getattr(exc, 'smtp_code', '')}")
            return
        self.store.finish(message, "sent")
        logger.info("sent %s e-mail %s (%s)", message["kind"], message["_id"],
                    message["language"])

    def _failed(self, message: dict, error: str) -> None:
        attempts = message["attempts"] + 1
        if attempts >= self.settings.max_attempts:
            self.store.finish(message, "failed", error)
            logger.error("gave up on e-mail %s after %s attempts: %s", message["_id"],
                         attempts, error)
            return
        wait = backoff_seconds(attempts, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS)
        self.store.retry(message, utcnow() + timedelta(seconds=wait), error)
        logger.warning("e-mail %s failed (%s); retrying in %.0f s", message["_id"],
                       error, wait)

