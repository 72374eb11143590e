"""A badge platform in memory: a fake store, real keys and documents, and a
verifier whose fetches ``Hosting`` serves instead of HTTP."""

import json
import re

import pytest

from services.badges.hosting import Hosting
from services.badges.issuing import Issuance
from services.badges.urls import BadgeUrls
from services.badges.verify import Fetcher, VerificationFailed, Verifier
from tests.unit.badges.fakes import FakeBadgeStore

BASE_URL = "https://badges.example.test"
COMPLETION = {
    "completion_id": "cmp-reg-1",
    "registration_id": "reg-1",
    "youth_id": "yth-1",
    "opportunity_id": "opp-1",
    "opportunity_title": "Robot Club",
    "provider_name": "FUSE Studio",
    "completed_at": "2026-07-01T10:00:00+00:00",
    "evidence_url": "https://portfolio.example.test/robot",
}

ROUTES = [
    (r"assertions/([^/]+)", lambda host, m: host.assertion_document(m[1])),
    (r"classes/([^/]+)", lambda host, m: host.badge_class_document(m[1])),
    (
        r"classes/([^/]+)/versions/(\d+)",
        lambda host, m: host.badge_class_document(m[1], int(m[2])),
    ),
    (r"issuers/([^/]+)", lambda host, m: host.issuer_document(m[1])),
    (
        r"issuers/([^/]+)/keys/([^/]+)",
        lambda host, m: host.cryptographic_key(m[1], m[2]),
    ),
    (r"issuers/([^/]+)/revocations", lambda host, m: host.revocation_list(m[1])),
    (
        r"issuers/([^/]+)/status-lists/(\d+)",
        lambda host, m: host.status_list(m[1], int(m[2])),
    ),
    (r"keys/([^/]+)", lambda host, m: host.jwk(m[1])),
]


class HostingFetcher(Fetcher):
    """Serve fetches under ``BASE_URL`` from ``Hosting``, as the gateway would."""

    def __init__(self, hosting: Hosting):
        super().__init__(BASE_URL)
        self.hosting = hosting
        self.fetched = []

    def get(self, url, check):
        if not self.trusted(url):
            return super().get(url, check)
        self.fetched.append(url)
        path = url.removeprefix(f"{BASE_URL}/v1/cities/chicago/badges/")
        for pattern, build in ROUTES:
            match = re.fullmatch(pattern, path)
            if match:
                body = build(self.hosting, match)
                return (
                    body.encode()
                    if isinstance(body, str)
                    else json.dumps(body).encode()
                )
        raise VerificationFailed(check, f"{url} returned HTTP 404")


@pytest.fixture
def platform():
    store = FakeBadgeStore()
    urls = BadgeUrls(BASE_URL, "chicago")
    published = []

    def publish(event_type, city, data, event_id=None):
        published.append({"event_type": event_type, "data": data, "event_id": event_id})

    issuance = Issuance(store, urls, publish, "chicago")
    hosting = Hosting(store, urls, "chicago")
    fetcher = HostingFetcher(hosting)
    return {
        "store": store,
        "urls": urls,
        "published": published,
        "issuance": issuance,
        "hosting": hosting,
        "fetcher": fetcher,
        "verifier": Verifier(BASE_URL, fetcher),
    }


@pytest.fixture
def issued(platform):
    """A badge issued for ``COMPLETION``."""
    return platform["issuance"].on_completion(dict(COMPLETION))
