"""Registration events survive a process that dies between a change of seats and
the dispatch of its event: the sweep dispatches each unrecorded event once."""

import pytest

from cities_common import events
from services.registration import announcements
from tests.unit.test_registration_service import Platform, opportunity


class Crash(Exception):
    """The process dies right after the change, before dispatching its event."""


@pytest.fixture
def platform(monkeypatch):
    monkeypatch.setattr(announcements, "GRACE_SECONDS", -60)
    return Platform(opportunity())


def crash_on_dispatch(platform):
    platform.service.publish.side_effect = Crash()


def resume(platform):
    platform.service.publish.side_effect = platform.publish


def pending(platform) -> list[dict]:
    return list(platform.database["registrations"].find({"announce_pending": True}))


def test_sweep_clears_dispatched_events(platform):
    first = platform.register()
    platform.service.cancel_registration(first["id"])
    assert len(pending(platform)) == 1
    before = len(platform.events)
    assert platform.service.sweep_announcements() == 0
    assert len(platform.events) == before
    assert pending(platform) == []
    assert platform.database["announced_events"].count_documents({}) == 0


def test_sweep_dispatches_lost_registration(platform):
    crash_on_dispatch(platform)
    with pytest.raises(Crash):
        platform.register()
    assert platform.sent(events.YOUTH_REGISTERED) == []
    resume(platform)
    assert platform.service.sweep_announcements() == 1
    [sent] = platform.sent(events.YOUTH_REGISTERED)
    registration = platform.database["registrations"].find_one()
    assert sent["event_id"] == f"registered-{registration['_id']}-1"
    assert sent["data"]["status"] == "confirmed"
    assert platform.service.sweep_announcements() == 0
    assert len(platform.sent(events.YOUTH_REGISTERED)) == 1


def test_sweep_dispatches_lost_cancel_and_promotion(platform):
    confirmed, _, waiting = [platform.register() for _ in range(3)]
    platform.service.sweep_announcements()
    crash_on_dispatch(platform)
    with pytest.raises(Crash):
        platform.service.cancel_registration(confirmed["id"])
    resume(platform)
    assert platform.service.sweep_announcements() == 2
    [cancelled] = platform.sent(events.REGISTRATION_CANCELLED)
    [promoted] = platform.sent(events.WAITLIST_PROMOTED)
    assert cancelled["event_id"] == f"cancelled-{confirmed['id']}-1"
    assert cancelled["data"]["previous_status"] == "confirmed"
    assert promoted["event_id"] == f"promoted-{waiting['id']}-3"
    assert promoted["data"]["sequence"] == 3


def test_sweep_waits_for_recent_events(platform, monkeypatch):
    monkeypatch.setattr(announcements, "GRACE_SECONDS", 3600)
    crash_on_dispatch(platform)
    with pytest.raises(Crash):
        platform.register()
    resume(platform)
    assert platform.service.sweep_announcements() == 0
    assert len(pending(platform)) == 1


def test_views_hide_kept_events(platform):
    registration = platform.register()
    assert "unannounced" not in registration
    assert "announce_pending" not in platform.service.get_registration(registration["id"])
