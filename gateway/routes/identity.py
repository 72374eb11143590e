"""Accounts, sign-in, tokens and partner API keys, from the identity service.

Accounts are platform-wide: one person signs up once and may hold roles in
several cities. Signing up happens in a city, whose language and branding the
verification e-mail uses. Tokens and passwords travel only in request bodies and
the ``Authorization`` header, never in URLs.
"""

import json

from werkzeug.wrappers import Response

from gateway.access import PUBLIC, SIGNED_IN, OrgAdmin, route, signed_in
from gateway.errors import BadRequest
from gateway.ratelimit import CLIENT_ADDRESS_ENVIRON
from gateway.requests import json_body, optional_json_body

AUTH = "/v1/auth"
API_KEYS = "/v1/cities/<string:city>/organizations/<string:organization_id>/api-keys"


def text_field(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest({name: ["is required: send it as a string"]})
    return value


class IdentityRoutes:
    """Routes under ``/v1/auth`` and the API keys of partner organisations."""

    @route("POST", "/v1/cities/<string:city>/accounts", access=PUBLIC)
    def sign_up(self, request, city):
        """Create an account and e-mail a verification link; 202 whatever the address.

        The response is the same for an address that already has an account, so
        the route does not reveal who has one.
        """
        return 202, self.identity_rpc.signup(json_body(request))

    @route("POST", "/v1/cities/<string:city>/accounts/password-reset", access=PUBLIC)
    def request_password_reset(self, request, city):
        """E-mail a link that sets a new password; 202 whatever the address.

        The link's token goes to ``POST /v1/auth/password``. The response is the
        same for an address without an account.
        """
        body = json_body(request)
        return 202, self.identity_rpc.request_password_reset(body.get("email"))

    @route("POST", f"{AUTH}/email-verification", access=PUBLIC)
    def verify_email(self, request):
        """Confirm the address with the e-mailed token and the sign-up's password."""
        body = json_body(request)
        return self.identity_rpc.verify_email(text_field(body, "token"),
                                              text_field(body, "password"))

    @route("POST", f"{AUTH}/password", access=PUBLIC)
    def set_password(self, request):
        """Set a password with the token from an invitation or password reset e-mail."""
        body = json_body(request)
        return self.identity_rpc.set_password(text_field(body, "token"),
                                              text_field(body, "password"))

    @route("POST", f"{AUTH}/token", access=PUBLIC)
    def issue_token(self, request):
        """Sign in: trade an e-mail and password for an access and a refresh token.

        With ``grant_type`` ``refresh_token`` (and ``refresh_token``), trade a
        refresh token for a new pair instead; each refresh token works once.
        """
        body = json_body(request)
        grant_type = body.get("grant_type", "password")
        if grant_type == "password":
            tokens = self.identity_rpc.login(
                text_field(body, "email"), text_field(body, "password"),
                request.environ.get(CLIENT_ADDRESS_ENVIRON))
        elif grant_type == "refresh_token":
            tokens = self.identity_rpc.refresh(text_field(body, "refresh_token"))
        else:
            raise BadRequest({"grant_type": ["must be password or refresh_token"]})
        return Response(_json(tokens), mimetype="application/json",
                        headers={"Cache-Control": "no-store"})

    @route("POST", f"{AUTH}/logout", access=SIGNED_IN)
    def logout(self, request):
        """End this session; with ``{"everywhere": true}``, every session of the account.

        Access tokens of an ended session stop working at once.
        """
        principal = signed_in(request)
        body = optional_json_body(request) or {}
        if body.get("everywhere") is True:
            return self.identity_rpc.logout_all(principal.account_id)
        return self.identity_rpc.logout(principal.session_id)

    @route("GET", f"{AUTH}/me", access=SIGNED_IN)
    def who_am_i(self, request):
        """Return the signed-in account's id and its roles in every city."""
        principal = signed_in(request)
        return {"account_id": principal.account_id, "operator": principal.operator,
                "grants": [{key: grant.get(key) for key in ("city", "role", "scope_id")}
                           for grant in principal.grants]}

    @route("GET", f"{AUTH}/keys", access=PUBLIC)
    def token_keys(self, request):
        """Return the public keys (JWKS) that verify access tokens."""
        return self.identity_rpc.public_keys()

    @route("POST", API_KEYS, access=OrgAdmin())
    def create_api_key(self, request, city, organization_id):
        """Create an API key for the organisation; the key is shown this once."""
        created = self.identity_rpc.create_api_key(
            city, organization_id, json_body(request), signed_in(request).account_id)
        return Response(_json(created), status=201, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})

    @route("GET", API_KEYS, access=OrgAdmin())
    def list_api_keys(self, request, city, organization_id):
        return {"api_keys": self.identity_rpc.list_api_keys(city, organization_id)}

    @route("DELETE", f"{API_KEYS}/<string:key_id>", access=OrgAdmin())
    def revoke_api_key(self, request, city, organization_id, key_id):
        """Revoke a key; requests with it fail from now on."""
        return self.identity_rpc.revoke_api_key(city, organization_id, key_id)


def _json(payload) -> str:
    return json.dumps(payload, default=str)
