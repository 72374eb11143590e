"""The catalog service's entrypoints on an in-memory MongoDB (mongomock).

Workers come from nameko's ``worker_factory`` with the real ``CatalogStore`` and a
publisher that validates every event against its contract in
``cities_common.events``.
"""

import pytest

from cities_common import events as contracts
from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, NotFound, UnknownCity,
)
from tests.unit.catalog.fixtures import seed_city

LIBRARY = {"name": "Harold Washington Library Center", "address": "400 S State St",
           "lat": 41.8763, "lon": -87.6281}


def invite_partner(worker, name="Robot Lab", approve=True) -> tuple[dict, str]:
    """Invite, accept and (by default) approve a partner; return it and its admin id."""
    invited = worker.create_organization({
        "name": name, "kind": "museum", "website": "https://robots.example.org",
        "locations": [LIBRARY],
        "admin": {"email": "lead@robots.example.org", "name": "Lee Lead"}},
        worker.admin_id)
    accepted = worker.accept_invitation(invited["invitation"]["token"])
    if approve:
        worker.approve_organization(invited["organization"]["id"], worker.admin_id)
    return invited["organization"], accepted["account"]["id"]


def draft(worker, organization_id, actor, **changes) -> dict:
    body = {"organization_id": organization_id, "title": "Robot Club",
            "description": "<p>Build robots.</p>", "format": "in_person",
            "interests": ["coding-games"], "locations": [LIBRARY], "min_age": 10,
            "max_age": 14, "capacity": 12, "cost": {"free": True},
            "sessions": [{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
                          "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"}]}
    return worker.create_opportunity({**body, **changes}, actor)


def test_onboarding_creates_city_records(chicago, catalog_db, published):
    assert catalog_db.cities.get("chicago")["status"] == "active"
    assert len(catalog_db.interests.list("chicago")) == 11
    accounts = catalog_db.accounts.list("chicago")
    assert [account["role"] for account in accounts] == ["city_admin"]
    anchors = catalog_db.list("organizations", "chicago", kind="anchor")
    assert [anchor["name"] for anchor in anchors] == ["Chicago City of Learning"]
    assert contracts.CITY_ONBOARDED in published.types()


def test_onboarding_twice_changes_nothing(chicago, catalog_db, published):
    again = chicago.onboard_city({**seed_city("chicago"), "admin": {
        "email": "ADMIN@chicago.example", "name": "Chicago Admin"}})
    assert again["outcome"] == "unchanged"
    assert again["interests_added"] == 0
    assert again["admin"]["id"] == chicago.admin_id
    assert catalog_db.counts("chicago") == {"organizations": 1, "opportunities": 0,
                                             "accounts": 1, "interests": 11}


def test_onboarding_update_bumps_city_version(chicago):
    changed = seed_city("chicago")
    changed["branding"] = {**changed["branding"], "primary_colour": "#000000"}
    result = chicago.onboard_city(changed)
    assert result["outcome"] == "updated"
    assert result["city"]["version"] == 2
    assert result["city"]["branding"]["primary_colour"] == "#000000"


def test_onboarding_invalid_city_names_field(catalog_for):
    with pytest.raises(InvalidInput) as caught:
        catalog_for(None).onboard_city({**seed_city("dallas"), "time_zone": "Mars/Base"})
    assert "time_zone" in caught.value.errors


@pytest.mark.parametrize("city, error", [
    (None, UnknownCity), ("Not A Slug", UnknownCity), ("atlantis", UnknownCity),
])
def test_call_without_valid_city_rejected(catalog_for, chicago, city, error):
    worker = catalog_for(city)
    with pytest.raises(error):
        worker.list_opportunities()
    with pytest.raises(error):
        worker.create_opportunity({}, chicago.admin_id)
    with pytest.raises(error):
        worker.import_records("opportunities", [{}])


def test_moderation_flow_publishes(chicago, published):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    submitted = chicago.transition_opportunity(created["id"], "submit", partner)
    approved = chicago.transition_opportunity(created["id"], "approve", chicago.admin_id,
                                               "Looks good")

    assert created["status"] == "draft"
    assert submitted["status"] == "submitted"
    assert submitted["moderation"]["state"] == "pending"
    assert approved["status"] == "published"
    assert approved["moderation"]["state"] == "approved"
    assert approved["moderation"]["decided_by"] == chicago.admin_id
    assert [created["version"], submitted["version"], approved["version"]] == [1, 2, 3]
    assert [entry["action"] for entry in approved["history"]] == [
        "create", "submit", "approve"]
    opportunity_events = [event for event in published.events
                          if event["event_type"].startswith("opportunity_")]
    assert [event["event_type"] for event in opportunity_events] == [
        contracts.OPPORTUNITY_UPDATED, contracts.OPPORTUNITY_UPDATED,
        contracts.OPPORTUNITY_PUBLISHED]
    assert [event["data"]["version"] for event in opportunity_events] == [1, 2, 3]
    assert opportunity_events[-1]["data"]["opportunity"]["status"] == "published"


def test_return_needs_reason_and_adds_note(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.transition_opportunity(created["id"], "submit", partner)
    with pytest.raises(InvalidInput) as caught:
        chicago.transition_opportunity(created["id"], "return", chicago.admin_id)
    assert "reason" in caught.value.errors

    returned = chicago.transition_opportunity(created["id"], "return", chicago.admin_id,
                                              "Add the room number")
    assert returned["status"] == "draft"
    assert returned["moderation"]["state"] == "returned"
    assert returned["review_notes"] == ["Add the room number"]


def test_partner_cannot_moderate(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.transition_opportunity(created["id"], "submit", partner)
    with pytest.raises(Forbidden):
        chicago.transition_opportunity(created["id"], "approve", partner)
    with pytest.raises(Forbidden):
        chicago.create_organization({"name": "Other", "kind": "school", "admin": {
            "email": "a@b.example", "name": "A"}}, partner)


def test_new_partner_cannot_publish_directly(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    with pytest.raises(Conflict) as caught:
        chicago.transition_opportunity(created["id"], "publish", partner)
    assert "submit" in str(caught.value)


def test_trusted_partner_submit_publishes(chicago, catalog_db):
    organization, partner = invite_partner(chicago)
    for _ in range(3):
        created = draft(chicago, organization["id"], partner)
        chicago.transition_opportunity(created["id"], "submit", partner)
        chicago.transition_opportunity(created["id"], "approve", chicago.admin_id)
    assert catalog_db.get("organizations", "chicago",
                          organization["id"])["approved_opportunities"] == 3

    fourth = draft(chicago, organization["id"], partner)
    submitted = chicago.transition_opportunity(fourth["id"], "submit", partner)
    assert submitted["status"] == "published"
    assert submitted["moderation"]["state"] == "not_required"


def test_unapproved_partner_cannot_submit(chicago):
    organization, partner = invite_partner(chicago, approve=False)
    created = draft(chicago, organization["id"], partner)
    with pytest.raises(Conflict) as caught:
        chicago.transition_opportunity(created["id"], "submit", partner)
    assert "pending" in str(caught.value)


def test_invited_partner_cannot_draft(chicago):
    invited = chicago.create_organization({
        "name": "Quiet Museum", "kind": "museum",
        "admin": {"email": "q@museum.example", "name": "Q"}}, chicago.admin_id)
    with pytest.raises(Conflict):
        draft(chicago, invited["organization"]["id"], chicago.admin_id)


def test_withdraw_published_sends_withdrawn(chicago, published):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.transition_opportunity(created["id"], "submit", partner)
    chicago.transition_opportunity(created["id"], "approve", chicago.admin_id)
    withdrawn = chicago.transition_opportunity(created["id"], "withdraw", partner,
                                               "Cancelled for lack of staff")
    assert withdrawn["status"] == "withdrawn"
    assert published.events[-1]["event_type"] == contracts.OPPORTUNITY_WITHDRAWN
    assert published.events[-1]["data"]["version"] == withdrawn["version"]
    with pytest.raises(Conflict):
        chicago.update_opportunity(created["id"], {"title": "Back again"}, partner)
    with pytest.raises(Conflict):
        chicago.transition_opportunity(created["id"], "publish", partner)


def test_close_then_reopen(chicago, published):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.transition_opportunity(created["id"], "submit", partner)
    chicago.transition_opportunity(created["id"], "approve", chicago.admin_id)
    closed = chicago.transition_opportunity(created["id"], "close", partner)
    assert published.events[-1]["event_type"] == contracts.OPPORTUNITY_WITHDRAWN
    reopened = chicago.transition_opportunity(created["id"], "publish", partner)
    assert closed["status"] == "closed"
    assert reopened["status"] == "published"
    assert published.events[-1]["event_type"] == contracts.OPPORTUNITY_PUBLISHED


def test_update_published_sends_updated(chicago, published):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.transition_opportunity(created["id"], "submit", partner)
    approved = chicago.transition_opportunity(created["id"], "approve", chicago.admin_id)
    updated = chicago.update_opportunity(created["id"], {"title": "Robot Club II"},
                                         partner, approved["version"])
    assert updated["title"] == "Robot Club II"
    assert updated["version"] == approved["version"] + 1
    assert updated["description_html"] == "<p>Build robots.</p>"
    assert updated["schedule"]["occurrences"] == 6
    assert published.events[-1]["event_type"] == contracts.OPPORTUNITY_UPDATED
    assert published.events[-1]["data"]["opportunity"]["title"] == "Robot Club II"


def test_update_stale_version_conflicts(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    chicago.update_opportunity(created["id"], {"capacity": 20}, partner)
    with pytest.raises(Conflict):
        chicago.update_opportunity(created["id"], {"capacity": 30}, partner,
                                   created["version"])


@pytest.mark.parametrize("changes, field", [
    ({"status": "published"}, "status"),
    ({"city": "dallas"}, "city"),
    ({"version": 99}, "version"),
    ({"capacity": -3}, "capacity"),
    ({"sessions": [{"start": "2026-07-06T10:00", "end": "2026-07-05T10:00"}]},
     "sessions"),
])
def test_update_rejects_field(chicago, changes, field):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    with pytest.raises(InvalidInput) as caught:
        chicago.update_opportunity(created["id"], changes, partner)
    assert field in caught.value.errors


def test_other_organisation_cannot_edit(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    invited = chicago.create_organization({
        "name": "Rival Lab", "kind": "school",
        "admin": {"email": "rival@school.example", "name": "R"}}, chicago.admin_id)
    rival = chicago.accept_invitation(invited["invitation"]["token"])["account"]["id"]
    with pytest.raises(Forbidden):
        chicago.update_opportunity(created["id"], {"title": "Mine now"}, rival)
    with pytest.raises(Forbidden):
        chicago.transition_opportunity(created["id"], "withdraw", rival)


def test_invitation_token_works_once(chicago):
    invited = chicago.create_organization({
        "name": "Once Lab", "kind": "employer",
        "admin": {"email": "once@lab.example", "name": "O"}}, chicago.admin_id)
    token = invited["invitation"]["token"]
    chicago.accept_invitation(token)
    with pytest.raises(NotFound):
        chicago.accept_invitation(token)


def test_members_listed_without_token(chicago):
    organization, partner = invite_partner(chicago)
    invited = chicago.invite_member(organization["id"], {
        "email": "staff@robots.example.org", "name": "Sam Staff", "role": "staff"},
        partner)
    members = chicago.list_members(organization["id"], partner)
    assert {member["role"] for member in members} == {"org_admin", "staff"}
    assert all("token_hash" not in member for member in members)
    assert invited["token"]


def test_duplicate_organisation_name_conflicts(chicago):
    invite_partner(chicago)
    with pytest.raises(Conflict):
        invite_partner(chicago)


def test_cross_city_records_invisible(catalog_for, chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    dallas = catalog_for("dallas")
    onboarded = dallas.onboard_city({**seed_city("dallas"), "admin": {
        "email": "admin@dallas.example", "name": "Dallas Admin"}})
    dallas_admin = onboarded["admin"]["id"]

    with pytest.raises(NotFound):
        dallas.get_opportunity(created["id"])
    with pytest.raises(NotFound):
        dallas.update_opportunity(created["id"], {"title": "Taken"}, dallas_admin)
    with pytest.raises(NotFound):
        dallas.transition_opportunity(created["id"], "withdraw", dallas_admin)
    with pytest.raises(NotFound):
        dallas.get_organization(organization["id"])
    with pytest.raises(Forbidden):
        dallas.create_organization({"name": "Spy", "kind": "school", "admin": {
            "email": "s@spy.example", "name": "S"}}, chicago.admin_id)
    assert dallas.list_opportunities() == []
    assert chicago.get_opportunity(created["id"])["title"] == "Robot Club"


def test_archive_stops_city_and_spares_others(catalog_for, chicago, published):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    dallas = catalog_for("dallas")
    dallas.onboard_city(seed_city("dallas"))

    result = chicago.archive_city("chicago")
    again = chicago.archive_city("chicago")

    assert result["archived_now"] is True
    assert again["archived_now"] is False
    assert result["counts"]["opportunities"] == 1
    assert published.types().count(contracts.CITY_ARCHIVED) == 1
    for call in (lambda: chicago.get_opportunity(created["id"]),
                 lambda: chicago.list_organizations(),
                 lambda: chicago.import_records("opportunities", [{}])):
        with pytest.raises(CityArchived):
            call()
    with pytest.raises(CityArchived):
        chicago.onboard_city(seed_city("chicago"))
    assert [city["slug"] for city in chicago.list_cities()] == ["dallas"]
    assert dallas.list_interests()[0]["slug"] == "exploring-earth-science"


def test_export_pages_cover_every_record(chicago):
    organization, partner = invite_partner(chicago)
    ids = {draft(chicago, organization["id"], partner, title=f"Club {n}")["id"]
           for n in range(5)}
    chicago.archive_city("chicago")
    manifest = chicago.export_city("chicago")
    assert manifest["counts"]["opportunities"] == 5
    seen, after = set(), None
    while True:
        page = chicago.export_city("chicago", "opportunities", after, 2)
        seen |= {record["id"] for record in page["records"]}
        after = page["next_after"]
        if after is None:
            break
    assert seen == ids
    accounts = chicago.export_city("chicago", "accounts")["records"]
    assert all("token_hash" not in account for account in accounts)


def test_access_facts_draft_opportunity(chicago):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    assert chicago.access_facts("opportunity", created["id"]) == {
        "opportunity_id": created["id"], "organization_id": organization["id"],
        "status": "draft"}


def test_access_facts_imported_opportunity_unowned(chicago, catalog_db):
    chicago.import_records("opportunities", [{
        "source": "test-source", "source_id": "1", "city": "chicago",
        "title": "Robot Club", "provider": {"name": "Chicago Public Library"},
        "format": "in_person", "status": "published", "description": "Robots",
        "locations": [{"lat": 41.8763, "lon": -87.6281}]}])
    (imported,) = catalog_db.list("opportunities", "chicago")
    assert chicago.access_facts("opportunity", imported["id"]) == {
        "opportunity_id": imported["id"], "organization_id": None,
        "status": "published"}


def test_access_facts_partner_organization(chicago):
    organization, _ = invite_partner(chicago, approve=False)
    assert chicago.access_facts("organization", organization["id"]) == {
        "organization_id": organization["id"], "kind": "museum", "anchor": False,
        "membership": "pending"}


def test_access_facts_anchor_organization(chicago, catalog_db):
    (anchor,) = catalog_db.list("organizations", "chicago", kind="anchor")
    assert chicago.access_facts("organization", anchor["id"]) == {
        "organization_id": anchor["id"], "kind": "anchor", "anchor": True,
        "membership": "approved"}


@pytest.mark.parametrize("kind, name", [
    ("opportunity", "opportunity"), ("organization", "organisation"),
])
def test_access_facts_unknown_record_not_found(chicago, kind, name):
    with pytest.raises(NotFound) as caught:
        chicago.access_facts(kind, "opp-missing")
    assert str(caught.value) == f"{name} 'opp-missing' not found in chicago"


def test_access_facts_other_city_not_found(chicago, catalog_for):
    organization, partner = invite_partner(chicago)
    created = draft(chicago, organization["id"], partner)
    dallas = catalog_for("dallas")
    dallas.onboard_city(seed_city("dallas"))
    with pytest.raises(NotFound):
        dallas.access_facts("opportunity", created["id"])
    with pytest.raises(NotFound):
        dallas.access_facts("organization", organization["id"])


@pytest.mark.parametrize("kind, record_id, field", [
    ("opportunities", "opp-1", "kind"), (None, "opp-1", "kind"),
    ("opportunity", "", "record_id"), ("opportunity", None, "record_id"),
])
def test_access_facts_rejects_request(chicago, kind, record_id, field):
    with pytest.raises(InvalidInput) as caught:
        chicago.access_facts(kind, record_id)
    assert list(caught.value.errors) == [field]


def test_invitation_accepted_only_by_invited_address(chicago):
    invited = chicago.create_organization({
        "name": "Address Check Lab", "kind": "museum",
        "website": "https://address.example.org", "locations": [LIBRARY],
        "admin": {"email": "Ivy@Example.org", "name": "Ivy"}}, chicago.admin_id)
    token = invited["invitation"]["token"]
    with pytest.raises(Forbidden, match="another e-mail address"):
        chicago.accept_invitation(token, "someone@example.org")
    accepted = chicago.accept_invitation(token, "ivy@example.org")
    assert accepted["account"]["email"] == "ivy@example.org"
