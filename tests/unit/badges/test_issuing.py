from cities_common import events
from services.badges.issuing import NO_BADGE, default_class_id, provider_issuer_id
from services.badges.storage import assertion_id
from tests.unit.badges.conftest import COMPLETION


def test_completion_issues_default_class(platform, issued):
    assert issued["badge_class_id"] == default_class_id("opp-1")
    assert issued["issuer_id"] == provider_issuer_id("FUSE Studio")
    assert issued["id"] == assertion_id("chicago", "cmp-reg-1")
    assert platform["store"].completions["cmp-reg-1"]["badge_status"] == "issued"


def test_completion_twice_issues_once(platform, issued):
    again = platform["issuance"].on_completion(dict(COMPLETION))
    assert again["id"] == issued["id"]
    assert len(platform["store"].assertions) == 1
    assert [item["event_type"] for item in platform["published"]] == [
        events.BADGE_ISSUED
    ]


def test_badge_issued_event_carries_assertion(platform, issued):
    event = platform["published"][0]
    assert event["event_id"] == f"badge-issued-{issued['id']}"
    assert event["data"]["assertion"]["id"] == platform["urls"].assertion(issued["id"])
    assert event["data"]["completion_id"] == "cmp-reg-1"
    events.make_event(events.BADGE_ISSUED, "chicago", event["data"])


def test_unannounced_badge_announced_on_retry(platform, issued):
    platform["store"].assertions[issued["id"]]["announced"] = False
    platform["published"].clear()
    platform["issuance"].on_completion(dict(COMPLETION))
    assert [item["event_id"] for item in platform["published"]] == [
        f"badge-issued-{issued['id']}"
    ]


def test_recipient_identity_is_salted_hash(issued):
    recipient = issued["recipient"]
    assert recipient["hash"].startswith("sha256$")
    assert "yth-1" not in recipient["hash"]
    assert issued["open_badge"]["recipient"]["identity"] == recipient["hash"]


def test_rule_none_issues_nothing(platform):
    platform["store"].rules["opp-1"] = {"badge_class_id": NO_BADGE}
    assert platform["issuance"].on_completion(dict(COMPLETION)) is None
    assert (
        platform["store"].completions["cmp-reg-1"]["badge_status"] == "no_badge_by_rule"
    )
    assert platform["published"] == []


def test_rule_picks_custom_class(platform):
    store = platform["store"]
    store.ensure_issuer(
        {"id": "city", "city": "chicago", "name": "City", "kind": "city"}
    )
    store.create_badge_class(
        {
            "id": "bc-maker",
            "city": "chicago",
            "issuer_id": "city",
            "name": "Maker",
            "description": "Makes things",
            "criteria": {"narrative": "Make"},
        }
    )
    store.rules["opp-1"] = {"badge_class_id": "bc-maker"}
    assertion = platform["issuance"].on_completion(dict(COMPLETION))
    assert assertion["badge_class_id"] == "bc-maker"


def test_evidence_required_waits_for_evidence(platform):
    store = platform["store"]
    platform["issuance"].default_class(COMPLETION)
    store.classes[default_class_id("opp-1")]["evidence_required"] = True
    assertion = platform["issuance"].on_completion({**COMPLETION, "evidence_url": None})
    assert assertion is None
    assert store.completions["cmp-reg-1"]["badge_status"] == "awaiting_evidence"


def test_expiry_set_from_valid_days(platform):
    platform["issuance"].default_class(COMPLETION)
    platform["store"].classes[default_class_id("opp-1")]["valid_days"] = 30
    assertion = platform["issuance"].on_completion(dict(COMPLETION))
    assert assertion["expires"] > assertion["issued_on"]


def playlist(platform):
    store = platform["store"]
    store.ensure_issuer(
        {"id": "city", "city": "chicago", "name": "City", "kind": "city"}
    )
    store.create_badge_class(
        {
            "id": "bc-pl",
            "city": "chicago",
            "issuer_id": "city",
            "name": "Explorer",
            "description": "All three",
            "criteria": {"narrative": "Complete all"},
        }
    )
    store.playlists.append(
        {
            "id": "pl-1",
            "name": "Explorer",
            "opportunity_ids": ["opp-1", "opp-2"],
            "badge_class_id": "bc-pl",
        }
    )


def test_playlist_waits_for_every_opportunity(platform):
    playlist(platform)
    platform["issuance"].on_completion(dict(COMPLETION))
    classes = {item["badge_class_id"] for item in platform["store"].assertions.values()}
    assert "bc-pl" not in classes


def test_playlist_badge_after_last_completion(platform):
    playlist(platform)
    platform["issuance"].on_completion(dict(COMPLETION))
    platform["issuance"].on_completion(
        {
            **COMPLETION,
            "completion_id": "cmp-reg-2",
            "opportunity_id": "opp-2",
            "completed_at": "2026-07-02T10:00:00+00:00",
        }
    )
    playlist_badges = [
        item
        for item in platform["store"].assertions.values()
        if item["badge_class_id"] == "bc-pl"
    ]
    assert len(playlist_badges) == 1
    assert playlist_badges[0]["opportunity_id"] == "opp-2"
    assert playlist_badges[0]["source"] == "playlist:pl-1:yth-1"


def test_revoke_dispatches_once(platform, issued):
    platform["issuance"].revoke(issued["id"], "issued in error")
    platform["issuance"].revoke(issued["id"], "a second reason")
    revoked = [
        item
        for item in platform["published"]
        if item["event_type"] == events.BADGE_REVOKED
    ]
    assert len(revoked) == 1
    assert revoked[0]["data"]["reason"] == "issued in error"
    events.make_event(events.BADGE_REVOKED, "chicago", revoked[0]["data"])
