"""Badges: issuers, badge classes, awards, hosted Open Badges documents, keys,
revocation, endorsements, playlists, youth portfolios and verification.

Public documents (hosted JSON-LD, keys, signed tokens, images) are served with
their own media type and ``Access-Control-Allow-Origin: *``, so verifiers on
other origins can fetch them.
"""

import base64
import json

from werkzeug.wrappers import Response

from gateway.entrypoints import http
from gateway.errors import BadRequest
from gateway.requests import json_body

CITY = "/v1/cities/<string:city>"
MAX_VERIFY_BYTES = 1024 * 1024
TEXT_MEDIA_TYPES = (
    "text/plain",
    "application/jose",
    "application/jwt",
    "application/vc+jwt",
)
IMAGE_MEDIA_TYPES = ("image/png", "image/svg+xml", "application/octet-stream")


def authorize(request, role: str, subject: str) -> None:
    """Check that the caller may act as ``role`` (youth or staff) for ``subject``.

    TODO: the platform has no authentication yet, so every request is allowed.
    Once it has, check here that a youth (or guardian) owns ``subject`` and that
    staff act for the issuer or badge class concerned. The services trust the
    gateway, so they need no change.
    """


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
        raise BadRequest({"body": [f"must be at most {MAX_VERIFY_BYTES} bytes"]})
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

    @http("GET", f"{CITY}/youth/<string:youth_id>/badges")
    def list_badges(self, request, city, youth_id):
        authorize(request, "youth", youth_id)
        return {"badges": self.badges_rpc.list_badges(youth_id)}

    @http("GET", f"{CITY}/youth/<string:youth_id>/portfolio")
    def get_portfolio(self, request, city, youth_id):
        authorize(request, "youth", youth_id)
        return self.badges_rpc.portfolio(youth_id)

    @http(
        "PUT", f"{CITY}/youth/<string:youth_id>/portfolio/badges/<string:assertion_id>"
    )
    def set_badge_visibility(self, request, city, youth_id, assertion_id):
        """Make a badge public (shown on share links) or private."""
        authorize(request, "youth", youth_id)
        return self.badges_rpc.set_badge_visibility(
            youth_id, assertion_id, json_body(request)
        )

    @http("POST", f"{CITY}/youth/<string:youth_id>/share-links")
    def create_share_link(self, request, city, youth_id):
        """Create a share link; the response shows its token this once."""
        authorize(request, "youth", youth_id)
        return 201, self.badges_rpc.create_share_link(youth_id)

    @http("DELETE", f"{CITY}/youth/<string:youth_id>/share-links/<string:link_id>")
    def revoke_share_link(self, request, city, youth_id, link_id):
        authorize(request, "youth", youth_id)
        return self.badges_rpc.revoke_share_link(youth_id, link_id)

    @http("GET", f"{CITY}/youth/<string:youth_id>/record")
    def get_learner_record(self, request, city, youth_id):
        """Export every valid badge with its evidence as one signed VC-JWT."""
        authorize(request, "youth", youth_id)
        return hosted(self.badges_rpc.learner_record(youth_id))

    @http("GET", f"{CITY}/portfolios/<string:token>")
    def get_shared_portfolio(self, request, city, token):
        """Return the public badges behind a share link; it needs no login."""
        return self.badges_rpc.shared_portfolio(token)

    # Staff: issuers, classes, rules, awards, revocation, endorsements ----------

    @http("GET", f"{CITY}/badges/issuers")
    def list_issuers(self, request, city):
        return {"issuers": self.badges_rpc.list_issuers()}

    @http("POST", f"{CITY}/badges/issuers")
    def save_issuer(self, request, city):
        """Create (201) or update (200) an issuer profile."""
        body = json_body(request)
        authorize(request, "staff", str(body.get("id")))
        issuer = self.badges_rpc.save_issuer(body)
        return (201 if issuer.pop("created") else 200), issuer

    @http("GET", f"{CITY}/badges/classes")
    def list_badge_classes(self, request, city):
        issuer_id = request.args.get("issuer_id")
        return {"badge_classes": self.badges_rpc.list_badge_classes(issuer_id)}

    @http("POST", f"{CITY}/badges/classes")
    def create_badge_class(self, request, city):
        body = json_body(request)
        authorize(request, "staff", str(body.get("issuer_id")))
        return 201, self.badges_rpc.create_badge_class(body)

    @http("PUT", f"{CITY}/badges/classes/<string:class_id>")
    def update_badge_class(self, request, city, class_id):
        """Store an edit as a new version; send the ``expected_version`` you edited."""
        authorize(request, "staff", class_id)
        return self.badges_rpc.update_badge_class(class_id, json_body(request))

    @http("GET", f"{CITY}/badges/rules/<string:opportunity_id>")
    def get_badge_rule(self, request, city, opportunity_id):
        return self.badges_rpc.get_badge_rule(opportunity_id)

    @http("PUT", f"{CITY}/badges/rules/<string:opportunity_id>")
    def set_badge_rule(self, request, city, opportunity_id):
        authorize(request, "staff", opportunity_id)
        return self.badges_rpc.set_badge_rule(opportunity_id, json_body(request))

    @http("POST", f"{CITY}/badges/awards")
    def award_badge(self, request, city):
        """Award a badge with evidence; 201 when new, 200 when it was already issued."""
        body = json_body(request)
        authorize(request, "staff", str(body.get("badge_class_id")))
        badge = self.badges_rpc.award_badge(body)
        return (201 if badge.pop("created") else 200), badge

    @http("POST", f"{CITY}/badges/assertions/<string:assertion_id>/revocation")
    def revoke_badge(self, request, city, assertion_id):
        authorize(request, "staff", assertion_id)
        return self.badges_rpc.revoke_badge(assertion_id, json_body(request))

    @http("POST", f"{CITY}/badges/endorsements")
    def endorse(self, request, city):
        body = json_body(request)
        authorize(request, "staff", str(body.get("endorser_id")))
        endorsement = self.badges_rpc.endorse(body)
        return (201 if endorsement.pop("created") else 200), endorsement

    @http("GET", f"{CITY}/badges/playlists")
    def list_playlists(self, request, city):
        return {"playlists": self.badges_rpc.list_playlists()}

    @http("POST", f"{CITY}/badges/playlists")
    def create_playlist(self, request, city):
        authorize(request, "staff", "playlists")
        return 201, self.badges_rpc.create_playlist(json_body(request))

    @http("GET", f"{CITY}/badges/playlists/<string:playlist_id>")
    def get_playlist(self, request, city, playlist_id):
        return self.badges_rpc.get_playlist(playlist_id)

    # Public hosted documents ---------------------------------------------------

    @http("GET", f"{CITY}/badges/issuers/<string:issuer_id>")
    def hosted_issuer(self, request, city, issuer_id):
        return hosted(self.badges_rpc.hosted_issuer(issuer_id))

    @http("GET", f"{CITY}/badges/issuers/<string:issuer_id>/image")
    def issuer_image(self, request, city, issuer_id):
        return hosted(self.badges_rpc.issuer_image(issuer_id))

    @http("GET", f"{CITY}/badges/issuers/<string:issuer_id>/keys/<string:key_id>")
    def issuer_key(self, request, city, issuer_id, key_id):
        return hosted(self.badges_rpc.issuer_key(issuer_id, key_id))

    @http("GET", f"{CITY}/badges/issuers/<string:issuer_id>/revocations")
    def revocation_list(self, request, city, issuer_id):
        return hosted(self.badges_rpc.revocation_list(issuer_id))

    @http(
        "GET", f"{CITY}/badges/issuers/<string:issuer_id>/status-lists/<string:number>"
    )
    def status_list(self, request, city, issuer_id, number):
        return hosted(self.badges_rpc.status_list(issuer_id, number))

    @http("GET", f"{CITY}/badges/classes/<string:class_id>")
    def hosted_badge_class(self, request, city, class_id):
        """Serve the current version of a BadgeClass, with its endorsements."""
        return hosted(self.badges_rpc.hosted_badge_class(class_id))

    @http("GET", f"{CITY}/badges/classes/<string:class_id>/versions/<string:version>")
    def hosted_badge_class_version(self, request, city, class_id, version):
        return hosted(self.badges_rpc.hosted_badge_class(class_id, version))

    @http(
        "GET",
        f"{CITY}/badges/classes/<string:class_id>/versions/<string:version>/image",
    )
    def badge_class_image(self, request, city, class_id, version):
        return hosted(self.badges_rpc.badge_class_image(class_id, version))

    @http("GET", f"{CITY}/badges/assertions/<string:assertion_id>")
    def get_assertion(self, request, city, assertion_id):
        """Serve the hosted Open Badges 2.0 assertion, for verifiers."""
        return hosted(self.badges_rpc.hosted_assertion(assertion_id))

    @http("GET", f"{CITY}/badges/assertions/<string:assertion_id>/signed")
    def signed_assertion(self, request, city, assertion_id):
        """Serve the Open Badges 2.0 signed assertion, a compact RS256 JWS."""
        return hosted(self.badges_rpc.signed_assertion(assertion_id))

    @http("GET", f"{CITY}/badges/assertions/<string:assertion_id>/credential")
    def credential(self, request, city, assertion_id):
        """Serve the Open Badges 3.0 OpenBadgeCredential, an EdDSA VC-JWT."""
        return hosted(self.badges_rpc.credential(assertion_id))

    @http("GET", f"{CITY}/badges/assertions/<string:assertion_id>/image.png")
    def baked_png(self, request, city, assertion_id):
        """Serve the image with the badge baked in (``?standard=ob3`` for OB 3.0)."""
        standard = request.args.get("standard", "ob2")
        return hosted(self.badges_rpc.baked_image(assertion_id, "png", standard))

    @http("GET", f"{CITY}/badges/assertions/<string:assertion_id>/image.svg")
    def baked_svg(self, request, city, assertion_id):
        standard = request.args.get("standard", "ob2")
        return hosted(self.badges_rpc.baked_image(assertion_id, "svg", standard))

    @http("GET", f"{CITY}/badges/keys")
    def jwks(self, request, city):
        return hosted(self.badges_rpc.jwks())

    @http("GET", f"{CITY}/badges/keys/<string:key_id>")
    def jwk(self, request, city, key_id):
        return hosted(self.badges_rpc.jwk(key_id))

    @http("GET", f"{CITY}/badges/endorsements/<string:endorsement_id>")
    def hosted_endorsement(self, request, city, endorsement_id):
        return hosted(self.badges_rpc.hosted_endorsement(endorsement_id))

    @http("POST", f"{CITY}/badges/verify")
    def verify(self, request, city):
        """Verify a baked image, an assertion, a JWS or a VC-JWT; 200 with a report.

        ``?recipient=`` checks the badge was issued to that plain identity.
        """
        submission = verification_submission(request)
        return self.badges_rpc.verify(submission, request.args.get("recipient"))
