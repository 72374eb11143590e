"""Entrypoints for the public documents verifiers fetch, and for verification.

They serve an archived city too (``TenantScope.readable_city``), so badges issued
before the city was archived still verify; issuing new ones raises ``CityArchived``.

Each document RPC returns ``{"status", "media_type", "body" | "body_base64"}``
(see ``hosting.document``), which the gateway serves unchanged.
"""

import base64
import binascii
import logging

from cities_common.rpc import rpc

from cities_common.errors import CityArchived, InvalidInput, NotFound, UnknownCity
from services.badges import hosting
from services.badges.hosting import document
from services.badges.verify import Fetcher, Verifier

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, InvalidInput, NotFound, UnknownCity)
IMAGE_KINDS = ("png", "svg")
STANDARDS = ("ob2", "ob3")


def _version(value) -> int:
    try:
        version = int(value)
    except (TypeError, ValueError) as exc:
        raise NotFound(f"badge class version {value!r} not found") from exc
    if version < 1:
        raise NotFound(f"badge class version {value!r} not found")
    return version


class PublicEntrypoints:
    """RPCs behind the public, unauthenticated routes; mixed into ``BadgesService``."""

    def public_hosting(self) -> hosting.Hosting:
        """Return the hosting of the worker's city, active or archived."""
        return self.hosting(self.tenant.readable_city)

    @rpc(expected_exceptions=EXPECTED)
    def hosted_issuer(self, issuer_id):
        city = self.tenant.readable_city
        return document(
            hosting.JSON_LD, self.hosting(city).issuer_document(str(issuer_id))
        )

    @rpc(expected_exceptions=EXPECTED)
    def issuer_image(self, issuer_id):
        media_type, data = self.public_hosting().issuer_image(str(issuer_id))
        return document(media_type, data)

    @rpc(expected_exceptions=EXPECTED)
    def issuer_key(self, issuer_id, key_id):
        key = self.public_hosting().cryptographic_key(
            str(issuer_id), str(key_id)
        )
        return document(hosting.JSON_LD, key)

    @rpc(expected_exceptions=EXPECTED)
    def revocation_list(self, issuer_id):
        revocations = self.public_hosting().revocation_list(str(issuer_id))
        return document(hosting.JSON_LD, revocations)

    @rpc(expected_exceptions=EXPECTED)
    def status_list(self, issuer_id, number):
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise NotFound(f"status list {number!r} not found") from exc
        token = self.public_hosting().status_list(str(issuer_id), number)
        return document("application/vc+jwt", token)

    @rpc(expected_exceptions=EXPECTED)
    def hosted_badge_class(self, class_id, version=None):
        city = self.tenant.readable_city
        version = None if version is None else _version(version)
        body = self.hosting(city).badge_class_document(str(class_id), version)
        return document(hosting.JSON_LD, body)

    @rpc(expected_exceptions=EXPECTED)
    def badge_class_image(self, class_id, version):
        city = self.tenant.readable_city
        media_type, data = self.hosting(city).class_image(
            str(class_id), _version(version)
        )
        return document(media_type, data)

    @rpc(expected_exceptions=EXPECTED)
    def hosted_endorsement(self, endorsement_id):
        body = self.public_hosting().endorsement_document(str(endorsement_id))
        return document(hosting.JSON_LD, body)

    @rpc(expected_exceptions=EXPECTED)
    def hosted_assertion(self, assertion_id):
        """Return the hosted OB 2.0 assertion; once revoked it has the reason."""
        body = self.public_hosting().assertion_document(str(assertion_id))
        return document(hosting.JSON_LD, body)

    @rpc(expected_exceptions=EXPECTED)
    def signed_assertion(self, assertion_id):
        token = self.public_hosting().signed_assertion(str(assertion_id))
        return document(hosting.JOSE, token)

    @rpc(expected_exceptions=EXPECTED)
    def credential(self, assertion_id):
        token = self.public_hosting().credential(str(assertion_id))
        return document("application/vc+jwt", token)

    @rpc(expected_exceptions=EXPECTED)
    def baked_image(self, assertion_id, kind, standard="ob2"):
        """Return the class image baked with the OB 2.0 JWS or the OB 3.0 VC-JWT."""
        if kind not in IMAGE_KINDS:
            raise NotFound(f"image format {kind!r} not found; use png or svg")
        if standard not in STANDARDS:
            raise InvalidInput(
                {"standard": ["must be ob2 or ob3"]}, "invalid image request"
            )
        image = self.public_hosting().baked_image(
            str(assertion_id), kind, standard
        )
        return document(hosting.PNG if kind == "png" else hosting.SVG, image)

    @rpc(expected_exceptions=EXPECTED)
    def jwks(self):
        return document(hosting.JWKS, self.public_hosting().jwks())

    @rpc(expected_exceptions=EXPECTED)
    def jwk(self, key_id):
        return document(hosting.JWK, self.public_hosting().jwk(str(key_id)))

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("submission",))
    def verify(self, submission, recipient=None):
        """Verify a submitted badge through the gateway's public URLs.

        ``submission`` is ``{"body_base64": ...}`` for an image or raw upload,
        ``{"text": ...}`` for a token, URL or JSON text, or ``{"document": {...}}``.
        Returns the verification report; an invalid badge is a report, not an error.
        """
        data = self.submitted_data(submission)
        settings_base = self.settings().public_base_url
        verifier = Verifier(settings_base, Fetcher(settings_base))
        report = verifier.verify(data, expected_recipient=recipient)
        logger.info(
            "verified a %s submission: %s",
            report["standard"],
            "valid" if report["valid"] else f"invalid ({report['failed_check']})",
        )
        return report

    @staticmethod
    def submitted_data(submission):
        if not isinstance(submission, dict) or len(submission) != 1:
            raise InvalidInput(
                {"submission": ["give exactly one of body_base64, text or document"]},
                "invalid verification",
            )
        if "document" in submission and isinstance(submission["document"], dict):
            return submission["document"]
        if "text" in submission and isinstance(submission["text"], str):
            return submission["text"]
        if "body_base64" in submission and isinstance(submission["body_base64"], str):
            try:
                return base64.b64decode(submission["body_base64"], validate=True)
            except binascii.Error as exc:
                raise InvalidInput(
                    {"body_base64": ["is not valid base64"]}, "invalid verification"
                ) from exc
        raise InvalidInput(
            {"submission": ["give exactly one of body_base64, text or document"]},
            "invalid verification",
        )
