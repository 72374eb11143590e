"""Issuing assertions: badge rules, the one-badge-per-source rule, and playlists.

``Issuance`` is built per worker with the store, the city's URLs and the event
publisher. Every way a badge is earned (a completed programme, a staff award,
a finished playlist) goes through ``Issuance.issue``. It derives the assertion
id from the source, so retries and duplicate events return the badge already
issued instead of a second one.
"""

import hashlib
import logging
import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from cities_common import events
from cities_common.errors import Conflict, NotFound
from services.badges import ob2
from services.badges.storage import assertion_id
from services.badges.urls import BadgeUrls

logger = logging.getLogger(__name__)

CITY_ISSUER_ID = "city"
NO_BADGE = "none"


def slug(text: str, max_length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_length] or "x"


def provider_issuer_id(provider_name: str) -> str:
    """Derive a stable issuer id from a provider's name, e.g. ``org-fuse-3f2a9c``."""
    digest = hashlib.sha1(provider_name.strip().lower().encode()).hexdigest()[:6]
    return f"org-{slug(provider_name)}-{digest}"


def default_class_id(opportunity_id: str) -> str:
    return f"bc-{opportunity_id}"


def credential_id(assertion_url: str) -> str:
    """Derive the OB 3.0 credential id (a ``urn:uuid``) from the assertion's URL."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, assertion_url)}"


def completion_evidence(completion: dict) -> list[dict]:
    evidence = [
        {
            "name": "Programme completion",
            "narrative": f"Completed {completion['opportunity_title']} on "
            f"{completion['completed_at'][:10]}, as recorded by "
            f"{completion['provider_name']}.",
            "genre": "Completion record",
        }
    ]
    if completion.get("evidence_url"):
        evidence.append({"url": completion["evidence_url"], "name": "Submitted work"})
    return evidence


class Issuance:
    """Issue badges in one city and announce them with ``badge_issued``."""

    def __init__(self, store, urls: BadgeUrls, publish, city: str):
        self.store = store
        self.urls = urls
        self.publish = publish
        self.city = city

    # Issuers and default classes -------------------------------------------

    def city_issuer(self) -> dict:
        """Return the city's own issuer profile, creating it on first use."""
        city = self.store.cities.get(self.city) or {}
        name = city.get("name") or self.city.replace("-", " ").title()
        return self.store.ensure_issuer(
            {
                "id": CITY_ISSUER_ID,
                "city": self.city,
                "kind": "city",
                "name": f"{name} City of Learning",
                "description": f"The {name} City of Learning, which issues badges for "
                "playlists and for programmes across the city.",
            }
        )

    def provider_issuer(self, provider_name: str) -> dict:
        return self.store.ensure_issuer(
            {
                "id": provider_issuer_id(provider_name),
                "city": self.city,
                "kind": "partner",
                "name": provider_name.strip()[:200],
            }
        )

    def default_class(self, completion: dict) -> dict:
        """Return the opportunity's own badge class, creating version 1 on first use."""
        issuer = self.provider_issuer(completion["provider_name"])
        title = completion["opportunity_title"]
        badge_class, _ = self.store.create_badge_class(
            {
                "id": default_class_id(completion["opportunity_id"]),
                "city": self.city,
                "issuer_id": issuer["id"],
                "opportunity_id": completion["opportunity_id"],
                "name": f"Completed: {title}"[:200],
                "description": f"Awarded for completing {title}, run by "
                f"{completion['provider_name']}."[:2000],
                "criteria": {
                    "narrative": f"Take part in {title} and complete it, as "
                    f"recorded by {completion['provider_name']}.",
                    "url": self.urls.opportunity(completion["opportunity_id"]),
                },
                "alignments": [],
                "tags": [],
                "evidence_required": False,
                "valid_days": None,
                "image": None,
            }
        )
        return badge_class

    def class_for_completion(self, completion: dict) -> dict | None:
        """Apply the opportunity's badge rule: its class, no badge, or the default."""
        rule = self.store.get_rule(self.city, completion["opportunity_id"])
        if rule is None:
            return self.default_class(completion)
        if rule["badge_class_id"] == NO_BADGE:
            return None
        badge_class = self.store.get_badge_class(self.city, rule["badge_class_id"])
        if badge_class is None:
            raise NotFound(
                f"badge class {rule['badge_class_id']!r} of the rule for "
                f"{completion['opportunity_id']} not found in {self.city}"
            )
        return badge_class

    # Issuing ---------------------------------------------------------------

    def issue(
        self,
        badge_class: dict,
        youth_id: str,
        source_key: str,
        opportunity_id: str,
        evidence: list[dict],
        **facts,
    ) -> tuple[dict, bool]:
        """Issue ``badge_class`` to a youth once per ``source_key``; announce it.

        Returns (assertion, created). ``facts`` adds stored fields such as
        ``completion_id``, ``playlist_id``, ``awarded_by`` and ``narrative``.
        Raises ``Conflict`` when the youth's data was erased.
        """
        if self.store.is_erased(self.city, youth_id):
            raise Conflict(
                f"youth {youth_id!r} was erased in {self.city}: no badge can be "
                "issued to them"
            )
        identifier = assertion_id(self.city, source_key)
        existing = self.store.get_assertion(self.city, identifier)
        if existing is not None:
            self.announce(existing)
            return existing, False

        issuer = self.store.get_issuer(self.city, badge_class["issuer_id"])
        if issuer is None:
            raise NotFound(
                f"issuer {badge_class['issuer_id']!r} of badge class "
                f"{badge_class['id']} not found in {self.city}"
            )
        issued = datetime.now(timezone.utc).replace(microsecond=0)
        expires = (
            issued + timedelta(days=badge_class["valid_days"])
            if badge_class.get("valid_days")
            else None
        )
        salt = secrets.token_hex(8)
        identity = self.urls.youth(youth_id)
        record = {
            "id": identifier,
            "city": self.city,
            "source": source_key,
            "youth_id": youth_id,
            "opportunity_id": opportunity_id,
            "badge_class_id": badge_class["id"],
            "badge_class_version": badge_class["version"],
            "badge_name": badge_class["name"],
            "issuer_id": issuer["id"],
            "issuer_name": issuer["name"],
            "issued_on": issued.isoformat(),
            "expires": expires.isoformat() if expires else None,
            "recipient": {
                "identity": identity,
                "salt": salt,
                "hash": ob2.hashed_identity(identity, salt),
            },
            "evidence": evidence,
            "status_index": self.store.next_status_index(self.city, issuer["id"]),
            "credential_id": credential_id(self.urls.assertion(identifier)),
            "public": False,
            "revoked": False,
            "announced": False,
            **facts,
        }
        record["open_badge"] = ob2.assertion_document(self.urls, record)
        assertion, created = self.store.add_assertion(record)
        self.announce(assertion)
        if created:
            logger.info(
                "issued badge %s (%s) from %s",
                assertion["id"],
                assertion["badge_class_id"],
                source_key.split(":")[0],
            )
        return assertion, created

    def announce(self, assertion: dict) -> None:
        """Dispatch ``badge_issued`` unless it was; a retry reuses the event id."""
        if assertion.get("announced"):
            return
        self.publish(
            events.BADGE_ISSUED,
            self.city,
            {
                "assertion_id": assertion["id"],
                "youth_id": assertion["youth_id"],
                "badge_class_id": assertion["badge_class_id"],
                "opportunity_id": assertion["opportunity_id"],
                "completion_id": assertion.get("completion_id") or assertion["source"],
                "issued_on": assertion["issued_on"],
                "assertion": assertion["open_badge"],
            },
            event_id=f"badge-issued-{assertion['id']}",
        )
        self.store.mark(self.city, assertion["id"], announced=True)
        assertion["announced"] = True

    def revoke(self, identifier: str, reason: str) -> dict:
        """Revoke an assertion and dispatch ``badge_revoked`` once.

        Revoking a revoked assertion returns it unchanged (with its first
        reason) and only re-sends the event if the first dispatch failed.
        """
        revoked = self.store.revoke(self.city, identifier, reason)
        if revoked is None:
            revoked = self.store.get_assertion(self.city, identifier)
            if revoked is None:
                raise NotFound(
                    f"badge assertion {identifier!r} not found in {self.city}"
                )
        if not revoked.get("revocation_announced"):
            self.publish(
                events.BADGE_REVOKED,
                self.city,
                {
                    "assertion_id": revoked["id"],
                    "youth_id": revoked["youth_id"],
                    "badge_class_id": revoked["badge_class_id"],
                    "revoked_on": revoked["revoked_on"],
                    "reason": revoked["revocation_reason"],
                },
                event_id=f"badge-revoked-{revoked['id']}",
            )
            self.store.mark(self.city, revoked["id"], revocation_announced=True)
            revoked["revocation_announced"] = True
            logger.info("revoked badge %s", revoked["id"])
        return revoked

    # Completions and playlists ---------------------------------------------

    def on_completion(self, completion: dict) -> dict | None:
        """Record a completion, issue its badge by the rule, then check playlists.

        A completion of an erased youth, arriving after ``youth_erased``, is dropped.
        """
        if self.store.is_erased(self.city, completion["youth_id"]):
            logger.info(
                "completion %s dropped: its youth was erased",
                completion["completion_id"],
            )
            return None
        self.store.record_completion(self.city, completion)
        assertion = None
        badge_class = self.class_for_completion(completion)
        if badge_class is None:
            self.store.set_completion_status(
                self.city, completion["completion_id"], "no_badge_by_rule"
            )
        elif badge_class.get("evidence_required") and not completion.get(
            "evidence_url"
        ):
            # Staff can still award this class for the completion with evidence.
            self.store.set_completion_status(
                self.city, completion["completion_id"], "awaiting_evidence"
            )
            logger.info(
                "completion %s awaits evidence for %s",
                completion["completion_id"],
                badge_class["id"],
            )
        else:
            assertion, _ = self.issue(
                badge_class,
                completion["youth_id"],
                completion["completion_id"],
                completion["opportunity_id"],
                completion_evidence(completion),
                completion_id=completion["completion_id"],
            )
            self.store.set_completion_status(
                self.city, completion["completion_id"], "issued"
            )
        for playlist in self.store.playlists_with(
            self.city, completion["opportunity_id"]
        ):
            self.check_playlist(playlist, completion["youth_id"])
        return assertion

    def check_playlist(self, playlist: dict, youth_id: str) -> dict | None:
        """Issue the playlist's badge if the youth completed every opportunity in it."""
        completions = {
            item["opportunity_id"]: item
            for item in self.store.completions_for_youth(self.city, youth_id)
        }
        if any(
            opportunity not in completions
            for opportunity in playlist["opportunity_ids"]
        ):
            return None
        badge_class = self.store.get_badge_class(self.city, playlist["badge_class_id"])
        if badge_class is None:
            raise Conflict(
                f"badge class {playlist['badge_class_id']!r} of playlist "
                f"{playlist['id']} not found in {self.city}"
            )
        done = [completions[opportunity] for opportunity in playlist["opportunity_ids"]]
        last = max(done, key=lambda item: item["completed_at"])
        evidence = [
            {
                "name": f"Playlist: {playlist['name']}",
                "narrative": "Completed, in this order of the playlist: "
                + "; ".join(item["opportunity_title"] for item in done)
                + ".",
                "genre": "Playlist completion",
            }
        ]
        assertion, _ = self.issue(
            badge_class,
            youth_id,
            f"playlist:{playlist['id']}:{youth_id}",
            last["opportunity_id"],
            evidence,
            playlist_id=playlist["id"],
        )
        return assertion
