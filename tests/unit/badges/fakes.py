"""An in-memory stand-in for ``BadgeStore`` with the methods issuing and hosting use."""

import mongomock

from services.badges.keys import KeyRing
from services.badges.storage import now

# A passphrase of the minimum length, for tests only.
PASSPHRASE = "unit-test-passphrase"


class FakeCities:
    def __init__(self, cities):
        self.cities = cities

    def get(self, slug):
        return self.cities.get(slug)


class FakeBadgeStore:
    def __init__(self):
        self.cities = FakeCities({"chicago": {"slug": "chicago", "name": "Chicago"}})
        self.keyring = KeyRing(mongomock.MongoClient().badges.signing_keys, PASSPHRASE)
        self.issuers, self.classes, self.versions = {}, {}, {}
        self.rules, self.completions, self.assertions = {}, {}, {}
        self.endorsements, self.playlists, self.counter = [], [], 0

    def ensure_issuer(self, issuer):
        self.issuers.setdefault(issuer["id"], dict(issuer))
        return self.issuers[issuer["id"]]

    def get_issuer(self, city, issuer_id):
        return self.issuers.get(issuer_id)

    def create_badge_class(self, badge_class):
        if badge_class["id"] in self.classes:
            return self.classes[badge_class["id"]], False
        record = {**badge_class, "version": 1}
        self.classes[record["id"]] = record
        self.versions[(record["id"], 1)] = dict(record)
        return record, True

    def get_badge_class(self, city, class_id):
        return self.classes.get(class_id)

    def get_badge_class_version(self, city, class_id, version):
        return self.versions.get((class_id, version))

    def get_rule(self, city, opportunity_id):
        return self.rules.get(opportunity_id)

    def record_completion(self, city, completion):
        self.completions.setdefault(completion["completion_id"], dict(completion))

    def set_completion_status(self, city, completion_id, status):
        self.completions[completion_id]["badge_status"] = status

    def get_completion(self, city, completion_id):
        return self.completions.get(completion_id)

    def completions_for_youth(self, city, youth_id):
        return [
            item for item in self.completions.values() if item["youth_id"] == youth_id
        ]

    def playlists_with(self, city, opportunity_id):
        return [
            item for item in self.playlists if opportunity_id in item["opportunity_ids"]
        ]

    def get_assertion(self, city, identifier):
        return self.assertions.get(identifier)

    def is_erased(self, city, youth_id):
        return False

    def add_assertion(self, assertion):
        if assertion["id"] in self.assertions:
            return self.assertions[assertion["id"]], False
        self.assertions[assertion["id"]] = assertion
        return assertion, True

    def mark(self, city, identifier, **fields):
        self.assertions[identifier].update(fields)

    def next_status_index(self, city, issuer_id):
        self.counter += 1
        return self.counter - 1

    def revoke(self, city, identifier, reason):
        assertion = self.assertions.get(identifier)
        if assertion is None or assertion.get("revoked"):
            return None
        assertion.update(revoked=True, revoked_on=now(), revocation_reason=reason)
        return assertion

    def revoked_for_issuer(self, city, issuer_id):
        return [
            item
            for item in self.assertions.values()
            if item["issuer_id"] == issuer_id and item.get("revoked")
        ]

    def endorsements_of(self, city, target_type, target_id):
        return [
            item
            for item in self.endorsements
            if (item["target_type"], item["target_id"]) == (target_type, target_id)
        ]

    def get_endorsement(self, city, endorsement_id):
        return next(
            (item for item in self.endorsements if item["id"] == endorsement_id), None
        )

    def list_for_youth(self, city, youth_id):
        return [
            item for item in self.assertions.values() if item["youth_id"] == youth_id
        ]

    # Staff and portfolio methods -----------------------------------------------

    def save_issuer(self, issuer):
        stored = self.issuers.get(issuer["id"], {})
        owner = issuer.get("organization_id")
        if owner is None:
            issuer = {k: v for k, v in issuer.items() if k != "organization_id"}
        elif stored.get("organization_id") not in (None, owner):
            return None
        self.issuers[issuer["id"]] = {**stored, **issuer}
        return self.issuers[issuer["id"]]

    def list_issuers(self, city):
        return list(self.issuers.values())

    def set_rule(self, city, opportunity_id, rule):
        self.rules[opportunity_id] = {"opportunity_id": opportunity_id, **rule}
        return self.rules[opportunity_id]

    def set_public(self, city, youth_id, identifier, public):
        assertion = self.assertions.get(identifier)
        if assertion is None or assertion["youth_id"] != youth_id:
            return None
        assertion["public"] = public
        return assertion

    def add_share_link(self, link):
        self.share_links = getattr(self, "share_links", []) + [link]
        return link

    def list_share_links(self, city, youth_id):
        return [
            item
            for item in getattr(self, "share_links", [])
            if item["youth_id"] == youth_id
        ]

    def find_share_link(self, city, token_hash):
        return next(
            (
                item
                for item in getattr(self, "share_links", [])
                if item["token_hash"] == token_hash and not item["revoked"]
            ),
            None,
        )

    def revoke_share_link(self, city, youth_id, link_id):
        for item in self.list_share_links(city, youth_id):
            if item["id"] == link_id:
                item["revoked"] = True
                return True
        return False

    def save_endorsement(self, endorsement):
        existing = self.get_endorsement(endorsement["city"], endorsement["id"])
        if existing is not None:
            existing["comment"] = endorsement["comment"]
            return existing, False
        self.endorsements.append(endorsement)
        return endorsement, True

    def list_playlists(self, city):
        return list(self.playlists)

    def get_playlist(self, city, playlist_id):
        return next(
            (item for item in self.playlists if item["id"] == playlist_id), None
        )

    def create_playlist(self, playlist):
        self.playlists.append(playlist)
        return playlist

    def youth_with_completions(self, city, opportunity_ids):
        return {
            item["youth_id"]
            for item in self.completions.values()
            if item["opportunity_id"] in opportunity_ids
        }

    def list_badge_classes(self, city, issuer_id=None):
        return [
            item
            for item in self.classes.values()
            if issuer_id in (None, item["issuer_id"])
        ]
