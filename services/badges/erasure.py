"""Erasing a youth's badge data on ``youth_erased``.

Every badge of the youth is revoked with the reason ``recipient_erased``, so its
hosted assertion, the issuer's revocation list and the OB 3.0 status list tell a
verifier that the badge is no longer valid. The assertion itself stays, because
those documents and the badge counts per class need it, but it loses what is
about the young person: the evidence and narrative, the plain recipient
identity (the salted hash stays) and the tie to the youth id. Share links and
recorded completions are deleted.
"""

import logging

from services.badges import ob2
from services.badges.issuing import Issuance
from services.badges.storage import now

logger = logging.getLogger(__name__)

REVOCATION_REASON = "recipient_erased"


def anonymised_assertion(issuance: Issuance, assertion: dict) -> dict:
    """Return the fields that replace the assertion's personal data."""
    changes = {
        "youth_id": f"erased-{assertion['id']}",
        "evidence": [],
        "narrative": None,
        "public": False,
        "recipient": {
            "salt": assertion["recipient"]["salt"],
            "hash": assertion["recipient"]["hash"],
        },
        "erased_at": now(),
    }
    changes["open_badge"] = ob2.assertion_document(
        issuance.urls, {**assertion, **changes}
    )
    return changes


def erase_youth(store, issuance: Issuance, erasure_id: str, youth_id: str) -> dict:
    """Revoke and anonymise the youth's badges, delete links and completions.

    Records the youth as erased first, so a completion that arrives later issues
    nothing. Dispatches ``badge_revoked`` for each badge it revokes. Returns the
    counts of every attempt together.
    """
    city = issuance.city
    store.start_erasure(city, youth_id, erasure_id)
    for assertion in store.list_for_youth(city, youth_id):
        assertion = issuance.revoke(assertion["id"], REVOCATION_REASON)
        # A badge revoked earlier keeps its first reason and is not counted here.
        revoked = assertion.get("revocation_reason") == REVOCATION_REASON
        changes = anonymised_assertion(issuance, assertion)
        if store.anonymise_assertion(city, youth_id, assertion["id"], changes):
            store.count_erased(city, youth_id, {
                "badges_revoked": int(revoked), "badges_anonymised": 1})
    share_links = store.delete_share_links(city, youth_id)
    completions = store.delete_completions(city, youth_id)
    counts = store.count_erased(city, youth_id, {
        "badges_revoked": 0, "badges_anonymised": 0,
        "share_links_deleted": share_links, "completions_deleted": completions})
    logger.info("erased the badge data of youth %s (erasure %s): %s", youth_id,
                erasure_id, counts)
    return counts
