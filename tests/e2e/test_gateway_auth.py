"""Sign-up, sign-in, tokens, logout and API keys through the gateway."""

import pytest
import requests

from tests.e2e.accounts import PASSWORD

pytestmark = pytest.mark.e2e

CITY = "chicago"


def post(platform, path, body, headers=None):
    return requests.post(f"{platform['url']}{path}", json=body, headers=headers or {},
                         timeout=30)


def get(platform, path, headers=None):
    return requests.get(f"{platform['url']}{path}", headers=headers or {}, timeout=30)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def accounts(platform):
    return platform["accounts"]


def test_sign_up_verify_and_sign_in(platform, accounts):
    account = accounts.sign_up(CITY)
    me = get(platform, "/v1/auth/me", account.headers)
    assert me.status_code == 200, me.text
    assert me.json()["account_id"] == account.account_id
    assert me.json()["grants"] == []


def test_sign_in_before_verification_is_refused(platform, accounts):
    email = "unverified-person@example.org"
    assert post(platform, f"/v1/cities/{CITY}/accounts",
                {"email": email, "password": PASSWORD}).status_code == 202
    response = post(platform, "/v1/auth/token", {"email": email, "password": PASSWORD})
    assert response.status_code == 403
    assert "verify" in response.json()["detail"]


def test_sign_up_does_not_reveal_existing_address(platform, accounts):
    account = accounts.sign_up(CITY)
    again = post(platform, f"/v1/cities/{CITY}/accounts",
                 {"email": account.email, "password": PASSWORD + "x"})
    fresh = post(platform, f"/v1/cities/{CITY}/accounts",
                 {"email": "somebody-new@example.org", "password": PASSWORD})
    assert again.status_code == fresh.status_code == 202
    assert again.json() == fresh.json()


def test_wrong_password_is_401(platform, accounts):
    account = accounts.sign_up(CITY)
    response = post(platform, "/v1/auth/token",
                    {"email": account.email, "password": "not the password at all"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Content-Type"] == "application/problem+json"


def test_weak_password_names_field(platform):
    response = post(platform, f"/v1/cities/{CITY}/accounts",
                    {"email": "weak@example.org", "password": "short"})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_refresh_rotates_and_detects_reuse(platform, accounts):
    account = accounts.sign_up(CITY)
    first = post(platform, "/v1/auth/token", {"grant_type": "refresh_token",
                                              "refresh_token": account.refresh_token})
    assert first.status_code == 200, first.text
    assert first.headers["Cache-Control"] == "no-store"
    pair = first.json()
    assert get(platform, "/v1/auth/me", bearer(pair["access_token"])).status_code == 200

    reused = post(platform, "/v1/auth/token", {"grant_type": "refresh_token",
                                               "refresh_token": account.refresh_token})
    assert reused.status_code == 401
    # Reuse of a spent refresh token ends the whole session.
    assert get(platform, "/v1/auth/me", bearer(pair["access_token"])).status_code == 401


def test_logout_revokes_access_token_at_once(platform, accounts):
    account = accounts.sign_up(CITY)
    assert post(platform, "/v1/auth/logout", {}, account.headers).status_code == 200
    response = get(platform, "/v1/auth/me", account.headers)
    assert response.status_code == 401
    refreshed = post(platform, "/v1/auth/token", {"grant_type": "refresh_token",
                                                  "refresh_token": account.refresh_token})
    assert refreshed.status_code == 401


def test_logout_everywhere_ends_other_sessions(platform, accounts):
    account = accounts.sign_up(CITY)
    other = accounts.sign_in(account.email)
    assert post(platform, "/v1/auth/logout", {"everywhere": True},
                account.headers).status_code == 200
    assert get(platform, "/v1/auth/me", other.headers).status_code == 401


@pytest.mark.parametrize("header", [
    "Bearer not-a-token",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "Basic dXNlcjpwYXNz",
    "Bearer col_unknown_key",
])
def test_bad_credentials_are_401(platform, header):
    response = get(platform, "/v1/auth/me", {"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.json()["request_id"]


def test_tampered_token_is_401(platform, accounts):
    account = accounts.sign_up(CITY)
    head, payload, signature = account.access_token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    response = get(platform, "/v1/auth/me", bearer(f"{head}.{payload}.{flipped}"))
    assert response.status_code == 401


def test_token_keys_are_public(platform):
    keys = get(platform, "/v1/auth/keys").json()
    assert keys["keys"]
    assert all("d" not in key for key in keys["keys"])


def test_api_key_shown_once_and_revocable(platform, accounts):
    organization_id, lead = accounts.partner(CITY)
    path = f"/v1/cities/{CITY}/organizations/{organization_id}/api-keys"
    created = post(platform, path, {"name": "crm", "scopes": ["webhooks:read"]},
                   lead.headers)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    listed = get(platform, path, lead.headers).json()["api_keys"]
    assert [item["id"] for item in listed] == [created.json()["id"]]
    assert all("key" not in item for item in listed)

    webhooks = f"/v1/cities/{CITY}/webhooks"
    assert get(platform, webhooks, {"X-Api-Key": key}).status_code == 200
    assert get(platform, webhooks, bearer(key)).status_code == 200
    # The key lacks the write scope.
    assert post(platform, webhooks, {"url": "https://example.org/hook",
                                     "event_types": ["badge.issued"]},
                {"X-Api-Key": key}).status_code == 403
    # A key works only in its own city.
    assert get(platform, "/v1/cities/dallas/webhooks",
               {"X-Api-Key": key}).status_code == 403

    revoked = requests.delete(f"{platform['url']}{path}/{created.json()['id']}",
                              headers=lead.headers, timeout=30)
    assert revoked.status_code == 200, revoked.text
    assert get(platform, webhooks, {"X-Api-Key": key}).status_code == 401


def test_api_keys_need_org_admin(platform, accounts):
    organization_id, _ = accounts.partner(CITY)
    path = f"/v1/cities/{CITY}/organizations/{organization_id}/api-keys"
    stranger = accounts.sign_up(CITY)
    assert get(platform, path).status_code == 401
    assert get(platform, path, stranger.headers).status_code == 403


def test_oversized_body_is_413(platform, accounts):
    account = accounts.sign_up(CITY)
    response = requests.post(f"{platform['url']}/v1/cities/{CITY}/youth",
                             data=b'{"display_name": "' + b"x" * 70000 + b'"}',
                             headers={**account.headers,
                                      "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert "at most" in response.json()["detail"]


def test_youth_profile_belongs_to_its_creator(platform, accounts):
    youth = accounts.sign_up(CITY)
    created = post(platform, f"/v1/cities/{CITY}/youth",
                   {"display_name": "Kai", "birth_year": 2010, "birth_month": 5},
                   youth.headers)
    assert created.status_code == 201, created.text
    youth_id = created.json()["id"]
    path = f"/v1/cities/{CITY}/youth/{youth_id}"
    assert get(platform, path, youth.headers).status_code == 200
    assert get(platform, path, accounts.sign_up(CITY).headers).status_code == 404
    assert get(platform, path).status_code == 401
    grants = get(platform, "/v1/auth/me", youth.headers).json()["grants"]
    assert {"city": CITY, "role": "youth", "scope_id": youth_id} in grants
    # A second profile of one's own in the same city is refused.
    again = post(platform, f"/v1/cities/{CITY}/youth",
                 {"display_name": "Kai", "birth_year": 2010, "birth_month": 5},
                 youth.headers)
    assert again.status_code == 409


def test_invitation_only_for_invited_address(platform, accounts):
    admin = accounts.city_admin(CITY)
    email = "invited-lead@example.org"
    invited = post(platform, f"/v1/cities/{CITY}/organizations", {
        "name": "Invitation Check Lab", "kind": "museum",
        "website": "https://invitations.example.org",
        "admin": {"email": email, "name": "Ivy"}}, admin.headers)
    assert invited.status_code == 201, invited.text
    token = invited.json()["invitation"]["token"]
    someone_else, refused = accounts.accept_invitation(CITY, token)
    assert refused.status_code == 403, refused.text
    assert "another e-mail address" in refused.json()["detail"]
    _, accepted = accounts.accept_invitation(CITY, token, email=email)
    assert accepted.status_code == 200, accepted.text


def test_password_reset_by_mailed_link(platform, accounts):
    account = accounts.sign_up(CITY)
    requested = post(platform, f"/v1/cities/{CITY}/accounts/password-reset",
                     {"email": account.email.upper()})
    unknown = post(platform, f"/v1/cities/{CITY}/accounts/password-reset",
                   {"email": "nobody-here@example.org"})
    assert requested.status_code == unknown.status_code == 202
    assert requested.json() == unknown.json()

    token = accounts.mailed_token(account.email, after=1)
    new_password = PASSWORD + " renewed"
    changed = post(platform, "/v1/auth/password",
                   {"token": token, "password": new_password})
    assert changed.status_code == 200, changed.text
    assert get(platform, "/v1/auth/me", account.headers).status_code == 401
    assert post(platform, "/v1/auth/token",
                {"email": account.email, "password": PASSWORD}).status_code == 401
    assert accounts.sign_in(account.email, new_password).access_token
    again = post(platform, "/v1/auth/password", {"token": token, "password": PASSWORD})
    assert again.status_code == 400
    assert "token" in again.json()["errors"]


def test_password_reset_names_bad_email(platform):
    response = post(platform, f"/v1/cities/{CITY}/accounts/password-reset",
                    {"email": "not an address"})
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
