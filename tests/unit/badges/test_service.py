from unittest import mock

import pytest
from nameko.testing.services import worker_factory

from cities_common.errors import Conflict, InvalidInput, NotFound
from services.badges.portfolio import token_hash
from services.badges.service import BadgesService
from tests.unit.badges.conftest import BASE_URL, COMPLETION
from tests.unit.badges.fakes import FakeBadgeStore

AWARD = {
    "badge_class_id": "bc-maker",
    "youth_id": "yth-1",
    "opportunity_id": "opp-9",
    "awarded_by": {"name": "Ms Rivera", "role": "Studio lead"},
}
CLASS = {
    "issuer_id": "city",
    "name": "Maker",
    "description": "Builds and explains",
    "criteria": {"narrative": "Build a working robot and explain it"},
}
EDIT = {key: value for key, value in CLASS.items() if key != "issuer_id"}


@pytest.fixture
def service():
    worker = worker_factory(
        BadgesService, store=FakeBadgeStore(), config={"PUBLIC_BASE_URL": BASE_URL}
    )
    worker.tenant = mock.Mock(city="chicago")
    return worker


def test_award_requires_evidence_when_class_does(service):
    service.create_badge_class({**CLASS, "id": "bc-maker", "evidence_required": True})
    with pytest.raises(InvalidInput) as caught:
        service.award_badge(AWARD)
    assert "evidence" in caught.value.errors


def test_award_with_peer_assessment_issues(service):
    service.create_badge_class({**CLASS, "id": "bc-maker", "evidence_required": True})
    badge = service.award_badge(
        {
            **AWARD,
            "award_id": "award-1",
            "peer_assessments": [
                {
                    "assessor_name": "Jo",
                    "narrative": "Explained the gears clearly",
                    "rating": 4,
                }
            ],
        }
    )
    assert badge["created"] is True
    assert badge["evidence"][0]["genre"] == "Peer assessment"
    assert "Rating: 4 of 5." in badge["evidence"][0]["narrative"]


def test_award_retry_returns_first_award(service):
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    first = service.award_badge({**AWARD, "award_id": "award-1"})
    again = service.award_badge({**AWARD, "award_id": "award-1"})
    assert again["assertion_id"] == first["assertion_id"]
    assert again["created"] is False


def test_award_for_issued_completion_adds_nothing(service):
    issued = service.issuance("chicago").on_completion(dict(COMPLETION))
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    badge = service.award_badge({**AWARD, "completion_id": "cmp-reg-1"})
    assert badge["assertion_id"] == issued["id"]
    assert badge["created"] is False


def test_award_needs_programme(service):
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    with pytest.raises(InvalidInput) as caught:
        service.award_badge({**AWARD, "opportunity_id": None})
    assert "opportunity_id" in caught.value.errors


@pytest.mark.parametrize(
    "request_body, field",
    [
        ({**CLASS, "image": "data:image/gif;base64,R0lGOD"}, "image"),
        (
            {**CLASS, "alignments": [{"target_name": "x", "target_url": "ftp://x"}]},
            "alignments",
        ),
        ({**CLASS, "valid_days": 0}, "valid_days"),
        ({key: value for key, value in CLASS.items() if key != "criteria"}, "criteria"),
        ({**CLASS, "id": "Bad Id"}, "id"),
    ],
)
def test_badge_class_invalid_field_named(service, request_body, field):
    with pytest.raises(InvalidInput) as caught:
        service.create_badge_class(request_body)
    assert field in caught.value.errors


def test_badge_class_edit_makes_version(service):
    service.store.update_badge_class = mock.Mock(
        return_value={**CLASS, "id": "bc-maker", "version": 2}
    )
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    updated = service.update_badge_class("bc-maker", {**EDIT, "expected_version": 1})
    assert updated["version_url"].endswith("/classes/bc-maker/versions/2")


def test_badge_class_edit_cannot_move_issuer(service):
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    with pytest.raises(InvalidInput) as caught:
        service.update_badge_class("bc-maker", {**CLASS, "expected_version": 1})
    assert "issuer_id" in caught.value.errors


def test_badge_class_stale_edit_conflicts(service):
    service.store.update_badge_class = mock.Mock(return_value=None)
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    with pytest.raises(Conflict, match="version 1, not 3"):
        service.update_badge_class("bc-maker", {**EDIT, "expected_version": 3})


def test_endorser_must_be_employer_or_university(service):
    service.save_issuer({"id": "org-lib", "name": "Library", "kind": "library"})
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    with pytest.raises(InvalidInput) as caught:
        service.endorse(
            {"endorser_id": "org-lib", "badge_class_id": "bc-maker", "comment": "Good"}
        )
    assert "endorser_id" in caught.value.errors


def test_endorsement_is_hosted_document(service):
    service.save_issuer({"id": "org-acme", "name": "Acme", "kind": "employer"})
    service.create_badge_class({**CLASS, "id": "bc-maker"})
    endorsement = service.endorse(
        {
            "endorser_id": "org-acme",
            "badge_class_id": "bc-maker",
            "comment": "We hire makers",
        }
    )
    assert endorsement["type"] == "Endorsement"
    assert endorsement["claim"]["id"].endswith("/badges/classes/bc-maker")
    hosted = service.hosting("chicago").badge_class_document("bc-maker")
    assert hosted["endorsement"][0]["claim"]["endorsementComment"] == "We hire makers"


def test_has_badges_ignores_revoked(service):
    issued = service.issuance("chicago").on_completion(dict(COMPLETION))
    requested = [issued["badge_class_id"], "bc-other"]
    assert service.has_badges("yth-1", requested) == {
        "youth_id": "yth-1",
        "has_all": False,
        "held": [issued["badge_class_id"]],
        "missing": ["bc-other"],
    }
    service.revoke_badge(issued["id"], {"reason": "error"})
    assert service.has_badges("yth-1", [issued["badge_class_id"]])["has_all"] is False


def test_has_badges_rejects_non_list(service):
    with pytest.raises(InvalidInput):
        service.has_badges("yth-1", "bc-1")


def test_share_link_shows_only_public_badges(service):
    issuance = service.issuance("chicago")
    shown = issuance.on_completion(dict(COMPLETION))
    issuance.on_completion(
        {**COMPLETION, "completion_id": "cmp-2", "opportunity_id": "opp-2"}
    )
    service.set_badge_visibility("yth-1", shown["id"], {"public": True})
    link = service.create_share_link("yth-1")
    shared = service.shared_portfolio(link["token"])
    assert [badge["assertion_id"] for badge in shared["badges"]] == [shown["id"]]
    assert "youth_id" not in str(shared)


def test_share_link_token_stored_hashed(service):
    link = service.create_share_link("yth-1")
    stored = service.store.share_links[0]
    assert stored["token_hash"] == token_hash(link["token"])
    assert link["token"] not in str(stored)
    assert len(link["token"]) >= 43


def test_revoked_share_link_not_found(service):
    link = service.create_share_link("yth-1")
    service.revoke_share_link("yth-1", link["id"])
    with pytest.raises(NotFound):
        service.shared_portfolio(link["token"])


def test_visibility_of_other_youth_badge_not_found(service):
    issued = service.issuance("chicago").on_completion(dict(COMPLETION))
    with pytest.raises(NotFound):
        service.set_badge_visibility("yth-2", issued["id"], {"public": True})


@pytest.mark.parametrize(
    "submission",
    [{}, {"text": 1}, {"body_base64": "@@"}, {"text": "a", "document": {}}],
)
def test_verify_rejects_malformed_submission(service, submission):
    with pytest.raises(InvalidInput):
        service.verify(submission)


def test_playlist_created_awards_finished_youth(service):
    issuance = service.issuance("chicago")
    issuance.on_completion(dict(COMPLETION))
    issuance.on_completion(
        {**COMPLETION, "completion_id": "cmp-2", "opportunity_id": "opp-2"}
    )
    playlist = service.create_playlist(
        {
            "name": "Explorer",
            "description": "Two clubs",
            "opportunity_ids": ["opp-1", "opp-2"],
        }
    )
    assert playlist["badges_awarded_on_creation"] == 1
    assert playlist["badge_class_id"] == f"bc-{playlist['id']}"


def test_playlist_rejects_repeated_opportunity(service):
    with pytest.raises(InvalidInput) as caught:
        service.create_playlist(
            {"name": "x", "description": "y", "opportunity_ids": ["opp-1", "opp-1"]}
        )
    assert "opportunity_ids" in caught.value.errors
