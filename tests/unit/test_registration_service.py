"""The registration service's entrypoints on nameko's ``worker_factory``.

The store is the real ``RegistrationStore`` over mongomock, so seat counting,
unique indexes and erasure run as written. The catalog and badges services are
mocked, and every dispatched event is checked against its contract.
"""

from datetime import date, datetime, timedelta

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from cities_common.errors import InvalidInput, NotFound, Rejected
from services.registration import work
from services.registration.locks import LEASE
from services.registration.places import counter_key
from services.registration.service import RegistrationService
from services.registration.storage import RegistrationStore

TEEN = {"display_name": "Sam", "birth_year": date.today().year - 14, "birth_month": 1}
CHILD = {"display_name": "Ana", "birth_year": date.today().year - 9, "birth_month": 1,
         "guardians": [{"name": "Rosa", "email": "rosa@example.org", "language": "es"}]}


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def opportunity(identifier="opp-1", **changes) -> dict:
    return {"id": identifier, "status": "published", "capacity": 2, "min_age": 6,
            "max_age": 18, "title": "Robot Club",
            "provider": {"name": "Chicago Public Library"}, **changes}


class Platform:
    """A worker of the service with a mongomock store and recorded events."""

    def __init__(self, *opportunities):
        work._opportunities.clear()  # the catalog cache must not outlive a test
        self.database = mongomock.MongoClient()["registration"]
        self.store = RegistrationStore(self.database)
        self.store.ensure_indexes()
        self.catalog = {item["id"]: item for item in opportunities}
        self.events = []
        self.city = "chicago"
        self.service = self.worker()

    def worker(self):
        service = worker_factory(RegistrationService, store=self.store,
                                 config={"PUBLIC_BASE_URL": "https://col.example"})
        service.tenant.city = self.city
        service.tenant.registry.get.return_value = {"time_zone": "America/Chicago"}
        service.catalog_rpc.get_opportunity.side_effect = self.get_opportunity
        service.badges_rpc.has_badges.return_value = {"has_all": True, "held": [],
                                                      "missing": []}
        service.publish.side_effect = self.publish
        return service

    def in_city(self, city: str):
        self.city = city
        self.service = self.worker()
        return self.service

    def get_opportunity(self, identifier):
        if identifier not in self.catalog:
            raise NotFound(f"opportunity {identifier!r} not found")
        return self.catalog[identifier]

    def publish(self, event_type, city, data, event_id=None):
        envelope = events.make_event(event_type, city, data, event_id=event_id)
        self.events.append(envelope)
        return envelope

    def sent(self, event_type) -> list[dict]:
        return [item for item in self.events if item["event_type"] == event_type]

    def register(self, youth=TEEN, opportunity_id="opp-1", **request):
        body = {"opportunity_id": opportunity_id, **request}
        if "youth_id" not in request:
            body["youth"] = youth
        return self.service.register(body)


@pytest.fixture
def platform():
    return Platform(opportunity())


def test_register_confirms_then_waitlists_in_order(platform):
    results = [platform.register() for _ in range(4)]
    assert [item["status"] for item in results] == ["confirmed", "confirmed",
                                                    "waitlisted", "waitlisted"]
    assert [item["sequence"] for item in results] == [1, 2, 3, 4]
    assert [item.get("waitlist_position") for item in results] == [None, None, 1, 2]
    assert all(item["created"] for item in results)
    assert len(platform.sent(events.YOUTH_REGISTERED)) == 4


def test_register_twice_returns_existing(platform):
    first = platform.register()
    again = platform.register(youth_id=first["youth_id"])
    assert again["id"] == first["id"]
    assert again["created"] is False
    assert len(platform.sent(events.YOUTH_REGISTERED)) == 1


def test_cancel_promotes_lowest_sequence(platform):
    confirmed, _, third, fourth = [platform.register() for _ in range(4)]
    cancelled = platform.service.cancel_registration(confirmed["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["previous_status"] == "confirmed"
    assert platform.service.get_registration(third["id"])["status"] == "confirmed"
    assert platform.service.get_registration(fourth["id"])["waitlist_position"] == 1
    promoted = platform.sent(events.WAITLIST_PROMOTED)
    assert [item["data"]["sequence"] for item in promoted] == [3]
    counts = platform.store.places.counts("chicago", "opp-1")
    assert counts == {"seats_taken": 2, "waiting": 1, "last_sequence": 4}


def test_cancel_waitlisted_promotes_nobody(platform):
    results = [platform.register() for _ in range(3)]
    platform.service.cancel_registration(results[2]["id"])
    assert platform.sent(events.WAITLIST_PROMOTED) == []
    assert platform.store.places.counts("chicago", "opp-1")["waiting"] == 0


def test_cancel_twice_sends_one_event(platform):
    registration = platform.register()
    platform.service.cancel_registration(registration["id"])
    again = platform.service.cancel_registration(registration["id"])
    assert again["status"] == "cancelled"
    assert len(platform.sent(events.REGISTRATION_CANCELLED)) == 1


def test_register_after_cancel_joins_back_of_line(platform):
    first = platform.register()
    platform.register()
    platform.register()
    platform.service.cancel_registration(first["id"])
    again = platform.register(youth_id=first["youth_id"])
    assert again["id"] == first["id"]
    assert again["sequence"] == 4
    assert again["status"] == "waitlisted"


@pytest.mark.parametrize("changes, youth, reason", [
    ({"status": "closed"}, TEEN, "opportunity_not_open"),
    ({"registration": {"opens": local(datetime.now() + timedelta(days=2))}}, TEEN,
     "registration_not_open_yet"),
    ({"registration": {"closes": local(datetime.now() - timedelta(days=2))}}, TEEN,
     "registration_closed"),
    ({"min_age": 16}, TEEN, "too_young"),
    ({"max_age": 12}, TEEN, "too_old"),
    ({}, CHILD, "guardian_consent_required"),
])
def test_register_rejects_with_reason(changes, youth, reason):
    platform = Platform(opportunity(**changes))
    with pytest.raises(Rejected) as caught:
        platform.register(youth)
    assert caught.value.reason == reason
    assert platform.sent(events.YOUTH_REGISTERED) == []


def test_register_rejects_missing_prerequisite_badges():
    platform = Platform(opportunity(prerequisite_badges=["bc-1", "bc-2"]))
    platform.service.badges_rpc.has_badges.return_value = {
        "has_all": False, "held": ["bc-1"], "missing": ["bc-2"]}
    with pytest.raises(Rejected) as caught:
        platform.register()
    assert caught.value.reason == "prerequisite_badges_missing"
    assert caught.value.details["missing_badge_class_ids"] == ["bc-2"]
    youth_id = platform.service.badges_rpc.has_badges.call_args.args[0]
    assert platform.service.badges_rpc.has_badges.call_args.args[1] == ["bc-1", "bc-2"]
    assert youth_id.startswith("yth-")


def test_register_skips_badge_check_without_prerequisites(platform):
    platform.register()
    assert not platform.service.badges_rpc.has_badges.called


def test_register_warns_overlapping_sessions():
    start = datetime.now() + timedelta(days=10)
    session = {"start": local(start), "end": local(start + timedelta(hours=2)),
               "rrule": "FREQ=WEEKLY;COUNT=4"}
    clash = {"start": local(start + timedelta(hours=1)),
             "end": local(start + timedelta(hours=3))}
    platform = Platform(opportunity(sessions=[session]),
                        opportunity("opp-2", sessions=[clash]))
    first = platform.register()
    second = platform.register(youth_id=first["youth_id"], opportunity_id="opp-2")
    assert first["warnings"] == []
    assert [item["code"] for item in second["warnings"]] == ["overlapping_sessions"]
    assert second["warnings"][0]["opportunity_id"] == "opp-1"


def test_register_needs_youth_or_id(platform):
    with pytest.raises(InvalidInput) as caught:
        platform.service.register({"opportunity_id": "opp-1"})
    assert "youth" in caught.value.errors


def consent_token(platform, youth) -> str:
    guardian_id = youth["guardians"][0]["id"]
    platform.service.request_guardian_consent(youth["id"], {"guardian_id": guardian_id})
    url = platform.sent(events.GUARDIAN_CONSENT_REQUESTED)[-1]["data"]["consent_url"]
    return url.split("#token=")[1]


def test_consent_grant_lets_child_register(platform):
    youth = platform.service.create_youth(CHILD)
    token = consent_token(platform, youth)
    request = platform.sent(events.GUARDIAN_CONSENT_REQUESTED)[0]["data"]
    assert request["guardian_email"] == "rosa@example.org"
    assert request["language"] == "es"
    stored = platform.database["consent_requests"].find_one()
    assert token not in str(stored)
    answer = platform.service.answer_guardian_consent(token, {"decision": "grant"})
    assert answer["consent"]["status"] == "granted"
    assert platform.register(youth_id=youth["id"])["status"] == "confirmed"


def test_consent_token_works_once(platform):
    youth = platform.service.create_youth(CHILD)
    token = consent_token(platform, youth)
    platform.service.answer_guardian_consent(token, {"decision": "grant"})
    with pytest.raises(Rejected) as caught:
        platform.service.answer_guardian_consent(token, {"decision": "decline"})
    assert caught.value.reason == "consent_token_used"


def test_consent_answer_losing_a_race_is_used(platform):
    youth = platform.service.create_youth(CHILD)
    token = consent_token(platform, youth)
    # A concurrent request claimed the token but has not yet marked the request.
    request = platform.database["consent_requests"].find_one()
    platform.database["consent_answers"].insert_one(
        {"_id": request["token_hash"], "city": "chicago", "decision": "grant"})
    with pytest.raises(Rejected) as caught:
        platform.service.answer_guardian_consent(token, {"decision": "decline"})
    assert caught.value.reason == "consent_token_used"


def test_consent_token_expires(platform):
    youth = platform.service.create_youth(CHILD)
    token = consent_token(platform, youth)
    platform.database["consent_requests"].update_many(
        {}, {"$set": {"expires_at": datetime.utcnow() - timedelta(minutes=1)}})
    with pytest.raises(Rejected) as caught:
        platform.service.answer_guardian_consent(token, {"decision": "grant"})
    assert caught.value.reason == "consent_token_expired"


def test_new_consent_request_revokes_older(platform):
    youth = platform.service.create_youth(CHILD)
    older = consent_token(platform, youth)
    consent_token(platform, youth)
    with pytest.raises(Rejected) as caught:
        platform.service.answer_guardian_consent(older, {"decision": "grant"})
    assert caught.value.reason == "consent_token_revoked"


@pytest.mark.parametrize("token, error", [
    ("a" * 43, NotFound),
    (None, InvalidInput),
])
def test_consent_unknown_or_missing_token(platform, token, error):
    with pytest.raises(error):
        platform.service.answer_guardian_consent(token, {"decision": "grant"})


def test_consent_withdrawal_cancels_registrations(platform):
    youth = platform.service.create_youth(CHILD)
    platform.service.answer_guardian_consent(consent_token(platform, youth),
                                             {"decision": "grant"})
    registration = platform.register(youth_id=youth["id"])
    waiting = [platform.register() for _ in range(2)][1]
    result = platform.service.withdraw_guardian_consent(youth["id"])
    assert [item["id"] for item in result["cancelled_registrations"]] == \
        [registration["id"]]
    assert platform.sent(events.REGISTRATION_CANCELLED)[0]["data"]["reason"] == \
        "consent_withdrawn"
    assert platform.service.get_registration(waiting["id"])["status"] == "confirmed"
    with pytest.raises(Rejected) as caught:
        platform.register(youth_id=youth["id"])
    assert caught.value.reason == "guardian_consent_withdrawn"


def attending_opportunity(**changes):
    start = datetime.now() - timedelta(days=21)
    session = {"start": local(start), "end": local(start + timedelta(hours=2)),
               "rrule": "FREQ=WEEKLY;COUNT=3"}
    return opportunity(sessions=[session], **changes)


def test_complete_sign_off_publishes_once(platform):
    registration = platform.register()
    first = platform.service.complete(registration["id"], {}, "staff-1")
    again = platform.service.complete(registration["id"], {}, "staff-1")
    assert first["status"] == again["status"] == "completed"
    assert first["completion"]["signed_off_by"] == "staff-1"
    completed = platform.sent(events.PROGRAM_COMPLETED)
    assert len(completed) == 1
    assert completed[0]["event_id"] == f"completed-{registration['id']}"


def test_complete_rejects_waitlisted(platform):
    results = [platform.register() for _ in range(3)]
    with pytest.raises(Rejected) as caught:
        platform.service.complete(results[2]["id"], {}, "staff-1")
    assert caught.value.reason == "registration_not_confirmed"


def test_attendance_rule_completes_registration():
    platform = Platform(attending_opportunity())
    registration = platform.register()
    rule = platform.service.set_completion_rule("opp-1", {"min_sessions_attended": 2},
                                                "staff-1")
    assert rule["total_sessions"] == 3
    sessions = [item.session_id for item in platform.service._occurrences(
        "chicago", platform.catalog["opp-1"])]
    outcomes = [platform.service.record_attendance("opp-1", {
        "session_id": session, "records": [{"registration_id": registration["id"],
                                            "status": "present"}]}, "staff-1")
        for session in sessions]
    assert [item["completed_registration_ids"] for item in outcomes] == \
        [[], [registration["id"]], []]
    stored = platform.service.get_registration(registration["id"])
    assert stored["completion"]["method"] == "attendance"
    assert len(platform.sent(events.PROGRAM_COMPLETED)) == 1


def test_attendance_rejects_future_session():
    start = datetime.now() + timedelta(days=3)
    platform = Platform(opportunity(sessions=[{
        "start": local(start), "end": local(start + timedelta(hours=1))}]))
    registration = platform.register()
    with pytest.raises(Rejected) as caught:
        platform.service.record_attendance("opp-1", {
            "session_id": local(start), "records": [
                {"registration_id": registration["id"], "status": "present"}]},
            "staff-1")
    assert caught.value.reason == "session_not_started"


def test_attendance_needs_staff_account():
    platform = Platform(attending_opportunity())
    with pytest.raises(InvalidInput) as caught:
        platform.service.record_attendance("opp-1", {"session_id": "x", "records": []})
    assert "actor" in caught.value.errors


def test_peer_assessment_once_per_assessor(platform):
    first, second = platform.register(), platform.register()
    body = {"assessor_registration_id": second["id"], "statement": "Clear demo"}
    created = platform.service.add_peer_assessment(first["id"], body)
    again = platform.service.add_peer_assessment(first["id"], body)
    assert created["created"] is True
    assert again["created"] is False
    with pytest.raises(InvalidInput):
        platform.service.add_peer_assessment(first["id"], {
            "assessor_registration_id": first["id"], "statement": "Me"})


def test_erasure_anonymises_and_keeps_counts(platform):
    youth = platform.service.create_youth(TEEN)
    registration = platform.register(youth_id=youth["id"])
    platform.service.add_evidence(registration["id"], {"url": "https://x.example/p"},
                                  "staff-1")
    others = [platform.register() for _ in range(2)]
    erasure = platform.service.erase_youth(youth["id"])
    assert erasure["status"] == "in_progress"
    assert erasure["services"]["registration"]["status"] == "completed"
    assert erasure["summary"]["registrations_cancelled"] == 1
    assert erasure["summary"]["evidence_deleted"] == 1
    with pytest.raises(NotFound):
        platform.service.get_youth(youth["id"])
    stored = platform.service.get_registration(registration["id"])
    assert stored["youth_id"] == f"erased-{registration['id']}"
    assert stored["evidence"] == []
    assert platform.service.get_registration(others[1]["id"])["status"] == "confirmed"
    counts = platform.store.count_by_status("chicago", "opp-1")
    assert counts["cancelled"] == 1
    assert counts["confirmed"] == 2
    assert platform.database["guardians"].count_documents({}) == 0
    assert len(platform.sent(events.YOUTH_ERASED)) == 1
    assert platform.sent(events.YOUTH_ERASED)[0]["data"]["guardian_ids"] == []
    assert platform.service.erase_youth(youth["id"])["id"] == erasure["id"]
    assert len(platform.sent(events.YOUTH_ERASED)) == 1
    services = platform.service.get_erasure(erasure["id"])["services"]
    assert {name: item["status"] for name, item in services.items()} == {
        "registration": "completed", "identity": "pending", "badges": "pending",
        "notifications": "pending"}


def acknowledgement(erasure, service, youth_id=None, at="2099-01-01T10:00:00+00:00",
                    **summary):
    return events.make_event(events.YOUTH_ERASURE_ACKNOWLEDGED, "chicago", {
        "erasure_id": erasure["id"], "youth_id": youth_id or erasure["youth_id"],
        "service": service, "summary": summary, "acknowledged_at": at})


def test_erasure_completed_after_every_acknowledgement(platform):
    platform.service.inbox.seen.return_value = False
    youth = platform.service.create_youth(CHILD)
    erasure = platform.service.erase_youth(youth["id"])
    erased = platform.sent(events.YOUTH_ERASED)[0]["data"]
    assert erased["guardian_ids"] == [youth["guardians"][0]["id"]]
    assert "rosa@example.org" not in str(erased)

    platform.service.handle_youth_erasure_acknowledged(
        acknowledgement(erasure, "identity", grants_removed=1))
    platform.service.handle_youth_erasure_acknowledged(acknowledgement(
        erasure, "badges", at="2099-01-01T10:00:06+00:00", badges_revoked=2))
    pending = platform.service.get_erasure(erasure["id"])
    assert pending["status"] == "in_progress"
    assert pending["completed_at"] is None
    assert pending["services"]["badges"] == {
        "status": "completed", "completed_at": "2099-01-01T10:00:06+00:00",
        "summary": {"badges_revoked": 2}}
    assert pending["services"]["notifications"]["status"] == "pending"

    last = acknowledgement(erasure, "notifications", at="2099-01-01T10:00:03+00:00",
                           contacts_forgotten=1)
    platform.service.handle_youth_erasure_acknowledged(last)
    platform.service.handle_youth_erasure_acknowledged(
        last | {"event_id": "copy", "data": {**last["data"], "summary": {}}})
    done = platform.service.get_erasure(erasure["id"])
    assert done["status"] == "completed"
    assert done["completed_at"] == "2099-01-01T10:00:06+00:00"
    assert done["services"]["notifications"]["summary"] == {"contacts_forgotten": 1}
    assert done["services"]["identity"]["summary"] == {"grants_removed": 1}
    assert platform.service.erase_youth(youth["id"])["status"] == "completed"


@pytest.mark.parametrize("service, youth_id, erasure_id", [
    ("badges", "yth-other", None),
    ("badges", None, "ers-unknown"),
    ("catalog", None, None),
])
def test_erasure_acknowledgement_mismatch_dropped(platform, service, youth_id,
                                                  erasure_id):
    platform.service.inbox.seen.return_value = False
    youth = platform.service.create_youth(TEEN)
    erasure = platform.service.erase_youth(youth["id"])
    event = acknowledgement({**erasure, "id": erasure_id or erasure["id"]}, service,
                            youth_id)
    platform.service.handle_youth_erasure_acknowledged(event)
    services = platform.service.get_erasure(erasure["id"])["services"]
    assert services["badges"]["status"] == "pending"
    assert "catalog" not in services
    assert platform.database["erasure_acknowledgements"].count_documents({}) == 0


def test_registration_scoped_to_city(platform):
    registration = platform.register()
    dallas = platform.in_city("dallas")
    with pytest.raises(NotFound):
        dallas.get_registration(registration["id"])
    with pytest.raises(NotFound):
        dallas.get_youth(registration["youth_id"])
    with pytest.raises(NotFound):
        dallas.register({"opportunity_id": "opp-1", "youth_id": registration["youth_id"]})


def test_lock_takeover_recounts_from_documents(platform):
    platform.register()
    key = counter_key("chicago", "opp-1")
    platform.database["place_counters"].update_one({"_id": key}, {"$set": {"taken": 7}})
    latest = platform.database["locks"].find_one(sort=[("generation", -1)])
    platform.database["locks"].insert_one({
        "_id": f"{key}#{latest['generation'] + 1}", "key": key,
        "generation": latest["generation"] + 1, "state": "waiting",
        "expires_at": datetime.utcnow() - LEASE})
    assert platform.register()["status"] == "confirmed"
    assert platform.store.places.counts("chicago", "opp-1")["seats_taken"] == 2


def test_error_under_lock_forces_recount(platform):
    platform.register()
    with pytest.raises(RuntimeError):
        with platform.store.places.opportunity("chicago", "opp-1"):
            raise RuntimeError("boom")
    counter = platform.database["place_counters"].find_one()
    assert counter is None
    assert platform.register()["sequence"] == 2


def test_decide_serves_pending_in_queue_order(platform):
    queued = datetime.utcnow()
    pending = [platform.store.add_registration(
        "chicago", "opp-1", f"yth-{number}", None, queued + timedelta(seconds=number))[0]
        for number in (2, 0, 1)]
    decided, promoted = platform.store.places.decide("chicago", "opp-1",
                                                     pending[0]["id"], 2, datetime.utcnow())
    assert promoted == []
    stored = {item["youth_id"]: platform.store.get_registration("chicago", item["id"])
              for item in pending}
    assert decided["sequence"] == 3
    assert [stored[f"yth-{n}"]["sequence"] for n in range(3)] == [1, 2, 3]
    assert [stored[f"yth-{n}"]["status"] for n in range(3)] == \
        ["confirmed", "confirmed", "waitlisted"]


def test_decide_skips_turn_when_already_decided(platform):
    registration = platform.register()
    tickets = platform.database["locks"].count_documents({})
    decided, _ = platform.store.places.decide("chicago", "opp-1", registration["id"], 2,
                                              datetime.utcnow())
    assert decided["status"] == "confirmed"
    assert platform.database["locks"].count_documents({}) == tickets + 1
    latest = platform.database["locks"].find_one(sort=[("generation", -1)])
    assert latest["state"] in ("released", "abandoned")


def test_register_fills_seats_of_raised_capacity(platform):
    waiting = [platform.register() for _ in range(4)][2:]
    platform.catalog["opp-1"]["capacity"] = 4
    work._opportunities.clear()
    platform.register()
    statuses = [platform.service.get_registration(item["id"])["status"]
                for item in waiting]
    assert statuses == ["confirmed", "confirmed"]
    promoted = platform.sent(events.WAITLIST_PROMOTED)
    assert [item["data"]["sequence"] for item in promoted] == [3, 4]


def test_access_facts_registration(platform):
    registration = platform.register()
    assert platform.service.access_facts("registration", registration["id"]) == {
        "registration_id": registration["id"], "youth_id": registration["youth_id"],
        "opportunity_id": "opp-1"}


def test_access_facts_youth(platform):
    youth = platform.service.create_youth(CHILD)
    assert platform.service.access_facts("youth", youth["id"]) == {
        "youth_id": youth["id"]}


def test_access_facts_erasure_keeps_youth(platform):
    youth = platform.service.create_youth(TEEN)
    erasure = platform.service.erase_youth(youth["id"])
    assert platform.service.access_facts("erasure", erasure["id"]) == {
        "erasure_id": erasure["id"], "youth_id": youth["id"]}
    with pytest.raises(NotFound):
        platform.service.access_facts("youth", youth["id"])


@pytest.mark.parametrize("kind", ["registration", "youth", "erasure"])
def test_access_facts_unknown_record_not_found(platform, kind):
    with pytest.raises(NotFound) as caught:
        platform.service.access_facts(kind, "reg-missing")
    assert str(caught.value) == f"{kind} 'reg-missing' not found in chicago"


def test_access_facts_other_city_not_found(platform):
    registration = platform.register()
    erasure = platform.service.erase_youth(platform.register()["youth_id"])
    dallas = platform.in_city("dallas")
    for kind, record_id in [("registration", registration["id"]),
                            ("youth", registration["youth_id"]),
                            ("erasure", erasure["id"])]:
        with pytest.raises(NotFound):
            dallas.access_facts(kind, record_id)


@pytest.mark.parametrize("kind, record_id, field", [
    ("guardian", "yth-1", "kind"), (None, "yth-1", "kind"),
    ("youth", "", "record_id"), ("youth", "y" * 101, "record_id"),
])
def test_access_facts_rejects_request(platform, kind, record_id, field):
    with pytest.raises(InvalidInput) as caught:
        platform.service.access_facts(kind, record_id)
    assert list(caught.value.errors) == [field]
    if field == "kind":
        assert "registration, youth, erasure" in str(caught.value)


VOCABULARY = [{"slug": "coding-games", "name": "Coding & Games"},
              {"slug": "media", "name": "Media"}]


def test_youth_interests_come_from_city_vocabulary(platform):
    platform.service.catalog_rpc.list_interests.return_value = VOCABULARY
    youth = platform.service.create_youth({**TEEN, "interests": ["media"]})
    assert youth["interests"] == ["media"]
    with pytest.raises(InvalidInput) as caught:
        platform.service.create_youth({**TEEN, "interests": ["media", "knitting"]})
    assert list(caught.value.errors["interests"]) == [1]
    assert "GET /v1/cities/chicago/interests" in caught.value.errors["interests"][1][0]


def test_register_names_unknown_interest_under_youth(platform):
    platform.service.catalog_rpc.list_interests.return_value = VOCABULARY
    with pytest.raises(InvalidInput) as caught:
        platform.register(youth={**TEEN, "interests": ["knitting"]})
    assert "interests" in caught.value.errors["youth"]
    assert platform.sent(events.YOUTH_REGISTERED) == []


def test_ended_opportunity_registers_with_warning():
    platform = Platform(opportunity(end_date="2019-07-15"))
    reply = platform.register()
    assert reply["status"] == "confirmed"
    assert [item["code"] for item in reply["warnings"]] == ["opportunity_ended"]
    assert reply["warnings"][0]["ended_on"] == "2019-07-15"


def test_running_opportunity_has_no_ended_warning():
    platform = Platform(opportunity(schedule={
        "last_end": f"{date.today().year + 1}-01-01T10:00:00-06:00"}))
    assert platform.register()["warnings"] == []
