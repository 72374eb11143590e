"""Signed-in accounts for end-to-end tests, made the way real users make them.

Every account signs up through the gateway, confirms its address with the token
from the e-mail the platform sends to the test mailbox, and signs in. The
platform's operator is created with the identity CLI. A city's administrator is
named when an operator onboards the city, and sets a password with the token the
onboarding answer carries. Partner staff accept the catalog invitation while
signed in.

``Accounts.headers(who)`` turns ``who`` into request headers: an ``Account``,
``"operator"``, ``"admin:<city>"``, a catalog account id that an ``Accounts``
method created, or None for an anonymous request.
"""

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple 42"
TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_\-]+)")
# An access token with fewer seconds left than this is refreshed before use.
REFRESH_MARGIN_SECONDS = 120


@dataclass
class Account:
    email: str
    account_id: str
    access_token: str
    refresh_token: str
    catalog_accounts: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}


class Accounts:
    """Creates and remembers the accounts of one test platform."""

    def __init__(self, url: str, mailbox, env: dict):
        self.url = url
        self.mailbox = mailbox
        self.env = env
        self._by_catalog_account: dict[str, Account] = {}
        self._admins: dict[str, Account] = {}
        self._operator: Account | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    # Requests --------------------------------------------------------------

    def headers(self, who) -> dict:
        if who is None:
            return {}
        if isinstance(who, dict):
            return who
        return self.fresh(self.account(who)).headers

    def account(self, who) -> Account:
        """The ``Account`` that ``who`` names, as ``headers`` accepts it."""
        if isinstance(who, Account):
            return who
        if who == "operator":
            return self.operator()
        if isinstance(who, str) and who.startswith("admin:"):
            return self.city_admin(who.split(":", 1)[1])
        account = self._by_catalog_account.get(who)
        if account is None:
            raise KeyError(f"no signed-in account acts as catalog account {who!r}")
        return account

    def fresh(self, account: Account) -> Account:
        """Refresh ``account``'s tokens in place when its access token expires soon.

        Access tokens live 10 minutes by default, shorter than a test session.
        Refreshes are serialised because a refresh token works once, and using it
        twice revokes the session.
        """
        with self._refresh_lock:
            if seconds_left(account.access_token) > REFRESH_MARGIN_SECONDS:
                return account
            response = requests.post(f"{self.url}/v1/auth/token", json={
                "grant_type": "refresh_token", "refresh_token": account.refresh_token},
                timeout=30)
            assert response.status_code == 200, response.text
            tokens = response.json()
            account.access_token = tokens["access_token"]
            account.refresh_token = tokens["refresh_token"]
            return account

    def request(self, method: str, path: str, who=None, body=None, timeout=60,
                **params) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", json=body, params=params,
                                headers=self.headers(who), timeout=timeout)

    # Accounts --------------------------------------------------------------

    def sign_up(self, city: str = "chicago", email: str | None = None,
                password: str = PASSWORD) -> Account:
        """Sign up, confirm the address from the e-mail, and sign in."""
        email = email or f"person-{uuid.uuid4().hex[:12]}@example.org"
        response = requests.post(f"{self.url}/v1/cities/{city}/accounts",
                                 json={"email": email, "password": password},
                                 timeout=30)
        assert response.status_code == 202, response.text
        token = self.mailed_token(email)
        verified = requests.post(f"{self.url}/v1/auth/email-verification",
                                 json={"token": token, "password": password},
                                 timeout=30)
        assert verified.status_code == 200, verified.text
        return self.sign_in(email, password)

    def sign_in(self, email: str, password: str = PASSWORD) -> Account:
        response = requests.post(f"{self.url}/v1/auth/token",
                                 json={"email": email, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        tokens = response.json()
        return Account(email, tokens["account_id"], tokens["access_token"],
                       tokens["refresh_token"])

    def mailed_token(self, email: str, after: int = 0) -> str:
        """The token in the newest link e-mailed to ``email``."""
        messages = self.mailbox.wait_for(lambda found: len(
            [m for m in found if m["To"] == email and TOKEN_IN_LINK.search(text_of(m))])
            > after)
        tokens = [TOKEN_IN_LINK.search(text_of(message)).group(1)
                  for message in messages
                  if message["To"] == email and TOKEN_IN_LINK.search(text_of(message))]
        assert len(tokens) > after, f"no e-mail with a token reached {email}"
        return tokens[-1]

    def operator(self) -> Account:
        """The platform operator, created once with the identity CLI."""
        with self._lock:
            if self._operator is None:
                self._operator = self.new_operator("operator@example.org")
            return self._operator

    def new_operator(self, email: str) -> Account:
        """Create an operator account with the identity CLI and sign it in.

        A test that may log its operator out uses its own, so the shared one
        keeps working.
        """
        result = subprocess.run(
            [sys.executable, "-m", "services.identity.cli", "create-operator",
             "--email", email, "--password-stdin"],
            input=PASSWORD, cwd=ROOT, capture_output=True, text=True,
            timeout=120, env={**os.environ, **self.env})
        assert result.returncode == 0, result.stdout + result.stderr
        return self.sign_in(email)

    def city_admin(self, city: str, city_body: dict | None = None) -> Account:
        """The administrator of ``city``, named by onboarding the city again.

        ``city_body`` is the onboarding body; by default the seed city of that
        slug from ``data/cities.json``.
        """
        with self._lock:
            if city in self._admins:
                return self._admins[city]
        body = dict(city_body or seed_city(city))
        email = f"admin-{city}-{uuid.uuid4().hex[:6]}@example.org"
        body["admin"] = {"email": email, "name": f"{city} administrator"}
        response = self.request("POST", "/v1/cities", "operator", body)
        assert response.status_code in (200, 201), response.text
        onboarded = response.json()
        token = onboarded.get("admin_setup_token") or self.mailed_token(email)
        answer = requests.post(f"{self.url}/v1/auth/password",
                               json={"token": token, "password": PASSWORD}, timeout=30)
        assert answer.status_code == 200, answer.text
        admin = self.sign_in(email)
        admin.catalog_accounts[city] = onboarded["admin"]["id"]
        with self._lock:
            self._admins[city] = admin
            self._by_catalog_account[onboarded["admin"]["id"]] = admin
        return admin

    def accept_invitation(self, city: str, token: str, who: Account | None = None,
                          email: str | None = None):
        """Accept a catalog invitation as ``who``, by default a new account of
        ``email``, which must be the invited address.

        Returns ``(account, response)``; the catalog account id in the answer then
        names ``account`` in ``headers``.
        """
        who = who or self.sign_up(city, email)
        response = self.request("POST", f"/v1/cities/{city}/invitations/accept", who,
                                {"token": token})
        if response.status_code == 200:
            catalog_account = response.json()["account"]["id"]
            who.catalog_accounts[city] = catalog_account
            with self._lock:
                self._by_catalog_account[catalog_account] = who
        return who, response

    def partner(self, city: str, kind: str = "museum", name: str | None = None,
                approve: bool = True) -> tuple[str, Account]:
        """Invite, accept and approve a partner; return its id and its org admin."""
        name = name or f"Test partner {uuid.uuid4().hex[:6]}"
        email = f"lead-{uuid.uuid4().hex[:8]}@example.org"
        invited = self.request("POST", f"/v1/cities/{city}/organizations",
                               f"admin:{city}", {
                                   "name": name, "kind": kind,
                                   "website": "https://partner.example.org",
                                   "admin": {"email": email, "name": "Lee Lead"}})
        assert invited.status_code == 201, invited.text
        organization_id = invited.json()["organization"]["id"]
        lead, accepted = self.accept_invitation(
            city, invited.json()["invitation"]["token"], email=email)
        assert accepted.status_code == 200, accepted.text
        if approve:
            approved = self.request(
                "POST", f"/v1/cities/{city}/organizations/{organization_id}/approve",
                f"admin:{city}")
            assert approved.status_code == 200, approved.text
        return organization_id, lead

    def api_key(self, city: str, organization_id: str, lead: Account,
                scopes=("webhooks:read", "webhooks:write")) -> str:
        response = self.request(
            "POST", f"/v1/cities/{city}/organizations/{organization_id}/api-keys", lead,
            {"name": "test key", "scopes": list(scopes)})
        assert response.status_code == 201, response.text
        return response.json()["key"]


def seconds_left(access_token: str) -> float:
    """Seconds until a JWT access token's ``exp``, read without checking it."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["exp"] - time.time()


def text_of(message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""


def seed_city(slug: str) -> dict:
    import json

    from deploy.seed import CITY_FIELDS
    cities = json.loads((ROOT / "data" / "cities.json").read_text())
    city = next(city for city in cities if city["slug"] == slug)
    return {key: value for key, value in city.items() if key in CITY_FIELDS}
