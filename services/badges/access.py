"""The owner facts of issuers, badge classes, assertions, playlists and
endorsements; mixed into ``BadgesService``.

An issuer with an ``organization_id`` belongs to that partner organisation. A
badge class belongs to its issuer's organisation, and an assertion to its class's.
The assertion's own ``issuer_id`` is its class's issuer, because a class never
changes issuer. An endorsement belongs to its endorser's organisation. An owner of
None means the record is the city's.
"""

from cities_common.access_facts import check_request
from cities_common.errors import NotFound
from cities_common.rpc import rpc

FACT_KINDS = ("issuer", "badge_class", "assertion", "playlist", "endorsement")


class AccessFactsEntrypoints:
    """The ``access_facts`` entrypoint: who owns a badge record."""

    @rpc
    def access_facts(self, kind, record_id):
        """Return the ids the gateway checks access against.

        Raises ``InvalidInput`` for an unknown ``kind`` and ``NotFound`` when the
        context city has no such record.
        """
        record_id = check_request(kind, record_id, FACT_KINDS)
        city = self.tenant.city
        facts = {
            "issuer": self.issuer_facts,
            "badge_class": self.badge_class_facts,
            "assertion": self.assertion_facts,
            "playlist": self.playlist_facts,
            "endorsement": self.endorsement_facts,
        }[kind]
        return facts(city, record_id)

    def issuer_facts(self, city, issuer_id):
        issuer = self.require_issuer(city, issuer_id)
        return {
            "issuer_id": issuer["id"],
            "organization_id": issuer.get("organization_id"),
            "kind": issuer["kind"],
        }

    def badge_class_facts(self, city, class_id):
        badge_class = self.require_class(city, class_id)
        return {
            "badge_class_id": badge_class["id"],
            "issuer_id": badge_class["issuer_id"],
            "organization_id": self.issuer_owner(city, badge_class["issuer_id"]),
        }

    def assertion_facts(self, city, assertion_id):
        assertion = self.store.get_assertion(city, assertion_id)
        if assertion is None:
            raise NotFound(f"assertion {assertion_id!r} not found in {city}")
        return {
            "assertion_id": assertion["id"],
            "youth_id": assertion["youth_id"],
            "badge_class_id": assertion["badge_class_id"],
            "issuer_id": assertion["issuer_id"],
            "organization_id": self.issuer_owner(city, assertion["issuer_id"]),
        }

    def playlist_facts(self, city, playlist_id):
        playlist = self.store.get_playlist(city, playlist_id)
        if playlist is None:
            raise NotFound(f"playlist {playlist_id!r} not found in {city}")
        return {
            "playlist_id": playlist["id"],
            "organization_id": playlist.get("organization_id"),
        }

    def endorsement_facts(self, city, endorsement_id):
        endorsement = self.store.get_endorsement(city, endorsement_id)
        if endorsement is None:
            raise NotFound(f"endorsement {endorsement_id!r} not found in {city}")
        return {
            "endorsement_id": endorsement["id"],
            "endorser_id": endorsement["endorser_id"],
            "organization_id": self.issuer_owner(city, endorsement["endorser_id"]),
        }
