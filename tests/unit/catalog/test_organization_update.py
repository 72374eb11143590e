"""``update_organization`` on mongomock: who may change a partner's profile, how
each bad field is named, and the event that carries the new version."""

import pytest

from cities_common import events as contracts
from cities_common.errors import Conflict, Forbidden, InvalidInput
from tests.unit.catalog.test_catalog_lifecycle import LIBRARY, invite_partner

BRANCH = {"name": "Chinatown Branch", "address": "2100 S Wentworth Ave",
          "lat": 41.8537, "lon": -87.6321}


def field_errors(raised) -> dict:
    return raised.value.errors


def test_org_admin_updates_profile(chicago, published):
    organization, lead = invite_partner(chicago)
    updated = chicago.update_organization(organization["id"], {
        "name": "Robot Lab Chicago", "website": "https://robotlab.example.org",
        "description": "Robotics clubs for ages 10 to 14.",
        "locations": [LIBRARY, BRANCH]}, lead)
    assert updated["name"] == "Robot Lab Chicago"
    assert updated["website"] == "https://robotlab.example.org"
    assert updated["description"] == "Robotics clubs for ages 10 to 14."
    assert [site["name"] for site in updated["locations"]] == [LIBRARY["name"],
                                                               BRANCH["name"]]
    assert updated["version"] == organization["version"] + 3  # accept, approve, edit
    assert updated["kind"] == "museum"
    assert updated["membership"]["status"] == "approved"
    assert chicago.get_organization(organization["id"]) == updated


def test_update_publishes_full_document(chicago, published):
    organization, lead = invite_partner(chicago)
    updated = chicago.update_organization(organization["id"], {"name": "New Name"},
                                          lead)
    event = published.events[-1]
    assert event["event_type"] == contracts.ORGANIZATION_PUBLISHED
    assert event["data"]["organization"] == updated
    assert event["data"]["organization"]["version"] == updated["version"]


def test_city_admin_changes_kind(chicago):
    organization, _ = invite_partner(chicago)
    updated = chicago.update_organization(organization["id"], {"kind": "school"},
                                          chicago.admin_id)
    assert updated["kind"] == "school"


def test_org_admin_cannot_change_kind(chicago):
    organization, lead = invite_partner(chicago)
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(organization["id"], {"kind": "school"}, lead)
    assert field_errors(raised) == {
        "kind": ["may be changed only by the city's administrators"]}


@pytest.mark.parametrize("field, value", [
    ("anchor", True), ("membership", {"status": "approved"}), ("city", "dallas"),
    ("id", "other"), ("version", 9), ("source_id", "x"),
])
def test_update_rejects_protected_field(chicago, field, value):
    organization, lead = invite_partner(chicago)
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(organization["id"], {field: value}, lead)
    assert field_errors(raised) == {field: ["cannot be changed by a profile update"]}


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"website": "ftp://robots.example.org"}, "website"),
    ({"description": "x" * 2001}, "description"),
    ({"kind": "spaceport"}, "kind"),
    ({"kind": "anchor"}, "kind"),
    ({"locations": "400 S State St"}, "locations"),
    ({"locations": [{"name": "No place", "address": "1 Main St"}]}, "locations"),
    ({"locations": [{**LIBRARY, "lat": 32.78, "lon": -96.80}]}, "locations"),
    ({"locations": [{**LIBRARY, "address": None}]}, "locations"),
    ({"colour": "red"}, "colour"),
])
def test_update_names_invalid_field(chicago, changes, field):
    organization, _ = invite_partner(chicago)
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(organization["id"], changes, chicago.admin_id)
    assert list(field_errors(raised)) == [field]


def test_update_outside_city_names_coordinates(chicago):
    organization, lead = invite_partner(chicago)
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(organization["id"], {
            "locations": [LIBRARY, {**BRANCH, "lat": -87.6321, "lon": 41.8537}]}, lead)
    errors = field_errors(raised)["locations"]
    assert list(errors) == [1]
    assert "swapped" in errors[1]["lat"][0]


@pytest.mark.parametrize("changes", [{}, None, ["name"]])
def test_update_rejects_empty_body(chicago, changes):
    organization, lead = invite_partner(chicago)
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(organization["id"], changes, lead)
    assert list(field_errors(raised)) == ["body"]


def test_update_stale_version_conflicts(chicago):
    organization, lead = invite_partner(chicago)
    current = chicago.get_organization(organization["id"])["version"]
    with pytest.raises(Conflict):
        chicago.update_organization(organization["id"], {"name": "Stale"}, lead,
                                    current - 1)
    updated = chicago.update_organization(organization["id"], {"name": "Fresh"},
                                          lead, current)
    assert updated["version"] == current + 1


def test_other_organisation_admin_forbidden(chicago):
    organization, _ = invite_partner(chicago)
    _, rival = invite_partner(chicago, name="Rival Lab")
    with pytest.raises(Forbidden):
        chicago.update_organization(organization["id"], {"name": "Mine"}, rival)


def test_staff_member_forbidden(chicago):
    organization, lead = invite_partner(chicago)
    invited = chicago.invite_member(organization["id"], {
        "email": "staff@robots.example.org", "name": "Sam Staff", "role": "staff"},
        lead)
    staff = chicago.accept_invitation(invited["token"])["account"]["id"]
    with pytest.raises(Forbidden):
        chicago.update_organization(organization["id"], {"name": "Mine"}, staff)


def test_anchor_kind_cannot_change(chicago):
    anchor = chicago.list_organizations(kind="anchor")[0]
    with pytest.raises(InvalidInput) as raised:
        chicago.update_organization(anchor["id"], {"kind": "library"},
                                    chicago.admin_id)
    assert list(field_errors(raised)) == ["kind"]
    renamed = chicago.update_organization(anchor["id"], {"name": "Chicago CoL"},
                                          chicago.admin_id)
    assert renamed["anchor"] is True
