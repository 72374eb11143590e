"""Registration rules, session schedules and consent tokens, without servers."""

import json
from datetime import date, datetime, timezone

import pytest
from nameko.exceptions import deserialize, serialize

from cities_common import events
from cities_common.errors import InvalidInput, Rejected
from gateway.errors import problem_response
from services.registration import consent, eligibility
from services.registration.schedule import first_overlap, occurrences

OPEN = {"id": "opp-1", "status": "published"}
NOW = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("today, birth, expected", [
    (date(2026, 12, 4), (2013, 1), 13),
    (date(2026, 12, 4), (2013, 12), 13),
    (date(2026, 11, 4), (2013, 12), 12),
])
def test_age_on_counts_whole_years(today, birth, expected):
    assert eligibility.age_on(today, *birth) == expected


@pytest.mark.parametrize("today, birth, expected", [
    (date(2026, 5, 31), (2013, 5), True),    # may be born on 31 May: still 12
    (date(2026, 6, 1), (2013, 5), False),    # the whole birth month has passed
    (date(2026, 12, 4), (2013, 12), True),
    (date(2027, 1, 1), (2013, 12), False),
    (date(2026, 12, 4), (2010, 1), False),
])
def test_consent_needed_until_birth_month_passed(today, birth, expected):
    assert eligibility.needs_guardian_consent(today, *birth) is expected


@pytest.mark.parametrize("opportunity, reason", [
    ({**OPEN, "status": "closed"}, "opportunity_not_open"),
    ({**OPEN, "registration": {"opens": "2026-12-05T09:00"}}, "registration_not_open_yet"),
    ({**OPEN, "registration": {"closes": "2026-12-04T09:00"}}, "registration_closed"),
])
def test_check_open_rejects_with_reason(opportunity, reason):
    with pytest.raises(Rejected) as caught:
        eligibility.check_open(opportunity, NOW, "America/Chicago")
    assert caught.value.reason == reason


def test_check_open_reads_window_in_city_zone():
    # 15:00 UTC is 09:00 in Chicago: a window closing at 09:30 local is still open.
    opportunity = {**OPEN, "registration": {"opens": "2026-12-01T09:00",
                                            "closes": "2026-12-04T09:30"}}
    eligibility.check_open(opportunity, NOW, "America/Chicago")
    with pytest.raises(Rejected):
        eligibility.check_open(opportunity, NOW, "UTC")


@pytest.mark.parametrize("limits, reason", [
    ({"min_age": 15}, "too_young"),
    ({"max_age": 12}, "too_old"),
])
def test_check_age_rejects_with_reason(limits, reason):
    youth = {"birth_year": 2012, "birth_month": 1}
    with pytest.raises(Rejected) as caught:
        eligibility.check_age({**OPEN, **limits}, youth, date(2026, 12, 4))
    assert caught.value.reason == reason
    assert caught.value.details["age"] == 14


@pytest.mark.parametrize("status, reason", [
    ("none", "guardian_consent_required"),
    ("requested", "guardian_consent_required"),
    ("declined", "guardian_consent_required"),
    ("withdrawn", "guardian_consent_withdrawn"),
])
def test_check_consent_rejects_child_without_consent(status, reason):
    youth = {"id": "yth-1", "city": "chicago", "birth_year": 2016, "birth_month": 3,
             "consent": {"status": status}}
    with pytest.raises(Rejected) as caught:
        eligibility.check_consent(youth, date(2026, 12, 4))
    path = "/v1/cities/chicago/youth/yth-1/consent-requests"
    assert caught.value.reason == reason
    assert caught.value.details["consent_requests_path"] == path
    assert path in caught.value.message


def test_check_consent_passes_granted_child_and_teen():
    child = {"id": "yth-1", "birth_year": 2016, "birth_month": 3,
             "consent": {"status": "granted"}}
    teen = {"id": "yth-2", "birth_year": 2010, "birth_month": 3,
            "consent": {"status": "none"}}
    eligibility.check_consent(child, date(2026, 12, 4))
    eligibility.check_consent(teen, date(2026, 12, 4))


def test_check_prerequisites_names_missing_badges():
    answer = {"has_all": False, "held": ["bc-1"], "missing": ["bc-2"]}
    with pytest.raises(Rejected) as caught:
        eligibility.check_prerequisites(["bc-1", "bc-2"], answer)
    assert caught.value.reason == "prerequisite_badges_missing"
    assert caught.value.details["missing_badge_class_ids"] == ["bc-2"]


def test_check_prerequisites_passes_when_all_held():
    eligibility.check_prerequisites(["bc-1"], {"has_all": True, "held": ["bc-1"],
                                               "missing": []})


def test_occurrences_expand_rule_across_dst():
    sessions = [{"start": "2026-10-26T10:00", "end": "2026-10-26T12:00",
                 "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=3"}]
    found = occurrences(sessions, "America/Chicago")
    assert [item.session_id for item in found] == [
        "2026-10-26T10:00", "2026-11-02T10:00", "2026-11-09T10:00"]
    # Daylight saving time ends on 1 November: 10:00 local moves from 15:00 to 16:00 UTC.
    assert found[0].starts_at.hour == 15
    assert found[1].starts_at.hour == 16
    assert found[1].ends_at - found[1].starts_at == found[0].ends_at - found[0].starts_at


def test_first_overlap_finds_clash():
    mine = occurrences([{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
                         "rrule": "FREQ=DAILY;COUNT=5"}], "UTC")
    theirs = occurrences([{"start": "2026-07-08T11:30", "end": "2026-07-08T13:00"}],
                         "UTC")
    pair = first_overlap(mine, theirs)
    assert pair is not None
    assert pair[0].session_id == "2026-07-08T10:00"
    assert pair[1].session_id == "2026-07-08T11:30"


def test_first_overlap_ignores_touching_sessions():
    mine = occurrences([{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00"}], "UTC")
    theirs = occurrences([{"start": "2026-07-06T12:00", "end": "2026-07-06T13:00"}],
                         "UTC")
    assert first_overlap(mine, theirs) is None


def test_consent_token_hash_and_url():
    token = consent.new_token()
    assert consent.is_plausible_token(token)
    assert len(consent.token_hash(token)) == 64
    assert token not in consent.token_hash(token)
    url = consent.consent_url("https://col.example", "chicago", token)
    assert url == f"https://col.example/guardian-consent/chicago#token={token}"


@pytest.mark.parametrize("token", [None, "", "short", "x" * 200, "a b" * 10, 42])
def test_consent_rejects_implausible_token(token):
    assert not consent.is_plausible_token(token)


CONSENT_REQUESTED = {
    "consent_request_id": "csr-1", "youth_id": "yth-1", "youth_display_name": "Ana",
    "guardian_id": "gdn-1", "guardian_name": "Rosa", "guardian_email": "rosa@example.org",
    "language": "es", "consent_url": "http://127.0.0.1:8000/guardian-consent/chicago#token=x",
    "expires_at": "2026-12-07T15:00:00+00:00"}


@pytest.mark.parametrize("event_type, data", [
    (events.GUARDIAN_CONSENT_REQUESTED, CONSENT_REQUESTED),
    (events.REGISTRATION_CANCELLED, {
        "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
        "previous_status": "confirmed", "reason": "erasure",
        "cancelled_at": "2026-12-04T15:00:00+00:00"}),
    (events.WAITLIST_PROMOTED, {
        "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
        "sequence": 51, "promoted_at": "2026-12-04T15:00:00+00:00"}),
    (events.YOUTH_ERASED, {"erasure_id": "ers-1", "youth_id": "yth-1",
                           "requested_at": "2026-12-04T15:00:00+00:00",
                           "guardian_ids": ["gdn-1"]}),
    (events.YOUTH_ERASURE_ACKNOWLEDGED, {
        "erasure_id": "ers-1", "youth_id": "yth-1", "service": "badges",
        "summary": {"badges_revoked": 1},
        "acknowledged_at": "2026-12-04T15:00:00+00:00"}),
])
def test_registration_event_contracts_accept(event_type, data):
    envelope = events.make_event(event_type, "chicago", data)
    assert envelope["data"] == data


@pytest.mark.parametrize("event_type, changes, field", [
    (events.GUARDIAN_CONSENT_REQUESTED, {"guardian_email": "not-an-email"},
     "guardian_email"),
    (events.GUARDIAN_CONSENT_REQUESTED, {"language": "fr"}, "language"),
    (events.GUARDIAN_CONSENT_REQUESTED, {"consent_url": "no url"}, "consent_url"),
])
def test_consent_event_contract_rejects(event_type, changes, field):
    with pytest.raises(InvalidInput) as caught:
        events.make_event(event_type, "chicago", {**CONSENT_REQUESTED, **changes})
    assert field in caught.value.errors["data"]


ACKNOWLEDGED = {"erasure_id": "ers-1", "youth_id": "yth-1", "service": "badges",
                "summary": {}, "acknowledged_at": "2026-12-04T15:00:00+00:00"}


@pytest.mark.parametrize("changes, field", [
    ({"summary": {"badges_revoked": -1}}, "summary"),
    ({"summary": {"badges_revoked": "two"}}, "summary"),
    ({"service": ""}, "service"),
    ({"acknowledged_at": None}, "acknowledged_at"),
])
def test_erasure_acknowledged_contract_rejects(changes, field):
    with pytest.raises(InvalidInput) as caught:
        events.make_event(events.YOUTH_ERASURE_ACKNOWLEDGED, "chicago",
                          {**ACKNOWLEDGED, **changes})
    assert field in caught.value.errors["data"]


def test_cancelled_event_rejects_unknown_reason():
    with pytest.raises(InvalidInput) as caught:
        events.make_event(events.REGISTRATION_CANCELLED, "chicago", {
            "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
            "previous_status": "confirmed", "reason": "bored",
            "cancelled_at": "2026-12-04T15:00:00+00:00"})
    assert "reason" in caught.value.errors["data"]


def test_rejected_survives_rpc_serialisation():
    error = Rejected("too_young", "for ages 16 and up", {"min_age": 16})
    copy = deserialize(serialize(error))
    assert isinstance(copy, Rejected)
    assert copy.reason == "too_young"
    assert copy.details == {"min_age": 16}


def test_gateway_answers_rejected_as_problem():
    response = problem_response(
        Rejected("too_young", "for ages 16 and up", {"min_age": 16, "status": 1}), "r1")
    body = json.loads(response.get_data())
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert body["reason"] == "too_young"
    assert body["min_age"] == 16
    assert body["status"] == 409
    assert body["detail"] == "for ages 16 and up"
