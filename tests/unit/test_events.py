import pytest

from cities_common import events
from cities_common.errors import InvalidInput


def completion(**changes):
    data = {"completion_id": "cmp-1", "registration_id": "reg-1", "youth_id": "yth-1",
            "opportunity_id": "opp-1", "opportunity_title": "Robotics",
            "provider_name": "Chicago Public Library",
            "completed_at": "2026-12-04T15:00:00+00:00"}
    return {**data, **changes}


def test_make_event_builds_valid_envelope():
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion(),
                                 request_id="abc")
    assert envelope["city"] == "chicago"
    assert envelope["schema_version"] == 1
    assert envelope["request_id"] == "abc"
    assert envelope["data"]["completion_id"] == "cmp-1"


def test_make_event_keeps_given_event_id():
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion(),
                                 event_id="completed-reg-1")
    assert envelope["event_id"] == "completed-reg-1"


@pytest.mark.parametrize("city, field", [
    ("", "city"),
    ("Chicago", "city"),
    ("x" * 60, "city"),
])
def test_parse_event_rejects_invalid_city(city, field):
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion())
    envelope["city"] = city
    with pytest.raises(InvalidInput) as caught:
        events.parse_event(envelope, events.PROGRAM_COMPLETED)
    assert field in caught.value.errors


def test_parse_event_names_missing_data_field():
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion())
    del envelope["data"]["youth_id"]
    with pytest.raises(InvalidInput) as caught:
        events.parse_event(envelope, events.PROGRAM_COMPLETED)
    assert "youth_id" in caught.value.errors["data"]


def test_parse_event_rejects_unknown_version():
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion())
    envelope["schema_version"] = 99
    with pytest.raises(InvalidInput) as caught:
        events.parse_event(envelope, events.PROGRAM_COMPLETED)
    assert "schema_version" in caught.value.errors


def test_parse_event_rejects_other_event_type():
    envelope = events.make_event(events.PROGRAM_COMPLETED, "chicago", completion())
    with pytest.raises(InvalidInput):
        events.parse_event(envelope, events.BADGE_ISSUED)


def test_parse_event_rejects_non_object():
    with pytest.raises(InvalidInput):
        events.parse_event("not an event", events.BADGE_ISSUED)
