"""Partner webhooks and e-mail on the real platform: outages, signatures, replays,
disablement, tenancy and unsubscribing.

Events are published straight to RabbitMQ with nameko's standalone dispatcher, as
the badges and registration services would publish them, so a test can send
hundreds without walking each journey through the gateway.

Each partner is an organisation of the city, invited and approved once per module.
It manages its webhooks with an API key that has the ``webhooks:read`` and
``webhooks:write`` scopes; the notifications service files them under the
organisation's id.
"""

import json
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from standardwebhooks.webhooks import Webhook

from cities_common import events
from tests.e2e.accounts import Account
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

# Pittsburgh has no programmes, so no other test's events reach its endpoints.
CITY = "pittsburgh"
OUTAGE_EVENTS = 500


@dataclass
class Partner:
    """A partner organisation, its org admin and its API key."""

    organization_id: str
    lead: Account
    key: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}


def call(platform, method, path, who=None, body=None, **params):
    """Send a request as ``who``: a ``Partner`` (its API key), or anything
    ``Accounts.headers`` takes."""
    if isinstance(who, Partner):
        who = who.headers
    return platform["accounts"].request(method, path, who, body, timeout=30, **params)


@pytest.fixture(scope="module")
def partners(platform):
    """Return a function that takes a partner's name and city and returns its
    ``Partner``, creating it on first use."""
    accounts = platform["accounts"]
    created = {}

    def partner(name, city=CITY):
        if (city, name) not in created:
            organization_id, lead = accounts.partner(city, "employer", name)
            created[city, name] = Partner(
                organization_id, lead, accounts.api_key(city, organization_id, lead))
        return created[city, name]

    return partner


def subscribe(platform, partner, url, types=("badge.issued",), city=CITY, **extra):
    response = call(platform, "POST", f"/v1/cities/{city}/webhooks", partner,
                    {"url": url, "event_types": list(types), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def webhook_path(subscription, suffix=""):
    return f"/v1/cities/{subscription['city']}/webhooks/{subscription['id']}{suffix}"


def badge_event(city=CITY, youth_id=None):
    youth_id = youth_id or f"yth-{uuid.uuid4().hex[:12]}"
    assertion_id = f"asr-{uuid.uuid4().hex[:16]}"
    return events.make_event(events.BADGE_ISSUED, city, {
        "assertion_id": assertion_id, "youth_id": youth_id, "badge_class_id": "bc-e2e",
        "opportunity_id": "opp-e2e", "completion_id": f"cmp-{assertion_id}",
        "issued_on": datetime.now(timezone.utc).isoformat(), "assertion": {},
    }, event_id=f"badge-issued-{assertion_id}")


def publish(platform, source, event_type, envelopes):
    dispatch = event_dispatcher({"AMQP_URI": platform["amqp_uri"]})
    for envelope in envelopes:
        dispatch(source, event_type, envelope)


def wait_until(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {message}")
        time.sleep(0.2)


def verified(secret, request) -> dict:
    """Verify one received request with the standardwebhooks library; return its body."""
    return Webhook(secret).verify(request["body"], request["headers"])


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_outage_loses_no_event(platform, partners, receiver):
    """Take the endpoint down while 500 badges are issued; after it returns, every
    event arrives once or more, signed, and repeats share one webhook-id."""
    partner = partners("outage-partner")
    subscription = subscribe(platform, partner, receiver.url)
    receiver.stop()
    published = [badge_event() for _ in range(OUTAGE_EVENTS)]
    publish(platform, "badges", events.BADGE_ISSUED, published)

    def failed_attempts():
        attempts = call(platform, "GET", webhook_path(subscription, "/attempts"),
                        partner, limit=1000).json()["attempts"]
        return len([item for item in attempts if item["status_code"] is None]) >= 25

    wait_until(failed_attempts, 60, "25 attempts failed against the stopped endpoint")
    receiver.start()

    expected = {envelope["event_id"] for envelope in published}
    wait_until(lambda: {event["id"] for event in receiver.events()} >= expected, 240,
               "every published event was received")

    by_webhook_id = defaultdict(list)
    for request in receiver.accepted():
        body = verified(subscription["secret"], request)
        by_webhook_id[request["headers"]["webhook-id"]].append(body["id"])
    assert len(by_webhook_id) == OUTAGE_EVENTS
    assert all(len(set(ids)) == 1 for ids in by_webhook_id.values())
    webhook_ids_per_event = defaultdict(set)
    for webhook_id, ids in by_webhook_id.items():
        webhook_ids_per_event[ids[0]].add(webhook_id)
    assert set(webhook_ids_per_event) == expected
    assert all(len(ids) == 1 for ids in webhook_ids_per_event.values())

    # Each delivery is marked delivered after the endpoint's response arrives,
    # so the last few can lag behind what the receiver has seen.
    def all_delivered():
        found = call(platform, "GET", webhook_path(subscription, "/deliveries"),
                     partner, status="delivered", limit=1000).json()
        return found if len(found["deliveries"]) >= OUTAGE_EVENTS else None

    deliveries = wait_until(all_delivered, 60, "every delivery was marked delivered")
    assert len(deliveries["deliveries"]) == OUTAGE_EVENTS
    stored = call(platform, "GET", webhook_path(subscription), partner).json()
    assert stored["status"] == "active"
    call(platform, "DELETE", webhook_path(subscription), partner)


def test_manage_subscription_lifecycle(platform, partners, receiver):
    partner = partners("lifecycle")
    created = subscribe(platform, partner, receiver.url,
                        types=["badge.*", "registration.*"], description="CRM sync")
    assert created["secret"].startswith("whsec_")
    path = webhook_path(created)

    listed = call(platform, "GET", f"/v1/cities/{CITY}/webhooks", partner).json()
    assert [item["id"] for item in listed["webhooks"]] == [created["id"]]
    assert all("secret" not in item for item in listed["webhooks"])
    signed_in = call(platform, "GET", f"/v1/cities/{CITY}/webhooks", partner.lead)
    assert signed_in.json() == listed

    changed = call(platform, "PATCH", path, partner,
                   {"event_types": ["badge.revoked"]})
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["badge.revoked"]
    invalid = call(platform, "PATCH", path, partner, {"event_types": ["nope"]})
    assert invalid.status_code == 400
    assert "event_types" in invalid.json()["errors"]

    assert call(platform, "DELETE", path, partner).status_code == 204
    assert call(platform, "GET", path, partner).status_code == 404


def test_list_needs_partner(platform, partners):
    partner = partners("lifecycle")
    path = f"/v1/cities/{CITY}/webhooks"
    assert call(platform, "GET", path).status_code == 401
    outsider = platform["accounts"].sign_up(CITY)
    assert call(platform, "GET", path, outsider).status_code == 403
    read_only = platform["accounts"].api_key(
        CITY, partner.organization_id, partner.lead, scopes=("webhooks:read",))
    key = {"Authorization": f"Bearer {read_only}"}
    assert call(platform, "GET", path, key).status_code == 200
    written = call(platform, "POST", path, key, {
        "url": "https://hooks.example.org/in", "event_types": ["badge.issued"]})
    assert written.status_code == 403
    assert call(platform, "GET", path, {"X-Api-Key": read_only}).status_code == 200
    assert call(platform, "GET", path, {"Authorization": "Bearer col_forged"}) \
        .status_code == 401


def partner_elsewhere(platform, partner, city) -> str:
    """Make the org admin of ``partner`` the org admin of a new partner in ``city``;
    return that organisation's id."""
    accounts = platform["accounts"]
    invited = call(platform, "POST", f"/v1/cities/{city}/organizations",
                   f"admin:{city}", {
                       "name": f"Partner {uuid.uuid4().hex[:6]}", "kind": "employer",
                       "website": "https://partner.example.org",
                       "admin": {"email": partner.lead.email, "name": "Lee Lead"}})
    assert invited.status_code == 201, invited.text
    _, accepted = accounts.accept_invitation(
        city, invited.json()["invitation"]["token"], partner.lead)
    assert accepted.status_code == 200, accepted.text
    organization_id = invited.json()["organization"]["id"]
    approved = call(platform, "POST",
                    f"/v1/cities/{city}/organizations/{organization_id}/approve",
                    f"admin:{city}")
    assert approved.status_code == 200, approved.text
    return organization_id


def test_partners_and_cities_are_separated(platform, partners, receiver):
    tenant_a, tenant_b = partners("tenant-a"), partners("tenant-b")
    elsewhere = "washington-dc"
    partner_elsewhere(platform, tenant_a, elsewhere)
    mine = subscribe(platform, tenant_a, receiver.url)
    assert mine["partner"] == tenant_a.organization_id
    other_partner = call(platform, "GET", webhook_path(mine), tenant_b)
    assert other_partner.status_code == 404
    assert call(platform, "GET", webhook_path(mine), tenant_b.lead).status_code == 404
    # The API key works only in its own city. Signed in, the same person acts for
    # their organisation in the other city, which does not own the subscription.
    other_city = f"/v1/cities/{elsewhere}/webhooks/{mine['id']}"
    assert call(platform, "GET", other_city, tenant_a).status_code == 403
    assert call(platform, "GET", other_city, tenant_a.lead).status_code == 404
    assert call(platform, "GET", f"/v1/cities/{elsewhere}/webhooks",
                tenant_a.lead).json()["webhooks"] == []
    assert call(platform, "DELETE", webhook_path(mine), tenant_b).status_code == 404
    posing = call(platform, "POST", f"/v1/cities/{CITY}/webhooks", tenant_b, {
        "partner": tenant_a.organization_id, "url": receiver.url,
        "event_types": ["badge.issued"]})
    assert posing.status_code == 400
    assert "partner" in posing.json()["errors"]

    foreign = Receiver()
    try:
        subscribe(platform, tenant_a.lead, foreign.url, city=elsewhere)
        event = badge_event()
        publish(platform, "badges", events.BADGE_ISSUED, [event])
        receiver.wait_for(lambda items: any(item["id"] == event["event_id"]
                                            for item in items))
        assert all(item["data"]["city"] == CITY for item in receiver.events())
        assert foreign.requests == []
    finally:
        foreign.close()
        call(platform, "DELETE", webhook_path(mine), tenant_a)


def test_rotation_signs_with_old_and_new(platform, partners, receiver):
    partner = partners("rotator")
    created = subscribe(platform, partner, receiver.url)
    rotated = call(platform, "POST", webhook_path(created, "/rotate-secret"), partner,
                   {"overlap_seconds": 3600})
    assert rotated.status_code == 200
    rotated = rotated.json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"]

    event = badge_event()
    publish(platform, "badges", events.BADGE_ISSUED, [event])
    receiver.wait_for(lambda items: len(items) >= 1)
    request = receiver.accepted()[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verified(created["secret"], request)["id"] == event["event_id"]
    assert verified(rotated["secret"], request)["id"] == event["event_id"]
    call(platform, "DELETE", webhook_path(created), partner)


def test_replay_event_and_range(platform, partners, receiver):
    receiver.status = 200
    partner = partners("replayer")
    created = subscribe(platform, partner, receiver.url)
    since = datetime.now(timezone.utc).isoformat()
    sent = [badge_event() for _ in range(3)]
    publish(platform, "badges", events.BADGE_ISSUED, sent)
    receiver.wait_for(lambda items: len(items) >= 3)
    assert len(receiver.accepted()) == 3

    one = call(platform, "POST", webhook_path(created, "/replay"), partner,
               {"event_id": sent[0]["event_id"]})
    assert one.status_code == 202
    assert one.json()["queued"] == 1
    receiver.wait_for(lambda items: len(items) >= 4)
    first_ids = [request["headers"]["webhook-id"] for request in receiver.accepted()
                 if json.loads(request["body"])["id"] == sent[0]["event_id"]]
    assert len(first_ids) == 2
    assert len(set(first_ids)) == 1

    ranged = call(platform, "POST", webhook_path(created, "/replay"), partner,
                  {"since": since})
    assert ranged.status_code == 202
    assert sorted(ranged.json()["event_ids"]) == sorted(e["event_id"] for e in sent)
    receiver.wait_for(lambda items: len(items) >= 7)
    assert len(receiver.accepted()) == 7

    # An attempt is recorded after its response arrives, so the receiver can
    # see the last request before the attempt shows up in the list.
    def three_attempts():
        found = call(platform, "GET", webhook_path(created, "/attempts"), partner,
                     event_id=sent[0]["event_id"]).json()["attempts"]
        return found if len(found) >= 3 else None

    attempts = wait_until(three_attempts, 30, "three attempts were recorded")
    assert [item["status_code"] for item in attempts] == [200, 200, 200]
    assert all(item["latency_ms"] >= 0 for item in attempts)
    assert all(item["response_excerpt"] == "ok" for item in attempts)
    call(platform, "DELETE", webhook_path(created), partner)


def test_failing_endpoint_disabled_and_owner_told(platform, partners, receiver):
    receiver.status = 500
    partner = partners("broken-partner")
    created = subscribe(platform, partner, receiver.url,
                        contact_email="ops@broken.example", language="es")
    event = badge_event()
    publish(platform, "badges", events.BADGE_ISSUED, [event])

    def disabled():
        stored = call(platform, "GET", webhook_path(created), partner).json()
        return stored if stored["status"] == "disabled" else None

    stored = wait_until(disabled, 90, "the failing endpoint was disabled")
    assert stored["disabled_reason"] == "failing"
    assert len(receiver.requests) >= 2
    messages = platform["mailbox"].wait_for(lambda messages: any(
        message["To"] == "ops@broken.example" for message in messages))
    told = [message for message in messages if message["To"] == "ops@broken.example"]
    assert len(told) == 1
    assert told[0]["Subject"].startswith("Endpoint de webhook desactivado")
    assert created["id"] in told[0].get_content()

    with ClusterRpcProxy({"AMQP_URI": platform["amqp_uri"]}) as rpc:
        dead = rpc.notifications.list_dead_letters(CITY, partner.organization_id)
    assert [item["event_id"] for item in dead] == [event["event_id"]]
    assert dead[0]["reason"] == "endpoint_disabled"

    receiver.status = 204
    enabled = call(platform, "PATCH", webhook_path(created), partner,
                   {"status": "active"})
    assert enabled.json()["status"] == "active"
    replay = call(platform, "POST", webhook_path(created, "/replay"), partner,
                  {"event_id": event["event_id"]})
    assert replay.status_code == 202
    receiver.wait_for(lambda items: len(receiver.accepted()) >= 1)
    assert json.loads(receiver.accepted()[0]["body"])["id"] == event["event_id"]
    call(platform, "DELETE", webhook_path(created), partner)


def test_slow_partner_does_not_delay_others(platform, partners, receiver):
    """A slow endpoint gets at most its concurrency cap (4) of requests at once,
    while another partner's endpoint receives every event."""
    slow_partner, fast_partner = partners("slow-partner"), partners("fast-partner")
    slow = Receiver(delay=2.5)
    try:
        slow_subscription = subscribe(platform, slow_partner, slow.url)
        fast_subscription = subscribe(platform, fast_partner, receiver.url)
        sent = [badge_event() for _ in range(40)]
        publish(platform, "badges", events.BADGE_ISSUED, sent)
        receiver.wait_for(lambda items: len(items) >= 40, timeout=60)
        assert len(receiver.accepted()) == 40
        slow.wait_for(lambda items: len(items) >= 8, timeout=60)
        assert slow.max_concurrent <= 4
        assert receiver.max_concurrent <= 4
    finally:
        call(platform, "DELETE", webhook_path(slow_subscription), slow_partner)
        call(platform, "DELETE", webhook_path(fast_subscription), fast_partner)
        slow.close()


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "ftp://127.0.0.1/hook",
])
def test_subscription_rejects_unsafe_url(platform, partners, url):
    response = call(platform, "POST", f"/v1/cities/{CITY}/webhooks", partners("ssrf"),
                    {"url": url, "event_types": ["badge.issued"]})
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def registered_event(youth_id, address, language):
    registration_id = f"reg-{uuid.uuid4().hex[:12]}"
    return events.make_event(events.YOUTH_REGISTERED, CITY, {
        "registration_id": registration_id, "youth_id": youth_id,
        "opportunity_id": "opp-e2e", "status": "confirmed",
        "contact_email": address, "preferred_language": language,
    }, event_id=f"registered-{registration_id}")


def test_emails_in_language_and_unsubscribe(platform):
    mailbox = platform["mailbox"]
    ana, ben = "ana.family@example.org", "ben.family@example.org"
    publish(platform, "registration", events.YOUTH_REGISTERED, [
        registered_event("yth-ana", ana, "es"), registered_event("yth-ben", ben, "en")])
    messages = mailbox.wait_for(lambda messages: {ana, ben} <= {
        message["To"] for message in messages})
    to_ana = [message for message in messages if message["To"] == ana]
    assert len(to_ana) == 1
    assert to_ana[0]["Subject"].startswith("Tu lugar en")
    to_ben = [message for message in messages if message["To"] == ben]
    assert to_ben[0]["Subject"].startswith("Your place in")

    link = re.search(r"(http://\S+/unsubscribe/\S+)", to_ana[0].get_content()).group(1)
    assert requests.get(link, timeout=10).status_code == 200
    assert requests.post(link, timeout=10).status_code == 200
    assert "You are unsubscribed" in requests.get(link, timeout=10).text

    publish(platform, "badges", events.BADGE_ISSUED, [
        badge_event(youth_id="yth-ana"), badge_event(youth_id="yth-ben")])
    messages = mailbox.wait_for(lambda messages: any(
        message["To"] == ben and "badge" in message["Subject"]
        for message in messages))
    # The mailbox is shared with other tests, whose youth earn badges too.
    badge_mail = [message for message in messages
                  if message["To"] in (ana, ben) and ("badge" in message["Subject"]
                                                      or "insignia" in message["Subject"])]
    assert [message["To"] for message in badge_mail] == [ben]


def test_unsubscribe_unknown_token_is_404(platform):
    response = requests.get(f"{platform['url']}/v1/cities/{CITY}/unsubscribe/nope",
                            timeout=10)
    assert response.status_code == 404
