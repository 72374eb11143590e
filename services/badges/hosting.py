"""The public documents of one city: hosted JSON-LD, signed tokens, keys and images.

``Hosting`` reads the store and returns ``(media type, body)`` pairs that the
gateway serves as they are. Signatures are made when a document is requested:
RS256 and Ed25519 signatures are deterministic, so the same assertion signed
with the same key always gives the same token.
"""

import base64
import json
import uuid

from cities_common.errors import NotFound
from services.badges import images, keys, ob2, ob3
from services.badges.statuslist import LIST_SIZE
from services.badges.urls import BadgeUrls

JSON_LD = "application/ld+json"
JSON = "application/json"
JWK = "application/jwk+json"
JWKS = "application/jwk-set+json"
JOSE = "application/jose"
PNG = "image/png"
SVG = "image/svg+xml"


def document(media_type: str, body, status: int = 200) -> dict:
    """Package a response for the gateway; bytes travel base64-encoded over RPC."""
    if isinstance(body, bytes):
        return {
            "status": status,
            "media_type": media_type,
            "body_base64": base64.b64encode(body).decode(),
        }
    if not isinstance(body, str):
        body = json.dumps(body, indent=2)
    return {"status": status, "media_type": media_type, "body": body}


class Hosting:
    """Build the public documents of one city's badges."""

    def __init__(self, store, urls: BadgeUrls, city: str):
        self.store = store
        self.urls = urls
        self.city = city

    # Lookups -----------------------------------------------------------------

    def issuer(self, issuer_id: str) -> dict:
        issuer = self.store.get_issuer(self.city, issuer_id)
        if issuer is None:
            raise NotFound(f"issuer {issuer_id!r} not found in {self.city}")
        return issuer

    def badge_class(self, class_id: str, version: int | None = None) -> dict:
        if version is None:
            badge_class = self.store.get_badge_class(self.city, class_id)
        else:
            badge_class = self.store.get_badge_class_version(
                self.city, class_id, version
            )
        if badge_class is None:
            label = class_id if version is None else f"{class_id} version {version}"
            raise NotFound(f"badge class {label!r} not found in {self.city}")
        return badge_class

    def assertion(self, assertion_id: str) -> dict:
        assertion = self.store.get_assertion(self.city, assertion_id)
        if assertion is None:
            raise NotFound(f"badge assertion {assertion_id!r} not found in {self.city}")
        return assertion

    def signing_key(self, algorithm: str) -> keys.SigningKey:
        return self.store.keyring.key(self.city, algorithm)

    # Issuers and keys --------------------------------------------------------

    def issuer_document(self, issuer_id: str) -> dict:
        issuer = self.issuer(issuer_id)
        key_ids = [key.key_id for key in self.store.keyring.published(self.city)]
        endorsements = self.store.endorsements_of(self.city, "issuer", issuer_id)
        return ob2.issuer_document(self.urls, issuer, key_ids, endorsements)

    def issuer_image(self, issuer_id: str) -> tuple[str, bytes]:
        issuer = self.issuer(issuer_id)
        if not issuer.get("image"):
            raise NotFound(f"issuer {issuer_id!r} has no image")
        kind, data = images.decode_data_uri(issuer["image"])
        return (PNG if kind == "png" else SVG), data

    def cryptographic_key(self, issuer_id: str, key_id: str) -> dict:
        self.issuer(issuer_id)
        signing_key = self.store.keyring.find(self.city, key_id)
        if signing_key is None:
            raise NotFound(f"key {key_id!r} not found in {self.city}")
        return ob2.cryptographic_key_document(
            self.urls,
            issuer_id,
            key_id,
            signing_key.public_pem(),
            signing_key.revoked_at,
            signing_key.revocation_reason,
        )

    def jwks(self) -> dict:
        """Return the JWKS: the keys in use and retired ones, never revoked ones."""
        return {
            "keys": [
                key.public_jwk(self.urls.jwk(key.key_id))
                for key in self.store.keyring.published(self.city)
            ]
        }

    def jwk(self, key_id: str) -> dict:
        signing_key = self.store.keyring.find(self.city, key_id)
        if signing_key is None:
            raise NotFound(f"key {key_id!r} not found in {self.city}")
        return signing_key.public_jwk(self.urls.jwk(key_id))

    # Revocation --------------------------------------------------------------

    def revocation_list(self, issuer_id: str) -> dict:
        self.issuer(issuer_id)
        revoked = self.store.revoked_for_issuer(self.city, issuer_id)
        return ob2.revocation_list_document(self.urls, issuer_id, revoked)

    def status_list(self, issuer_id: str, number: int) -> str:
        """Return the issuer's status list ``number`` as a signed VC-JWT."""
        self.issuer(issuer_id)
        positions = [
            item["status_index"] - number * LIST_SIZE
            for item in self.store.revoked_for_issuer(self.city, issuer_id)
            if item.get("status_index") is not None
            and item["status_index"] // LIST_SIZE == number
        ]
        credential = ob3.status_list_credential(self.urls, issuer_id, number, positions)
        signing_key = self.signing_key(keys.EDDSA)
        return ob3.sign_credential(
            signing_key, self.urls.jwk(signing_key.key_id), credential
        )

    # Badge classes and endorsements ----------------------------------------

    def badge_class_document(self, class_id: str, version: int | None = None) -> dict:
        badge_class = self.badge_class(class_id, version)
        endorsements = self.store.endorsements_of(self.city, "badge_class", class_id)
        return ob2.badge_class_document(
            self.urls, badge_class, endorsements, versioned=version is not None
        )

    def class_image(
        self, class_id: str, version: int, kind: str | None = None
    ) -> tuple[str, bytes]:
        """Return a class version's image as PNG or SVG (by default its own kind)."""
        badge_class = self.badge_class(class_id, version)
        if badge_class.get("image"):
            own_kind, data = images.decode_data_uri(badge_class["image"])
        else:
            own_kind, data = "png", images.default_png(class_id)
        kind = kind or own_kind
        if kind == own_kind:
            return (PNG if kind == "png" else SVG), data
        if kind == "svg":
            return SVG, images.svg_wrapping_png(data)
        # An SVG cannot be rasterised here, so a PNG of an SVG class is the default.
        return PNG, images.default_png(class_id)

    def endorsement_document(self, endorsement_id: str) -> dict:
        endorsement = self.store.get_endorsement(self.city, endorsement_id)
        if endorsement is None:
            raise NotFound(f"endorsement {endorsement_id!r} not found in {self.city}")
        return ob2.endorsement_document(self.urls, endorsement)

    # Assertions --------------------------------------------------------------

    def assertion_document(self, assertion_id: str) -> dict:
        return ob2.assertion_document(self.urls, self.assertion(assertion_id))

    def signed_assertion(self, assertion_id: str) -> str:
        """Return the OB 2.0 signed assertion: a compact RS256 JWS."""
        assertion = self.assertion(assertion_id)
        signing_key = self.signing_key(keys.RS256)
        creator = self.urls.issuer_key(assertion["issuer_id"], signing_key.key_id)
        payload = ob2.signed_payload(self.urls, assertion, creator)
        return keys.sign_jws(signing_key, payload, {"kid": creator})

    def credential(self, assertion_id: str) -> str:
        """Return the OB 3.0 ``OpenBadgeCredential`` as an EdDSA VC-JWT."""
        assertion = self.assertion(assertion_id)
        return self.credential_of(assertion)

    def credential_of(self, assertion: dict) -> str:
        badge_class = self.badge_class(
            assertion["badge_class_id"], assertion["badge_class_version"]
        )
        issuer = self.issuer(assertion["issuer_id"])
        credential = ob3.open_badge_credential(
            self.urls, assertion, badge_class, issuer
        )
        signing_key = self.signing_key(keys.EDDSA)
        return ob3.sign_credential(
            signing_key, self.urls.jwk(signing_key.key_id), credential
        )

    def baked_image(self, assertion_id: str, kind: str, standard: str) -> bytes:
        """Bake the OB 2.0 JWS or the OB 3.0 VC-JWT into the class image."""
        assertion = self.assertion(assertion_id)
        _, image = self.class_image(
            assertion["badge_class_id"], assertion["badge_class_version"], kind
        )
        if standard == "ob3":
            token = self.credential_of(assertion)
            keyword = images.OB3_KEYWORD
        else:
            token = self.signed_assertion(assertion_id)
            keyword = images.OB2_KEYWORD
        if kind == "png":
            return images.bake_png(image, token, keyword)
        return images.bake_svg(image, token, standard)

    # Learner record ----------------------------------------------------------

    def learner_record(self, youth_id: str, city_issuer: dict) -> str:
        """Sign a CLR 2.0 record of every valid badge the youth holds, with evidence."""
        assertions = [
            item
            for item in self.store.list_for_youth(self.city, youth_id)
            if not item.get("revoked")
        ]
        members = [self.credential_of(item) for item in assertions]
        achievements = [
            ob3.achievement(
                self.urls,
                self.badge_class(item["badge_class_id"], item["badge_class_version"]),
            )
            for item in assertions
        ]
        salt = uuid.uuid4().hex[:16]
        identity = self.urls.youth(youth_id)
        identifier = ob3.identity_object(
            {"salt": salt, "hash": ob2.hashed_identity(identity, salt)}
        )
        record = ob3.learner_record(
            self.urls,
            city_issuer,
            f"urn:uuid:{uuid.uuid4()}",
            identifier,
            members,
            achievements,
        )
        signing_key = self.signing_key(keys.EDDSA)
        return ob3.sign_credential(
            signing_key, self.urls.jwk(signing_key.key_id), record
        )
