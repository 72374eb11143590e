"""The badges service's ``youth_erased`` handler on the real ``BadgeStore`` over
mongomock: revocation, anonymisation, the acknowledgement and what verifiers see.
"""

import json
from unittest import mock

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from cities_common.errors import Conflict, NotFound
from cities_common.handlers import EventInbox
from services.badges import erasure
from services.badges.service import BadgesService
from services.badges.storage import BadgeStore
from services.badges.verify import Verifier
from tests.unit.badges.conftest import BASE_URL, COMPLETION, HostingFetcher
from tests.unit.badges.fakes import PASSPHRASE

CLASS = {
    "id": "bc-maker",
    "issuer_id": "city",
    "name": "Maker",
    "description": "Builds and explains",
    "criteria": {"narrative": "Build a working robot and explain it"},
}
AWARD = {
    "badge_class_id": "bc-maker",
    "youth_id": "yth-1",
    "opportunity_id": "opp-9",
    "award_id": "award-1",
    "awarded_by": {"name": "Ms Rivera"},
    "narrative": "Sam explained the gear train to the whole group",
    "evidence": [{"url": "https://sam.example/robot", "name": "Sam's robot"}],
}


class Inbox:
    """``EventInbox`` over a mongomock collection, so duplicates are really dropped."""

    def __init__(self, database):
        self.collection = database["processed_events"]

    seen = EventInbox.seen
    mark = EventInbox.mark


@pytest.fixture
def service():
    database = mongomock.MongoClient().badges
    store = BadgeStore(database, PASSPHRASE)
    store.ensure_indexes()
    store.cities.add({"slug": "chicago", "name": "Chicago"})
    worker = worker_factory(
        BadgesService,
        store=store,
        inbox=Inbox(database),
        config={"PUBLIC_BASE_URL": BASE_URL},
    )
    worker.tenant = mock.Mock(city="chicago")
    worker.sent = []

    def publish(event_type, city, data, event_id=None):
        envelope = events.make_event(event_type, city, data, event_id=event_id)
        worker.sent.append(envelope)
        return envelope

    worker.publish.side_effect = publish
    return worker


@pytest.fixture
def badges(service):
    """Two badges and a share link of ``yth-1``, and one badge of ``yth-2``."""
    service.issuance("chicago").city_issuer()
    service.create_badge_class(CLASS)
    completed = service.issuance("chicago").on_completion(dict(COMPLETION))
    awarded = service.award_badge(AWARD)
    service.set_badge_visibility("yth-1", awarded["assertion_id"], {"public": True})
    link = service.create_share_link("yth-1")
    other = service.award_badge({**AWARD, "youth_id": "yth-2", "award_id": "award-2"})
    return {
        "completed": completed["id"],
        "awarded": awarded["assertion_id"],
        "other": other["assertion_id"],
        "token": link["token"],
    }


def erased_event(event_id="erased-ers-1"):
    return events.make_event(
        events.YOUTH_ERASED,
        "chicago",
        {
            "erasure_id": "ers-1",
            "youth_id": "yth-1",
            "requested_at": "2026-12-05T00:00:00+00:00",
            "guardian_ids": ["gdn-1"],
        },
        event_id=event_id,
    )


def sent(service, event_type):
    return [item["data"] for item in service.sent if item["event_type"] == event_type]


def test_youth_erased_revokes_and_anonymises(service, badges):
    service.handle_youth_erased(erased_event())

    for identifier in (badges["completed"], badges["awarded"]):
        stored = service.get_assertion(identifier)
        assert stored["revoked"] is True
        assert stored["revocation_reason"] == "recipient_erased"
        assert stored["youth_id"] == f"erased-{identifier}"
        assert stored["evidence"] == []
        assert stored["narrative"] is None
        assert stored["public"] is False
        assert "identity" not in stored["recipient"]
        assert "yth-1" not in json.dumps(stored)
        assert "robot" not in json.dumps(stored["open_badge"]).lower()
    revoked = sent(service, events.BADGE_REVOKED)
    assert sorted(item["assertion_id"] for item in revoked) == sorted(
        [badges["completed"], badges["awarded"]]
    )
    assert {item["reason"] for item in revoked} == {"recipient_erased"}


def test_youth_erased_removes_portfolio_and_links(service, badges):
    service.handle_youth_erased(erased_event())

    assert service.list_badges("yth-1") == []
    portfolio = service.portfolio("yth-1")
    assert portfolio["badges"] == []
    assert portfolio["share_links"] == []
    with pytest.raises(NotFound):
        service.shared_portfolio(badges["token"])
    assert service.store.completions_for_youth("chicago", "yth-1") == []
    kept = service.get_assertion(badges["other"])
    assert kept["youth_id"] == "yth-2"
    assert kept["revoked"] is False


def test_youth_erased_acknowledged_once_with_counts(service, badges):
    service.handle_youth_erased(erased_event())
    service.handle_youth_erased(erased_event())

    acknowledged = sent(service, events.YOUTH_ERASURE_ACKNOWLEDGED)
    assert len(acknowledged) == 1
    assert acknowledged[0]["service"] == "badges"
    assert acknowledged[0]["erasure_id"] == "ers-1"
    assert acknowledged[0]["summary"] == {
        "badges_revoked": 2,
        "badges_anonymised": 2,
        "share_links_deleted": 1,
        "completions_deleted": 1,
    }


def test_erasure_retried_keeps_first_counts(service, badges):
    service.handle_youth_erased(erased_event())
    counts = erasure.erase_youth(
        service.store, service.issuance("chicago"), "ers-1", "yth-1"
    )
    assert counts["badges_revoked"] == 2
    assert counts["share_links_deleted"] == 1
    assert len(sent(service, events.BADGE_REVOKED)) == 2


def test_badge_revoked_earlier_keeps_reason(service, badges):
    service.revoke_badge(badges["awarded"], {"reason": "Awarded in error"})
    service.handle_youth_erased(erased_event())
    stored = service.get_assertion(badges["awarded"])
    assert stored["revocation_reason"] == "Awarded in error"
    assert stored["evidence"] == []
    summary = sent(service, events.YOUTH_ERASURE_ACKNOWLEDGED)[0]["summary"]
    assert summary["badges_revoked"] == 1
    assert summary["badges_anonymised"] == 2


def test_shared_copies_verify_as_erased(service, badges):
    hosting = service.hosting("chicago")
    identifier = badges["awarded"]
    shared = [
        hosting.assertion_document(identifier),
        hosting.signed_assertion(identifier),
        hosting.credential(identifier),
        hosting.baked_image(identifier, "png", "ob3"),
    ]
    service.handle_youth_erased(erased_event())

    verifier = Verifier(BASE_URL, HostingFetcher(hosting))
    for presented in shared:
        report = verifier.verify(presented)
        assert not report["valid"]
        assert report["failed_check"] == "revocation"
        assert report["reason"] == "revoked by the issuer: recipient_erased"
    hosted = hosting.assertion_document(identifier)
    assert hosted["revocationReason"] == "recipient_erased"
    assert "evidence" not in hosted
    assert "narrative" not in hosted


def test_erased_youth_gets_no_new_badge(service, badges):
    service.handle_youth_erased(erased_event())
    late = {**COMPLETION, "completion_id": "cmp-reg-late", "opportunity_id": "opp-2"}
    assert service.issuance("chicago").on_completion(late) is None
    assert service.store.completions_for_youth("chicago", "yth-1") == []
    with pytest.raises(Conflict, match="erased"):
        service.award_badge({**AWARD, "award_id": "award-late"})
