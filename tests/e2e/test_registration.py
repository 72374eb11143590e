"""Registration journeys through the gateway on the real servers.

The tests import their own opportunities into the seeded Chicago and Dallas
catalogs (source ``e2e-registration``), so they never change the capacity or
rosters of the real programmes that other journeys register for. A queue bound
to the registration service's event exchange records what it dispatches.

Imported opportunities belong to no partner organisation, so the city's
administrator (``"admin:chicago"``) is the staff member who takes attendance,
signs off completions and reads rosters. A guardian account (``family``)
registers the youth, each with an inline profile, and acts on their behalf.
"""

import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import eventlet
import pymongo
import pytest
from kombu import Connection, Queue, binding
from nameko.standalone.events import event_dispatcher, get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common import events
from services.catalog.storage import record_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "e2e-registration"
CHICAGO_ZONE = ZoneInfo("America/Chicago")
TEEN_YEAR = date.today().year - 14
CHILD_YEAR = date.today().year - 9
ADMIN = "admin:chicago"
LOAD_GUARDIANS = 20


class EventTap:
    """A queue that receives every event the registration service dispatches."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri)
        exchange = get_event_exchange("registration", {})
        self.queue = Queue(f"e2e-registration-tap-{uuid.uuid4().hex[:8]}",
                           bindings=[binding(exchange, routing_key="#")],
                           exclusive=True, auto_delete=True)
        channel = self.connection.channel()
        exchange(channel).declare()
        self.bound = self.queue(channel)
        self.bound.declare()
        self.events: list[dict] = []

    def collect(self) -> list[dict]:
        while (message := self.bound.get(no_ack=True)) is not None:
            self.events.append(message.payload)
        return self.events

    def wait_for(self, predicate, timeout: float = 15.0) -> list[dict]:
        """Collect events until ``predicate(events)`` is true or the timeout passes."""
        deadline = time.monotonic() + timeout
        while not predicate(self.collect()) and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        return self.events

    def of(self, event_type: str, **data) -> list[dict]:
        return [item for item in self.collect() if item["event_type"] == event_type
                and all(item["data"].get(key) == value for key, value in data.items())]

    def close(self) -> None:
        self.connection.release()


@pytest.fixture(scope="module")
def tap(platform, namespace):
    events = EventTap(namespace.amqp_uri)
    yield events
    events.close()


@pytest.fixture(scope="module")
def family(platform):
    """The guardian account that registers this module's youth."""
    return platform["accounts"].sign_up("chicago")


def call(platform, method, path, who=None, body=None, **params):
    """Send a request as ``who`` (see ``Accounts.headers``); None is anonymous."""
    return platform["accounts"].request(method, path, who, body, **params)


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def chicago_now() -> datetime:
    return datetime.now(CHICAGO_ZONE).replace(tzinfo=None, second=0, microsecond=0)


def weekly_sessions(first: datetime, count: int, hours: int = 2) -> list[dict]:
    return [{"start": local(first), "end": local(first + timedelta(hours=hours)),
             "rrule": f"FREQ=WEEKLY;COUNT={count}"}]


def import_opportunities(namespace, city: str, specs: dict) -> dict:
    """Import published online opportunities in one catalog batch; return them by key.

    ``specs`` maps a key to the fields that differ from the defaults.
    """
    records = {}
    for key, fields in specs.items():
        source_id = f"{key}-{uuid.uuid4().hex[:10]}"
        records[key] = {"source": SOURCE, "source_id": source_id, "city": city,
                        "title": f"Registration test {source_id}",
                        "provider": {"name": "Registration Test Lab"},
                        "format": "online", "status": "published", "min_age": 6,
                        "max_age": 18, **fields}
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": city}) as rpc:
        outcome = rpc.catalog.import_records("opportunities", list(records.values()))
        assert outcome["rejected"] == [], outcome["rejected"]
        return {key: rpc.catalog.get_opportunity(
            record_id("opportunities", city, SOURCE, record["source_id"]))
            for key, record in records.items()}


def register(platform, who, city, opportunity_id, youth=None, youth_id=None):
    """Register as ``who``: a youth ``who`` acts for, or a new one as its guardian."""
    body = {"opportunity_id": opportunity_id}
    if youth_id:
        body["youth_id"] = youth_id
    else:
        body["relationship"] = "guardian"
        body["youth"] = youth or {"display_name": "Sam", "birth_year": TEEN_YEAR,
                                  "birth_month": 1}
    return call(platform, "POST", f"/v1/cities/{city}/registrations", who, body)


def child_with_guardian(platform, who, city="chicago") -> dict:
    response = call(platform, "POST", f"/v1/cities/{city}/youth", who, {
        "relationship": "guardian",
        "display_name": "Ana", "birth_year": CHILD_YEAR, "birth_month": 3,
        "home": {"postal_code": "60605-1234"}, "interests": ["coding-games"],
        "preferred_language": "es",
        "guardians": [{"name": "Rosa", "email": "rosa@example.org", "language": "es"}]})
    assert response.status_code == 201, response.text
    return response.json()


def consent_token(platform, tap, who, youth, city="chicago") -> str:
    """Request consent as ``who`` and return the token from the event's link."""
    response = call(platform, "POST", f"/v1/cities/{city}/youth/{youth['id']}"
                                      "/consent-requests", who,
                    {"guardian_id": youth["guardians"][0]["id"]})
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]
    assert "token" not in json.dumps(response.json())
    tap.wait_for(lambda _: tap.of("guardian_consent_requested",
                                  consent_request_id=request_id))
    event = tap.of("guardian_consent_requested", consent_request_id=request_id)[0]
    assert event["data"]["guardian_email"] == "rosa@example.org"
    assert event["data"]["language"] == "es"
    assert event["data"]["consent_url"].startswith(
        f"{platform['url']}/guardian-consent/{city}#token=")
    return event["data"]["consent_url"].split("#token=")[1]


def answer(platform, token, decision="grant", city="chicago"):
    """Answer a consent link anonymously, as a guardian following the e-mail does."""
    return call(platform, "POST", f"/v1/cities/{city}/guardian-consent", None,
                {"token": token, "decision": decision})


@pytest.fixture(scope="module")
def opportunities(platform, namespace):
    """The module's test opportunities in Chicago, by purpose."""
    now = chicago_now()
    past = now - timedelta(days=21)
    future = now + timedelta(days=10)
    return import_opportunities(namespace, "chicago", {
        "open": {"capacity": 3, "sessions": weekly_sessions(past, 3)},
        "roomy": {},
        "closed": {"status": "closed"},
        "not_yet": {"registration": {"opens": local(now + timedelta(days=2))}},
        "ended": {"registration": {"closes": local(now - timedelta(days=2))}},
        "older": {"min_age": 16},
        "younger": {"max_age": 10},
        "clash_a": {"sessions": weekly_sessions(future, 4)},
        "clash_b": {"sessions": [{"start": local(future + timedelta(hours=1)),
                                  "end": local(future + timedelta(hours=3))}]},
        "waitlist": {"capacity": 3},
        "erasure": {"capacity": 1},
        "erasure_badge": {},
        "first": {},
        "load": {"capacity": 50},
        "grows": {"capacity": 1},
        "withdrawn": {"capacity": 1},
    })


@pytest.mark.parametrize("key, youth, reason", [
    ("closed", None, "opportunity_not_open"),
    ("not_yet", None, "registration_not_open_yet"),
    ("ended", None, "registration_closed"),
    ("older", None, "too_young"),
    ("younger", None, "too_old"),
    ("roomy", {"display_name": "Kid", "birth_year": CHILD_YEAR, "birth_month": 1},
     "guardian_consent_required"),
])
def test_registration_rejected_with_reason(platform, opportunities, family, key, youth,
                                           reason):
    response = register(platform, family, "chicago", opportunities[key]["id"], youth)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["reason"] == reason
    assert body["type"].endswith("/rejected")
    assert body["detail"]


def test_registration_needs_sign_in(platform, opportunities):
    response = register(platform, None, "chicago", opportunities["roomy"]["id"])
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_registration_twice_returns_existing(platform, opportunities, family, tap):
    first = register(platform, family, "chicago", opportunities["roomy"]["id"])
    assert first.status_code == 201, first.text
    again = register(platform, family, "chicago", opportunities["roomy"]["id"],
                     youth_id=first.json()["youth_id"])
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    tap.wait_for(lambda _: tap.of("youth_registered",
                                  registration_id=first.json()["id"]))
    assert len(tap.of("youth_registered", registration_id=first.json()["id"])) == 1


def test_overlapping_sessions_give_warning(platform, opportunities, family):
    first = register(platform, family, "chicago", opportunities["clash_a"]["id"]).json()
    second = register(platform, family, "chicago", opportunities["clash_b"]["id"],
                      youth_id=first["youth_id"])
    assert second.status_code == 201, second.text
    warnings = second.json()["warnings"]
    assert [item["code"] for item in warnings] == ["overlapping_sessions"]
    assert warnings[0]["opportunity_id"] == opportunities["clash_a"]["id"]


def test_child_consent_grant_reuse_and_withdrawal(platform, opportunities, family, tap):
    youth = child_with_guardian(platform, family)
    assert youth["home"] == {"postal_code": "60605", "neighbourhood": None,
                             "centroid": None}
    refused = register(platform, family, "chicago", opportunities["roomy"]["id"],
                       youth_id=youth["id"])
    assert refused.json()["reason"] == "guardian_consent_required"

    token = consent_token(platform, tap, family, youth)
    shown = call(platform, "POST", "/v1/cities/chicago/guardian-consent/lookup", None,
                 {"token": token})
    assert shown.status_code == 200, shown.text
    assert shown.json()["youth_display_name"] == "Ana"
    granted = answer(platform, token)
    assert granted.status_code == 200, granted.text
    assert granted.json()["consent"]["status"] == "granted"
    reused = answer(platform, token)
    assert reused.status_code == 409
    assert reused.json()["reason"] == "consent_token_used"

    registration = register(platform, family, "chicago", opportunities["roomy"]["id"],
                            youth_id=youth["id"])
    assert registration.status_code == 201, registration.text
    withdrawn = call(platform, "POST",
                     f"/v1/cities/chicago/youth/{youth['id']}/consent-withdrawal",
                     family, {})
    assert withdrawn.status_code == 200, withdrawn.text
    cancelled = withdrawn.json()["cancelled_registrations"]
    assert [item["id"] for item in cancelled] == [registration.json()["id"]]
    tap.wait_for(lambda _: tap.of("registration_cancelled",
                                  registration_id=registration.json()["id"]))
    event = tap.of("registration_cancelled", registration_id=registration.json()["id"])
    assert event[0]["data"]["reason"] == "consent_withdrawn"
    again = register(platform, family, "chicago", opportunities["roomy"]["id"],
                     youth_id=youth["id"])
    assert again.json()["reason"] == "guardian_consent_withdrawn"


def test_consent_token_expired_missing_unknown_revoked(platform, namespace, family,
                                                       tap):
    youth = child_with_guardian(platform, family)
    older = consent_token(platform, tap, family, youth)
    newer = consent_token(platform, tap, family, youth)
    revoked = answer(platform, older)
    assert revoked.json()["reason"] == "consent_token_revoked"

    database = pymongo.MongoClient(namespace.settings.mongo_url)[
        namespace.settings.mongo_database("registration")]
    database["consent_requests"].update_many(
        {"youth_id": youth["id"], "status": "pending"},
        {"$set": {"expires_at": datetime.utcnow() - timedelta(minutes=5)}})
    expired = answer(platform, newer)
    assert expired.status_code == 409
    assert expired.json()["reason"] == "consent_token_expired"

    missing = call(platform, "POST", "/v1/cities/chicago/guardian-consent", None,
                   {"decision": "grant"})
    assert missing.status_code == 400
    assert "token" in missing.json()["errors"]
    unknown = answer(platform, "x" * 43)
    assert unknown.status_code == 404


def test_waitlist_promotion_follows_sequence(platform, opportunities, family, tap):
    opportunity = opportunities["waitlist"]
    results = [register(platform, family, "chicago", opportunity["id"]).json()
               for _ in range(6)]
    assert [item["status"] for item in results] == ["confirmed"] * 3 + ["waitlisted"] * 3
    assert [item["sequence"] for item in results] == [1, 2, 3, 4, 5, 6]
    assert [item.get("waitlist_position") for item in results[3:]] == [1, 2, 3]

    for item in (results[1], results[0]):
        response = call(platform, "POST", f"/v1/cities/chicago/registrations/"
                                          f"{item['id']}/cancellation", family, {})
        assert response.status_code == 200, response.text
    roster = call(platform, "GET", f"/v1/cities/chicago/opportunities/"
                                   f"{opportunity['id']}/registrations", ADMIN).json()
    statuses = {item["sequence"]: item["status"] for item in roster["registrations"]}
    assert statuses == {1: "cancelled", 2: "cancelled", 3: "confirmed",
                        4: "confirmed", 5: "confirmed", 6: "waitlisted"}
    assert roster["summary"]["seats_taken"] == 3
    assert roster["summary"]["waiting"] == 1
    tap.wait_for(lambda _: len(tap.of("waitlist_promoted",
                                      opportunity_id=opportunity["id"])) >= 2)
    promoted = tap.of("waitlist_promoted", opportunity_id=opportunity["id"])
    assert [item["data"]["sequence"] for item in promoted] == [4, 5]


def reimport(namespace, city: str, opportunity: dict, **changes) -> None:
    """Import ``opportunity`` again from its source with ``changes``."""
    record = {"source": SOURCE, "source_id": opportunity["source_id"], "city": city,
              "title": opportunity["title"],
              "provider": {"name": "Registration Test Lab"}, "format": "online",
              "status": "published", "min_age": 6, "max_age": 18,
              "capacity": opportunity.get("capacity"), **changes}
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": city}) as rpc:
        outcome = rpc.catalog.import_records("opportunities", [record])
        assert outcome["rejected"] == [], outcome["rejected"]


def statuses_of(platform, opportunity) -> dict:
    roster = call(platform, "GET", f"/v1/cities/chicago/opportunities/"
                                   f"{opportunity['id']}/registrations", ADMIN).json()
    return {item["sequence"]: item["status"] for item in roster["registrations"]}


def test_capacity_raise_and_withdrawal(platform, namespace, opportunities, family,
                                       tap):
    grows, withdrawn = opportunities["grows"], opportunities["withdrawn"]
    for opportunity in (grows, withdrawn):
        results = [register(platform, family, "chicago", opportunity["id"]).json()
                   for _ in range(3)]
        assert [item["status"] for item in results] == \
            ["confirmed", "waitlisted", "waitlisted"]

    reimport(namespace, "chicago", grows, capacity=2)
    wait_until(lambda: statuses_of(platform, grows) ==
               {1: "confirmed", 2: "confirmed", 3: "waitlisted"}, 60,
               "the raised capacity to promote sequence 2")
    promoted = tap.wait_for(lambda _: tap.of("waitlist_promoted",
                                             opportunity_id=grows["id"]))
    assert [item["data"]["sequence"] for item in
            tap.of("waitlist_promoted", opportunity_id=grows["id"])] == [2]
    assert promoted

    reimport(namespace, "chicago", withdrawn, status="withdrawn")
    wait_until(lambda: set(statuses_of(platform, withdrawn).values()) == {"cancelled"},
               60, "the withdrawal to cancel every registration")
    tap.wait_for(lambda _: len(tap.of("registration_cancelled",
                                      opportunity_id=withdrawn["id"])) >= 3)
    cancelled = tap.of("registration_cancelled", opportunity_id=withdrawn["id"])
    assert {item["data"]["reason"] for item in cancelled} == {"opportunity_withdrawn"}
    assert tap.of("waitlist_promoted", opportunity_id=withdrawn["id"]) == []


def test_roster_hidden_from_non_staff(platform, opportunities, family):
    path = (f"/v1/cities/chicago/opportunities/{opportunities['roomy']['id']}"
            "/registrations")
    _, other_partner = platform["accounts"].partner("chicago")
    assert call(platform, "GET", path).status_code == 401
    assert call(platform, "GET", path, family).status_code == 403
    assert call(platform, "GET", path, other_partner).status_code == 403
    assert call(platform, "GET", path, ADMIN).status_code == 200


def test_completion_by_attendance_emits_once(platform, opportunities, family, tap):
    opportunity = opportunities["open"]
    path = f"/v1/cities/chicago/opportunities/{opportunity['id']}"
    rule = call(platform, "PUT", f"{path}/completion-rule", ADMIN,
                {"min_sessions_attended": 2})
    assert rule.status_code == 200, rule.text
    assert rule.json()["total_sessions"] == 3
    registration = register(platform, family, "chicago", opportunity["id"]).json()
    first = datetime.strptime(opportunity["sessions"][0]["start"], "%Y-%m-%dT%H:%M")
    sessions = [local(first + timedelta(weeks=week)) for week in range(3)]

    _, other_partner = platform["accounts"].partner("chicago")
    for who, status in ((None, 401), (family, 403), (other_partner, 403)):
        refused = call(platform, "POST", f"{path}/attendance", who, {
            "session_id": sessions[0], "records": [
                {"registration_id": registration["id"], "status": "present"}]})
        assert refused.status_code == status, refused.text
    completed = []
    for session in sessions:
        response = call(platform, "POST", f"{path}/attendance", ADMIN, {
            "session_id": session, "records": [
                {"registration_id": registration["id"], "status": "present"}]})
        assert response.status_code == 200, response.text
        completed.append(response.json()["completed_registration_ids"])
    assert completed == [[], [registration["id"]], []]

    signed = call(platform, "POST", f"/v1/cities/chicago/registrations/"
                                    f"{registration['id']}/completion", ADMIN, {})
    assert signed.status_code == 200
    assert signed.json()["completion"]["method"] == "attendance"
    tap.wait_for(lambda _: tap.of("program_completed",
                                  registration_id=registration["id"]))
    eventlet.sleep(1)
    assert len(tap.of("program_completed", registration_id=registration["id"])) == 1


def test_concurrent_sign_off_emits_once(platform, opportunities, family, tap):
    registration = register(platform, family, "chicago",
                            opportunities["roomy"]["id"]).json()
    path = f"/v1/cities/chicago/registrations/{registration['id']}/completion"
    assert call(platform, "POST", path, family, {}).status_code == 403
    codes = []

    def sign_off():
        codes.append(call(platform, "POST", path, ADMIN, {}).status_code)

    threads = [threading.Thread(target=sign_off) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 8
    tap.wait_for(lambda _: tap.of("program_completed",
                                  registration_id=registration["id"]))
    eventlet.sleep(1)
    assert len(tap.of("program_completed", registration_id=registration["id"])) == 1


def test_prerequisite_badges_checked(platform, namespace, opportunities, family):
    first = opportunities["first"]
    holder = register(platform, family, "chicago", first["id"]).json()
    completed = call(platform, "POST", f"/v1/cities/chicago/registrations/"
                                       f"{holder['id']}/completion", ADMIN, {})
    assert completed.status_code == 200, completed.text
    deadline = time.monotonic() + 30
    badges = []
    while not badges and time.monotonic() < deadline:
        badges = call(platform, "GET", f"/v1/cities/chicago/youth/{holder['youth_id']}"
                                       "/badges", family).json().get("badges", [])
        eventlet.sleep(0.3)
    assert badges, "no badge was issued for the completed prerequisite"
    badge_class_id = badges[0]["badge_class_id"]
    advanced = import_opportunities(namespace, "chicago", {
        "advanced": {"prerequisite_badges": [badge_class_id]}})["advanced"]

    allowed = register(platform, family, "chicago", advanced["id"],
                       youth_id=holder["youth_id"])
    assert allowed.status_code == 201, allowed.text
    refused = register(platform, family, "chicago", advanced["id"])
    assert refused.status_code == 409
    assert refused.json()["reason"] == "prerequisite_badges_missing"
    assert refused.json()["missing_badge_class_ids"] == [badge_class_id]


def youth_grants(platform, who) -> set[str]:
    """The youth ids that ``who`` holds a youth or guardian grant for."""
    me = call(platform, "GET", "/v1/auth/me", who)
    assert me.status_code == 200, me.text
    return {grant["scope_id"] for grant in me.json()["grants"]
            if grant["role"] in ("youth", "guardian")}


def wait_until(check, timeout: float, condition: str):
    """Call ``check`` until it returns something truthy; fail naming ``condition``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        eventlet.sleep(0.3)
    pytest.fail(f"timed out after {timeout} s waiting until {condition}")


def remember_contact(namespace, youth_id: str) -> None:
    """Give notifications a contact for the youth, as a registration event does."""
    registration_id = f"reg-{uuid.uuid4().hex[:12]}"
    event_dispatcher({"AMQP_URI": namespace.amqp_uri})(
        "registration", events.YOUTH_REGISTERED, events.make_event(
            events.YOUTH_REGISTERED, "chicago", {
                "registration_id": registration_id, "youth_id": youth_id,
                "opportunity_id": "opp-e2e-erasure", "status": "waitlisted",
                "contact_email": "rosa@example.org", "preferred_language": "es"},
            event_id=f"registered-{registration_id}"))


def badge_and_share_link(platform, family, youth, opportunity) -> tuple[dict, dict]:
    """Register the youth, sign off the completion, wait for its badge, share it."""
    registration = register(platform, family, "chicago", opportunity["id"],
                            youth_id=youth["id"]).json()
    completed = call(platform, "POST", f"/v1/cities/chicago/registrations/"
                                       f"{registration['id']}/completion", ADMIN, {})
    assert completed.status_code == 200, completed.text
    badges = wait_until(lambda: call(
        platform, "GET", f"/v1/cities/chicago/youth/{youth['id']}/badges", family
    ).json().get("badges"), 30, "the completion's badge is issued")
    link = call(platform, "POST", f"/v1/cities/chicago/youth/{youth['id']}/share-links",
                family)
    assert link.status_code == 201, link.text
    return badges[0], link.json()


def test_erasure_anonymises_and_reports(platform, namespace, opportunities, family,
                                        tap):
    opportunity = opportunities["erasure"]
    youth = child_with_guardian(platform, family)
    answer(platform, consent_token(platform, tap, family, youth))
    badge, link = badge_and_share_link(platform, family, youth,
                                       opportunities["erasure_badge"])
    registration = register(platform, family, "chicago", opportunity["id"],
                            youth_id=youth["id"]).json()
    waiting = register(platform, family, "chicago", opportunity["id"]).json()
    assert waiting["status"] == "waitlisted"
    remember_contact(namespace, youth["id"])
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": "chicago"}) as rpc:
        wait_until(lambda: rpc.notifications.youth_mail_status(youth["id"])
                   ["contact_stored"], 30, "notifications stores the contact")

    erased = call(platform, "DELETE", f"/v1/cities/chicago/youth/{youth['id']}", family)
    assert erased.status_code == 202, erased.text
    erasure = erased.json()
    assert erasure["services"]["registration"]["status"] == "completed"
    assert erasure["summary"]["registrations_anonymised"] == 2

    def completed_erasure():
        body = call(platform, "GET", erasure["status_url"]).json()
        return body if body["status"] == "completed" else None

    status = wait_until(completed_erasure, 60, "every service acknowledged the erasure")
    assert set(status["services"]) == {"registration", "identity", "badges",
                                       "notifications"}
    assert status["completed_at"] is not None
    assert status["services"]["identity"]["summary"]["grants_removed"] >= 1
    assert status["services"]["badges"]["summary"] == {
        "badges_revoked": 1, "badges_anonymised": 1, "share_links_deleted": 1,
        "completions_deleted": 1}
    assert status["services"]["notifications"]["summary"]["contacts_forgotten"] == 1
    assert "rosa" not in json.dumps(status)

    assert call(platform, "GET", f"/v1/cities/chicago/youth/{youth['id']}", family) \
        .status_code == 404
    stored = call(platform, "GET", f"/v1/cities/chicago/registrations/"
                                   f"{registration['id']}", ADMIN).json()
    assert stored["youth_id"] == f"erased-{registration['id']}"
    assert stored["status"] == "cancelled"
    promoted = call(platform, "GET", f"/v1/cities/chicago/registrations/"
                                     f"{waiting['id']}", family).json()
    assert promoted["status"] == "confirmed"
    summary = call(platform, "GET", f"/v1/cities/chicago/opportunities/"
                                    f"{opportunity['id']}/registrations",
                   ADMIN).json()["summary"]
    assert summary["cancelled"] == 1
    assert summary["confirmed"] == 1
    tap.wait_for(lambda _: tap.of("youth_erased", youth_id=youth["id"]))
    erased_event = tap.of("youth_erased", youth_id=youth["id"])[0]["data"]
    assert erased_event["erasure_id"] == erasure["id"]
    assert erased_event["guardian_ids"] == [youth["guardians"][0]["id"]]

    # A verifier of the shared badge learns that it was revoked because its
    # recipient was erased; the share link and the evidence are gone.
    hosted = call(platform, "GET",
                  f"/v1/cities/chicago/badges/assertions/{badge['id']}").json()
    assert hosted["revoked"] is True
    assert hosted["revocationReason"] == "recipient_erased"
    assert "evidence" not in hosted
    assert call(platform, "GET", link["url"].removeprefix(platform["url"])) \
        .status_code == 404

    # The identity service removes the guardian's grant on youth_erased, so the
    # repeated erasure and the checks go to the services over RPC instead.
    assert youth["id"] not in youth_grants(platform, family)
    assert call(platform, "DELETE", f"/v1/cities/chicago/youth/{youth['id']}",
                family).status_code == 404
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": "chicago"}) as rpc:
        again = rpc.registration.erase_youth(youth["id"])
        assert rpc.badges.list_badges(youth["id"]) == []
        assert rpc.badges.portfolio(youth["id"])["share_links"] == []
        assert rpc.badges.get_assertion(badge["id"])["youth_id"] == \
            f"erased-{badge['id']}"
        mail = rpc.notifications.youth_mail_status(youth["id"])
    assert again["id"] == erasure["id"]
    assert again["status"] == "completed"
    assert mail["erased"] is True
    assert mail["contact_stored"] is False
    assert mail["queued_messages"] == 0


def test_registration_data_scoped_to_city(platform, opportunities, family, tap):
    youth = child_with_guardian(platform, family)
    token = consent_token(platform, tap, family, youth)
    registration = register(platform, family, "chicago",
                            opportunities["roomy"]["id"]).json()
    dallas = "/v1/cities/dallas"
    assert call(platform, "GET", f"{dallas}/registrations/{registration['id']}",
                family).status_code == 404
    assert call(platform, "GET", f"{dallas}/youth/{youth['id']}", family) \
        .status_code == 404
    assert call(platform, "POST", f"{dallas}/registrations/{registration['id']}"
                                  "/cancellation", family, {}).status_code == 404
    assert answer(platform, token, city="dallas").status_code == 404
    crossed = register(platform, family, "dallas", opportunities["roomy"]["id"],
                       youth_id=registration["youth_id"])
    assert crossed.status_code == 404
    roster = call(platform, "GET", f"{dallas}/opportunities/"
                                   f"{opportunities['roomy']['id']}/registrations",
                  "admin:dallas")
    assert roster.status_code == 200, roster.text
    assert roster.json()["registrations"] == []
    assert call(platform, "GET", f"{dallas}/registrations/{registration['id']}",
                "admin:dallas").status_code == 404


def test_youth_interest_outside_vocabulary_rejected(platform, family):
    response = call(platform, "POST", "/v1/cities/chicago/youth", family, {
        "relationship": "guardian", "display_name": "Kim", "birth_year": TEEN_YEAR,
        "birth_month": 4, "interests": ["coding-games", "knitting"]})
    assert response.status_code == 400, response.text
    assert list(response.json()["errors"]["interests"]) == ["1"]
    assert "/v1/cities/chicago/interests" in response.json()["detail"]


def test_other_account_cannot_see_youth(platform, opportunities, family):
    registration = register(platform, family, "chicago",
                            opportunities["roomy"]["id"]).json()
    stranger = platform["accounts"].sign_up("chicago")
    youth_path = f"/v1/cities/chicago/youth/{registration['youth_id']}"
    registration_path = f"/v1/cities/chicago/registrations/{registration['id']}"
    for method, path in (("GET", youth_path), ("GET", f"{youth_path}/registrations"),
                         ("GET", registration_path),
                         ("POST", f"{registration_path}/cancellation")):
        assert call(platform, method, path, stranger, {}).status_code == 404, path
        assert call(platform, method, path, None, {}).status_code == 401, path
    borrowed = register(platform, stranger, "chicago", opportunities["roomy"]["id"],
                        youth_id=registration["youth_id"])
    assert borrowed.status_code == 404
    assert call(platform, "GET", registration_path, family).json()["status"] == \
        "confirmed"


@pytest.fixture(scope="module")
def load_guardians(platform):
    """Guardian accounts for the concurrent burst, signed up before it starts."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda _: platform["accounts"].sign_up("chicago"),
                             range(LOAD_GUARDIANS)))


def test_thousand_concurrent_registrations(platform, opportunities, load_guardians,
                                           tmp_path):
    """1,000 registrations from 4 processes for 50 seats: exact seats, FIFO waitlist.

    Each process sends its share through 5 of the 20 guardian accounts.
    """
    opportunity = opportunities["load"]
    token_file = tmp_path / "tokens"
    token_file.touch(mode=0o600)
    token_file.write_text("".join(
        platform["accounts"].fresh(guardian).access_token + "\n"
        for guardian in load_guardians))
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "registration" / "load.py"),
         "--gateway", platform["url"], "--city", "chicago",
         "--opportunity", opportunity["id"], "--total", "1000", "--processes", "4",
         "--token-file", str(token_file)],
        capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    run = json.loads(completed.stdout)
    sys.stderr.write(f"1000 registrations took {run['seconds']:.1f} s "
                     f"({time.monotonic() - started:.1f} s with start-up)\n")
    results = run["results"]
    failed = [item for item in results if item["status_code"] != 201]
    assert failed == [], failed[:5]
    assert len({item["id"] for item in results}) == 1000
    assert len({item["youth_id"] for item in results}) == 1000
    assert {item["token_index"] for item in results} == set(range(LOAD_GUARDIANS))

    sequences = sorted(item["sequence"] for item in results)
    assert sequences == list(range(1, 1001))
    confirmed = sorted(item["sequence"] for item in results
                       if item["status"] == "confirmed")
    waitlisted = sorted(item["sequence"] for item in results
                        if item["status"] == "waitlisted")
    assert confirmed == list(range(1, 51))
    assert waitlisted == list(range(51, 1001))

    path = f"/v1/cities/chicago/opportunities/{opportunity['id']}/registrations"
    roster = call(platform, "GET", path, ADMIN, limit=1000).json()
    assert roster["summary"]["confirmed"] == 50
    assert roster["summary"]["waitlisted"] == 950
    assert roster["summary"]["last_sequence"] == 1000
    by_sequence = {item["sequence"]: item for item in roster["registrations"]}
    assert sorted(by_sequence) == list(range(1, 1001))

    # Each of the first ten registrations is cancelled by the guardian who made it.
    guardian_of = {item["id"]: load_guardians[item["token_index"]] for item in results}
    cancelled = [by_sequence[sequence]["id"] for sequence in range(1, 11)]
    responses = []
    threads = [threading.Thread(target=lambda identifier=identifier: responses.append(
        call(platform, "POST", f"/v1/cities/chicago/registrations/{identifier}"
                               "/cancellation", guardian_of[identifier], {})
        .status_code))
        for identifier in cancelled]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert responses == [200] * 10
    after = call(platform, "GET", path, ADMIN, limit=1000).json()
    statuses = {item["sequence"]: item["status"] for item in after["registrations"]}
    assert [statuses[sequence] for sequence in range(1, 11)] == ["cancelled"] * 10
    assert [statuses[sequence] for sequence in range(51, 61)] == ["confirmed"] * 10
    assert statuses[61] == "waitlisted"
    assert after["summary"]["confirmed"] == 50
    assert after["summary"]["waitlisted"] == 940
    head = call(platform, "GET", f"/v1/cities/chicago/registrations/"
                                 f"{by_sequence[61]['id']}",
                guardian_of[by_sequence[61]["id"]]).json()
    assert head["waitlist_position"] == 1
