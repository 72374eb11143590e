"""Partner-facing event types and subscription filters."""

import pytest

from services.notifications.webhook_types import (
    FILTERS, matches, partner_data, webhook_type,
)


@pytest.mark.parametrize("event_type, data, expected", [
    ("badge_issued", {}, "badge.issued"),
    ("badge_revoked", {}, "badge.revoked"),
    ("opportunity_published", {}, "opportunity.published"),
    ("youth_registered", {"status": "confirmed"}, "registration.confirmed"),
    ("youth_registered", {"status": "waitlisted"}, "registration.waitlisted"),
    ("registration_cancelled", {}, "registration.cancelled"),
])
def test_webhook_type_maps_internal_events(event_type, data, expected):
    assert webhook_type({"event_type": event_type, "data": data}) == expected


def test_webhook_type_rejects_unmapped_event():
    with pytest.raises(ValueError):
        webhook_type({"event_type": "city_onboarded", "data": {}})


@pytest.mark.parametrize("filters, kind, expected", [
    (["badge.issued"], "badge.issued", True),
    (["badge.issued"], "badge.revoked", False),
    (["registration.*"], "registration.confirmed", True),
    (["registration.*"], "registration.cancelled", True),
    (["registration.*"], "badge.issued", False),
    (["badge.*", "opportunity.published"], "opportunity.published", True),
])
def test_matches_exact_and_wildcard(filters, kind, expected):
    assert matches(filters, kind) is expected


def test_filters_include_group_wildcards():
    assert "registration.*" in FILTERS
    assert "badge.*" in FILTERS
    assert "*" not in FILTERS


def test_partner_data_adds_city():
    data = partner_data({"event_type": "badge_issued", "city": "chicago",
                         "data": {"assertion_id": "a"}})
    assert data == {"assertion_id": "a", "city": "chicago"}
