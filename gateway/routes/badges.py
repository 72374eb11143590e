"""Badges: issuers, badge classes, awards, hosted Open Badges documents, keys,
revocation, endorsements, playlists, youth portfolios and verification.

Public documents (hosted JSON-LD, keys, signed tokens, images) are served with
their own media type and ``Access-Control-Allow-Origin: *``, so verifiers on
other origins can fetch them.
"""

import base64
import json

from werkzeug.wrappers import Response

from gateway.access import (
    OPERATOR, PUBLIC, SIGNED_IN, STAFF, YOUTH_OWNER, BadgeStaff, OpportunityStaff,
    acting_organization, route, signed_in,
)
from cities_common.errors import Forbidden, NotFound
from gateway.errors import BadRequest, PayloadTooLarge
from gateway.requests import json_body, optional_json_body

CITY = "/v1/cities/<string:city>"
MAX_VERIFY_BYTES = 1024 * 1024
TEXT_MEDIA_TYPES = (
    "text/plain",
    "application/jose",
    "application/jwt",
    "application/vc+jwt",
)
IMAGE_MEDIA_TYPES = ("image/png", "image/svg+xml", "application/octet-stream")


def hosted(result: dict) -> Response:
    """Serve a document returned by the badges service with its own media type."""
    if "body_base64" in result:
        body = base64.b64decode(result["body_base64"])
    else:
        body = result["body"]
    response = Response(
        body, status=result.get("status", 200), content_type=result["media_type"]
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if result["media_type"] == "image/svg+xml":
        # A badge SVG opened directly in a browser runs no script.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        )
    return response


def verification_submission(request) -> dict:
    """Turn a POSTed image, token or JSON document into the ``verify`` RPC argument."""
    if request.content_length and request.content_length > MAX_VERIFY_BYTES:
        raise PayloadTooLarge(MAX_VERIFY_BYTES)
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest(
            {
                "body": [
                    "is missing: send a baked PNG or SVG, a JSON "
                    "assertion, or a JWS or VC-JWT as text"
                ]
            }
        )
    media_type = (request.mimetype or "").lower()
    if media_type in IMAGE_MEDIA_TYPES:
        return {"body_base64": base64.b64encode(raw).decode()}
    if media_type in TEXT_MEDIA_TYPES:
        return {"text": raw.decode("utf-8", errors="replace")}
    if media_type in ("application/json", "application/ld+json"):
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest({"body": [f"is not valid JSON ({exc})"]}) from exc
        if isinstance(body, dict) and set(body) == {"token"}:
            return {"text": str(body["token"])}
        if isinstance(body, dict) and set(body) == {"url"}:
            return {"text": str(body["url"])}
        if isinstance(body, dict):
            return {"document": body}
        raise BadRequest(
            {"body": ['must be an assertion object, {"token": ...} or {"url": ...}']}
        )
    raise BadRequest(
        {
            "Content-Type": [
                f"{media_type or 'none'} is not accepted; use "
                "image/png, image/svg+xml, application/json or "
                "text/plain"
            ]
        }
    )


class BadgesRoutes:
    """Routes under ``/v1/cities/<city>`` served by the badges service."""

    # Youth: badges, portfolio, share links, learner record ---------------------

    @route("GET", f"{CITY}/youth/<string:youth_id>/badges", access=YOUTH_OWNER)
    def list_badges(self, request, city, youth_id):
        return {"badges": self.badges_rpc.list_badges(youth_id)}

    @route("GET", f"{CITY}/youth/<string:youth_id>/portfolio", access=YOUTH_OWNER)
    def get_portfolio(self, request, city, youth_id):
        return self.badges_rpc.portfolio(youth_id)

    @route("PUT", f"{CITY}/youth/<string:youth_id>/portfolio/badges/<string:assertion_id>",
           access=YOUTH_OWNER)
    def set_badge_visibility(self, request, city, youth_id, assertion_id):
        """Make a badge public (shown on share links) or private."""
        return self.badges_rpc.set_badge_visibility(
            youth_id, assertion_id, json_body(request)
        )

    @route("POST", f"{CITY}/youth/<string:youth_id>/share-links", access=YOUTH_OWNER)
    def create_share_link(self, request, city, youth_id):
        """Create a share link; the response shows its token this once."""
        return 201, self.badges_rpc.create_share_link(youth_id)

    @route("DELETE", f"{CITY}/youth/<string:youth_id>/share-links/<string:link_id>",
           access=YOUTH_OWNER)
    def revoke_share_link(self, request, city, youth_id, link_id):
        return self.badges_rpc.revoke_share_link(youth_id, link_id)

    @route("GET", f"{CITY}/youth/<string:youth_id>/record", access=YOUTH_OWNER)
    def get_learner_record(self, request, city, youth_id):
        """Export every valid badge with its evidence as one signed VC-JWT."""
        return hosted(self.badges_rpc.learner_record(youth_id))

    @route("GET", "/v1/me/portfolio", access=SIGNED_IN)
    def get_account_portfolio(self, request):
        """Return the badges of every city where the account has its own youth profile.

        A young person who moves signs up their new profile in the new city with
        the same account, so their badges from both cities show together.
        """
        profiles = [{"city": grant["city"], "youth_id": grant["scope_id"]}
                    for grant in signed_in(request).grants if grant["role"] == "youth"]
        return self.badges_rpc.account_portfolio(profiles)

    @route("GET", f"{CITY}/portfolios/<string:token>", access=PUBLIC)
    def get_shared_portfolio(self, request, city, token):
        """Return the public badges behind a share link; it needs no login."""
        return self.badges_rpc.shared_portfolio(token)

    # Staff: issuers, classes, rules, awards, revocation, endorsements ----------

    @route("GET", f"{CITY}/badges/issuers", access=PUBLIC)
    def list_issuers(self, request, city):
        return {"issuers": self.badges_rpc.list_issuers()}

    @route("POST", f"{CITY}/badges/issuers", access=STAFF)
    def save_issuer(self, request, city):
        """Create (201) or update (200) an issuer profile.

        A partner's org admins manage the issuer of their organisation, which the
        gateway records as its owner. The city's administrators manage any issuer,
        and may create the city's own (no ``organization_id``).
        """
        body = json_body(request)
        principal = signed_in(request)
        existing = self._badge_facts("issuer", body.get("id"))
        if principal.is_city_admin(city):
            if existing is not None:
                body.setdefault("organization_id", existing.get("organization_id"))
        else:
            organization_id = acting_organization(request, city, principal,
                                                  ("org_admin",))
            if existing is not None and existing.get("organization_id") != organization_id:
                raise Forbidden(f"issuer {body['id']} belongs to another organisation")
            body["organization_id"] = organization_id
        issuer = self.badges_rpc.save_issuer(body)
        return (201 if issuer.pop("created") else 200), issuer

    @route("GET", f"{CITY}/badges/classes", access=PUBLIC)
    def list_badge_classes(self, request, city):
        issuer_id = request.args.get("issuer_id")
        return {"badge_classes": self.badges_rpc.list_badge_classes(issuer_id)}

    @route("POST", f"{CITY}/badges/classes",
           access=BadgeStaff("issuer", body_field="issuer_id"))
    def create_badge_class(self, request, city):
        return 201, self.badges_rpc.create_badge_class(json_body(request))

    @route("PUT", f"{CITY}/badges/classes/<string:class_id>",
           access=BadgeStaff("badge_class", parameter="class_id"))
    def update_badge_class(self, request, city, class_id):
        """Store an edit as a new version; send the ``expected_version`` you edited."""
        return self.badges_rpc.update_badge_class(class_id, json_body(request))

    @route("GET", f"{CITY}/badges/rules/<string:opportunity_id>", access=PUBLIC)
    def get_badge_rule(self, request, city, opportunity_id):
        return self.badges_rpc.get_badge_rule(opportunity_id)

    @route("PUT", f"{CITY}/badges/rules/<string:opportunity_id>",
           access=OpportunityStaff())
    def set_badge_rule(self, request, city, opportunity_id):
        """Set the badge class that completing the opportunity earns.

        Partner staff may name only a badge class of their own organisation.
        """
        body = json_body(request)
        class_id = body.get("badge_class_id")
        principal = signed_in(request)
        if isinstance(class_id, str) and class_id != "none" \
                and not principal.is_city_admin(city):
            facts = self._badge_facts("badge_class", class_id)
            if facts is not None and not principal.is_staff_of(
                    city, facts.get("organization_id")):
                raise Forbidden(f"badge class {class_id} belongs to another "
                                "organisation")
        return self.badges_rpc.set_badge_rule(opportunity_id, body)

    @route("POST", f"{CITY}/badges/awards",
           access=BadgeStaff("badge_class", body_field="badge_class_id"))
    def award_badge(self, request, city):
        """Award a badge with evidence; 201 when new, 200 when it was already issued."""
        badge = self.badges_rpc.award_badge(json_body(request))
        return (201 if badge.pop("created") else 200), badge

    @route("POST", f"{CITY}/badges/assertions/<string:assertion_id>/revocation",
           access=BadgeStaff("assertion", parameter="assertion_id"))
    def revoke_badge(self, request, city, assertion_id):
        return self.badges_rpc.revoke_badge(assertion_id, json_body(request))

    @route("POST", f"{CITY}/badges/endorsements",
           access=BadgeStaff("issuer", body_field="endorser_id"))
    def endorse(self, request, city):
        """Endorse a badge class or issuer as the issuer profile of an employer or
        university that the caller is staff of."""
        endorsement = self.badges_rpc.endorse(json_body(request))
        return (201 if endorsement.pop("created") else 200), endorsement

    @route("GET", f"{CITY}/badges/playlists", access=PUBLIC)
    def list_playlists(self, request, city):
        return {"playlists": self.badges_rpc.list_playlists()}

    @route("POST", f"{CITY}/badges/playlists", access=STAFF)
    def create_playlist(self, request, city):
        """Create a playlist; a partner's staff create it for their organisation."""
        body = json_body(request)
        principal = signed_in(request)
        if not principal.is_city_admin(city):
            body["organization_id"] = acting_organization(request, city, principal)
        return 201, self.badges_rpc.create_playlist(body)

    def _badge_facts(self, kind, record_id) -> dict | None:
        """Return the owner facts of a badges record, or None when it does not exist."""
        if not isinstance(record_id, str) or not record_id:
            return None
        try:
            return self.badges_rpc.access_facts(kind, record_id)
        except NotFound:
            return None

    @route("GET", f"{CITY}/badges/playlists/<string:playlist_id>", access=PUBLIC)
    def get_playlist(self, request, city, playlist_id):
        return self.badges_rpc.get_playlist(playlist_id)

    # Public hosted documents ---------------------------------------------------

    @route("GET", f"{CITY}/badges/issuers/<string:issuer_id>", access=PUBLIC)
    def hosted_issuer(self, request, city, issuer_id):
        return hosted(self.badges_rpc.hosted_issuer(issuer_id))

    @route("GET", f"{CITY}/badges/issuers/<string:issuer_id>/image", access=PUBLIC)
    def issuer_image(self, request, city, issuer_id):
        return hosted(self.badges_rpc.issuer_image(issuer_id))

    @route("GET", f"{CITY}/badges/issuers/<string:issuer_id>/keys/<string:key_id>",
           access=PUBLIC)
    def issuer_key(self, request, city, issuer_id, key_id):
        return hosted(self.badges_rpc.issuer_key(issuer_id, key_id))

    @route("GET", f"{CITY}/badges/issuers/<string:issuer_id>/revocations", access=PUBLIC)
    def revocation_list(self, request, city, issuer_id):
        return hosted(self.badges_rpc.revocation_list(issuer_id))

    @route("GET", f"{CITY}/badges/issuers/<string:issuer_id>/status-lists/<string:number>",
           access=PUBLIC)
    def status_list(self, request, city, issuer_id, number):
        return hosted(self.badges_rpc.status_list(issuer_id, number))

    @route("GET", f"{CITY}/badges/classes/<string:class_id>", access=PUBLIC)
    def hosted_badge_class(self, request, city, class_id):
        """Serve the current version of a BadgeClass, with its endorsements."""
        return hosted(self.badges_rpc.hosted_badge_class(class_id))

    @route("GET", f"{CITY}/badges/classes/<string:class_id>/versions/<string:version>",
           access=PUBLIC)
    def hosted_badge_class_version(self, request, city, class_id, version):
        return hosted(self.badges_rpc.hosted_badge_class(class_id, version))

    @route("GET",
        f"{CITY}/badges/classes/<string:class_id>/versions/<string:version>/image", access=PUBLIC)
    def badge_class_image(self, request, city, class_id, version):
        return hosted(self.badges_rpc.badge_class_image(class_id, version))

    @route("GET", f"{CITY}/badges/assertions/<string:assertion_id>", access=PUBLIC)
    def get_assertion(self, request, city, assertion_id):
        """Serve the hosted Open Badges 2.0 assertion, for verifiers."""
        return hosted(self.badges_rpc.hosted_assertion(assertion_id))

    @route("GET", f"{CITY}/badges/assertions/<string:assertion_id>/signed", access=PUBLIC)
    def signed_assertion(self, request, city, assertion_id):
        """Serve the Open Badges 2.0 signed assertion, a compact RS256 JWS."""
        return hosted(self.badges_rpc.signed_assertion(assertion_id))

    @route("GET", f"{CITY}/badges/assertions/<string:assertion_id>/credential",
           access=PUBLIC)
    def credential(self, request, city, assertion_id):
        """Serve the Open Badges 3.0 OpenBadgeCredential, an EdDSA VC-JWT."""
        return hosted(self.badges_rpc.credential(assertion_id))

    @route("GET", f"{CITY}/badges/assertions/<string:assertion_id>/image.png",
           access=PUBLIC)
    def baked_png(self, request, city, assertion_id):
        """Serve the image with the badge baked in (``?standard=ob3`` for OB 3.0)."""
        standard = request.args.get("standard", "ob2")
        return hosted(self.badges_rpc.baked_image(assertion_id, "png", standard))

    @route("GET", f"{CITY}/badges/assertions/<string:assertion_id>/image.svg",
           access=PUBLIC)
    def baked_svg(self, request, city, assertion_id):
        standard = request.args.get("standard", "ob2")
        return hosted(self.badges_rpc.baked_image(assertion_id, "svg", standard))

    @route("GET", f"{CITY}/badges/keys", access=PUBLIC)
    def jwks(self, request, city):
        return hosted(self.badges_rpc.jwks())

    @route("GET", f"{CITY}/badges/keys/<string:key_id>", access=PUBLIC)
    def jwk(self, request, city, key_id):
        return hosted(self.badges_rpc.jwk(key_id))

    # Operators: the city's signing keys ----------------------------------------

    @route("GET", f"{CITY}/badges/signing-keys", access=OPERATOR)
    def list_signing_keys(self, request, city):
        """List the city's signing keys: in use, retired or revoked, without secrets."""
        return self.badges_rpc.signing_keys()

    @route("POST", f"{CITY}/badges/signing-keys/rotation", access=OPERATOR)
    def rotate_signing_keys(self, request, city):
        """Sign from now on with new keys; badges signed before still verify."""
        return self.badges_rpc.rotate_signing_keys(optional_json_body(request) or {})

    @route("POST", f"{CITY}/badges/signing-keys/<string:key_id>/revocation",
           access=OPERATOR)
    def revoke_signing_key(self, request, city, key_id):
        """Declare a key compromised: every signature made with it fails verification."""
        return self.badges_rpc.revoke_signing_key(key_id, json_body(request))

    @route("GET", f"{CITY}/badges/endorsements/<string:endorsement_id>", access=PUBLIC)
    def hosted_endorsement(self, request, city, endorsement_id):
        return hosted(self.badges_rpc.hosted_endorsement(endorsement_id))

    @route("POST", f"{CITY}/badges/verify", access=PUBLIC)
    def verify(self, request, city):
        """Verify a baked image, an assertion, a JWS or a VC-JWT; 200 with a report.

        ``?recipient=`` checks the badge was issued to that plain identity.
        """
        submission = verification_submission(request)
        return self.badges_rpc.verify(submission, request.args.get("recipient"))
