"""The identity service on the real servers, called over RPC as the gateway does.

Each test uses fresh e-mail addresses, so it neither depends on nor disturbs the
accounts other journeys create. E-mail reaches the test mailbox through the
notifications service, and tokens are read from the links in it. The test that
archives a city onboards its own throwaway city first.
"""

import re
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common import events
from cities_common.errors import Forbidden, InvalidInput, Unauthenticated
from tests.e2e.accounts import seed_city

pytestmark = pytest.mark.e2e

CITY = "chicago"
PASSWORD = "correct horse battery staple 7"
LINK = re.compile(
    r"(https?://\S+?)(/verify-email|/set-password)#token=([A-Za-z0-9_\-]+)")


def new_email() -> str:
    return f"identity-{uuid.uuid4().hex[:12]}@example.org"


@pytest.fixture(scope="module")
def identity(platform):
    """A proxy to the identity service, with Chicago in the context data."""
    with ClusterRpcProxy({"AMQP_URI": platform["amqp_uri"]},
                         context_data={"city": CITY}, timeout=60) as rpc:
        wait_until(lambda: rpc.identity.health()["ok"], 60, "identity is healthy")
        yield rpc.identity


def wait_until(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:
            if time.monotonic() > deadline:
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {message}")
        time.sleep(0.2)


def mailed_link(platform, email: str, path: str) -> tuple[str, str]:
    """Return (the whole link, its token) from the newest e-mail to ``email``."""
    def links():
        found = []
        for message in platform["mailbox"].messages():
            if message["To"] == email:
                found += [match for match in LINK.finditer(message.get_content())
                          if match[2] == path]
        return found

    found = wait_until(links, 60, f"an e-mail with a {path} link reaches {email}")
    match = found[-1]
    return match[0], match[3]


def signed_in(platform, identity, email=None) -> dict:
    """Sign up, verify from the e-mail and log in; return the token pair."""
    email = email or new_email()
    identity.signup({"email": email, "password": PASSWORD})
    _, token = mailed_link(platform, email, "/verify-email")
    identity.verify_email(token, PASSWORD)
    return identity.login(email, PASSWORD)


def test_signup_verify_login_refresh_logout(platform, identity):
    email = new_email()
    assert identity.signup({"email": email.upper(), "password": PASSWORD,
                            "locale": "es"}) == {"status": "verification_sent"}
    with pytest.raises(Forbidden, match="verify your e-mail"):
        identity.login(email, PASSWORD)

    link, token = mailed_link(platform, email, "/verify-email")
    assert link.startswith(f"{platform['url']}/verify-email#token=")
    [message] = [item for item in platform["mailbox"].messages() if item["To"] == email]
    assert message["Subject"].startswith("Confirma tu correo")
    assert message["List-Unsubscribe"] is None
    account = identity.verify_email(token, PASSWORD)
    assert account["email"] == email
    assert account["email_verified"] is True
    with pytest.raises(InvalidInput) as reused:
        identity.verify_email(token, PASSWORD)
    assert "token" in reused.value.errors

    pair = identity.login(email, PASSWORD)
    assert pair["token_type"] == "Bearer"
    assert pair["account_id"] == account["id"]
    principal = identity.authenticate(pair["access_token"])
    assert principal["kind"] == "account"
    assert principal["account_id"] == account["id"]
    assert principal["session_id"] == pair["session_id"]
    assert principal["grants"] == []

    renewed = identity.refresh(pair["refresh_token"])
    assert identity.authenticate(renewed["access_token"])["account_id"] == account["id"]
    again = identity.refresh(renewed["refresh_token"])
    assert identity.logout(again["session_id"]) == {"revoked": True}
    with pytest.raises(Unauthenticated, match="logged out"):
        identity.authenticate(again["access_token"])
    with pytest.raises(Unauthenticated):
        identity.refresh(again["refresh_token"])


def test_signup_of_existing_email_sends_nothing(platform, identity):
    email = new_email()
    signed_in(platform, identity, email)
    assert identity.signup({"email": email, "password": "another password 123"}) == {
        "status": "verification_sent"}
    # Nothing arrives to wait for, so give a mistaken e-mail time to arrive.
    time.sleep(3)
    mails = [item for item in platform["mailbox"].messages() if item["To"] == email]
    assert len(mails) == 1


def test_wrong_password_and_unknown_email_fail_alike(platform, identity):
    email = new_email()
    signed_in(platform, identity, email)
    with pytest.raises(Unauthenticated) as wrong:
        identity.login(email, "not the password 123")
    with pytest.raises(Unauthenticated) as unknown:
        identity.login(new_email(), PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_reused_refresh_token_revokes_session(platform, identity):
    pair = signed_in(platform, identity)
    renewed = identity.refresh(pair["refresh_token"])
    with pytest.raises(Unauthenticated, match="already used"):
        identity.refresh(pair["refresh_token"])
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.authenticate(renewed["access_token"])
    with pytest.raises(Unauthenticated):
        identity.refresh(renewed["refresh_token"])


def test_logout_all_ends_every_session(platform, identity):
    email = new_email()
    first = signed_in(platform, identity, email)
    second = identity.login(email, PASSWORD)
    assert identity.logout_all(first["account_id"])["sessions"] == 2
    for pair in (first, second):
        with pytest.raises(Unauthenticated):
            identity.authenticate(pair["access_token"])


def test_public_keys_verify_access_tokens(platform, identity):
    pair = signed_in(platform, identity)
    keys = KeySet.import_key_set(identity.public_keys())
    token = jwt.decode(pair["access_token"], keys, algorithms=["EdDSA"])
    assert token.claims["sub"] == pair["account_id"]
    assert token.claims["iss"] == platform["url"]
    assert token.claims["aud"] == "cities-of-learning"
    lifetime = int(platform["env"].get("ACCESS_TOKEN_SECONDS", 600))
    assert token.claims["exp"] - token.claims["iat"] == lifetime


def test_api_key_create_authenticate_revoke(identity):
    organization = f"org-{uuid.uuid4().hex[:8]}"
    created = identity.create_api_key(CITY, organization,
                                      {"name": "sync", "scopes": ["webhooks:read"]},
                                      "acct-test")
    assert created["key"].startswith(f"col_{created['prefix']}_")
    principal = identity.authenticate(created["key"])
    assert principal == {"kind": "api_key", "key_id": created["id"], "city": CITY,
                         "organization_id": organization, "scopes": ["webhooks:read"]}
    [listed] = identity.list_api_keys(CITY, organization)
    assert "key" not in listed
    assert listed["last_used_at"] is not None
    identity.revoke_api_key(CITY, organization, created["id"])
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.authenticate(created["key"])


def test_grant_by_email_and_set_password(platform, identity):
    email = new_email()
    invited = identity.grant_by_email(email, CITY, "org_admin", "org-invite",
                                      "acc-catalog-1")
    assert invited["setup_token"]
    link, token = mailed_link(platform, email, "/set-password")
    assert token == invited["setup_token"]
    with pytest.raises(Unauthenticated):
        identity.login(email, PASSWORD)
    account = identity.set_password(token, PASSWORD)
    assert account["email_verified"] is True
    pair = identity.login(email, PASSWORD)
    principal = identity.authenticate(pair["access_token"])
    assert principal["grants"] == [{"city": CITY, "role": "org_admin",
                                    "scope_id": "org-invite",
                                    "catalog_account_id": "acc-catalog-1"}]
    assert identity.grant_by_email(email, CITY, "org_staff", "org-other") == {
        "account_id": account["id"], "setup_token": None}


def test_youth_erased_removes_youth_grants(platform, identity):
    pair = signed_in(platform, identity)
    account_id = pair["account_id"]
    youth_id = f"yth-{uuid.uuid4().hex[:10]}"
    identity.grant(account_id, CITY, "guardian", youth_id)
    identity.grant(account_id, CITY, "org_staff", "org-kept")
    envelope = events.make_event(events.YOUTH_ERASED, CITY, {
        "erasure_id": f"era-{uuid.uuid4().hex[:8]}", "youth_id": youth_id,
        "requested_at": "2026-12-04T15:00:00+00:00"})
    event_dispatcher({"AMQP_URI": platform["amqp_uri"]})(
        "registration", events.YOUTH_ERASED, envelope)

    def guardian_removed():
        grants = identity.list_grants(account_id)
        return grants if len(grants) == 1 else None

    remaining = wait_until(guardian_removed, 30, "the guardian grant is removed")
    assert [grant["role"] for grant in remaining] == ["org_staff"]


def test_city_archived_revokes_keys_and_grants(platform, identity):
    slug = f"e2e-idn-{uuid.uuid4().hex[:6]}"
    city = {**seed_city("pittsburgh"), "slug": slug, "name": f"Identity {slug}"}
    with ClusterRpcProxy({"AMQP_URI": platform["amqp_uri"]}, timeout=60) as rpc:
        rpc.catalog.onboard_city(city)
        created = wait_until(lambda: identity.create_api_key(
            slug, "org-1", {"name": "k", "scopes": ["webhooks:read"]}), 30,
            f"identity knows {slug}")
        pair = signed_in(platform, identity)
        identity.grant(pair["account_id"], slug, "city_admin", slug)
        identity.grant(pair["account_id"], CITY, "org_staff", "org-kept")
        rpc.catalog.archive_city(slug)

    def revoked():
        try:
            identity.authenticate(created["key"])
        except Unauthenticated:
            return True
        return False

    wait_until(revoked, 30, "the archived city's API key is revoked")
    grants = identity.list_grants(pair["account_id"])
    assert [grant["city"] for grant in grants] == [CITY]
    assert identity.login(identity.get_account(pair["account_id"])["email"],
                          PASSWORD)["account_id"] == pair["account_id"]


def test_logs_contain_no_email_or_token(platform, identity):
    email = new_email()
    identity.signup({"email": email, "password": PASSWORD})
    _, token = mailed_link(platform, email, "/verify-email")
    identity.verify_email(token, PASSWORD)
    for name in ("identity", "notifications"):
        log = (platform["run_dir"] / f"{name}.log").read_text(errors="replace")
        assert email not in log, name
        assert token not in log, name
        assert PASSWORD not in log, name
