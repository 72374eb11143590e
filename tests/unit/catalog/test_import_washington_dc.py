"""Washington, DC summer camps 2016 and the DC provider sites."""

from __future__ import annotations

import pytest

CAMPS = "washington-dc-camps-2016"


@pytest.fixture(scope="module")
def camps(import_results):
    return import_results[CAMPS]


@pytest.fixture(scope="module")
def camp_documents(camps):
    return {document["source_id"]: document for document in camps.documents}


def test_camps_all_rows_kept(camps):
    summary = camps.summary()
    assert summary["documents"] == 159
    assert summary["rejected"] == 0


@pytest.mark.parametrize(
    ("objectid", "title"),
    [
        ("4", "Bricks4Kidz camp at 1130 6TH STREET NW"),
        ("5", "Busy Bees camp at 1453 PENNSYLVANIA AVENUE SE"),
        ("7", "Children’s Art Studio camp at 4723 WISCONSIN AVENUE NW"),
    ],
)
def test_camps_empty_name_titled_from_organisation(
    camps, camp_documents, objectid, title
):
    assert camp_documents[objectid]["title"] == title
    codes = {w.reason_code for w in camps.warnings if w.source_id == objectid}
    assert codes == {"title_generated"}


def test_camps_generated_titles_counted(camps):
    generated = [w for w in camps.warnings if w.reason_code == "title_generated"]
    assert len(generated) == 7


def test_camps_dpr_alias_applied(camps):
    providers = [document["provider"]["name"] for document in camps.documents]
    assert providers.count("DC Department of Parks and Recreation") == 94
    assert "DPR" not in providers


def test_camps_registration_email_removed(camps, camp_documents):
    # registration_open: "To register email:" followed by a private address.
    description = camp_documents["129"]["description"]
    assert description == "Registration: To register email: (e-mail address removed)"
    codes = {w.reason_code for w in camps.warnings if w.source_id == "129"}
    assert codes == {"email_removed"}


def test_camps_row_round_trip(camp_documents):
    assert camp_documents["1"] == {
        "source": CAMPS,
        "source_id": "1",
        "city": "washington-dc",
        "title": "Adventure Camp on Capitol Hill",
        "description": "Registration: Open as of 2/11/16",
        "provider": {"name": "Adventure Camp DC", "source_id": None},
        "interests": [],
        "interests_derived": False,
        "tags": ["Non-DC Government Camp"],
        "format": "in_person",
        "locations": [
            {
                "name": None,
                "address": "1922 C STREET NE, Washington, DC",
                "postal_code": "20002",
                "lat": 38.893583,
                "lon": -76.976463,
            }
        ],
        "min_age": None,
        "max_age": None,
        "start_date": None,
        "end_date": None,
        "start_time": None,
        "end_time": None,
        "capacity": None,
        "cost": {"free": None, "label": None},
        "registration_url": None,
        "url": "http://www.adventurecampdc.com/",
        "status": "published",
        "review_notes": [],
    }


def test_dc_libraries_one_organisation(import_results):
    result = import_results["washington-dc-libraries"]
    [library] = result.documents
    assert library["name"] == "DC Public Library"
    assert library["kind"] == "library"
    assert library["source_id"] == "dc-public-library"
    assert len(library["locations"]) == 26
    # Each branch has its own page, so the organisation gets none.
    assert library["website"] is None
    assert {location["site_type"] for location in library["locations"]} == {"library"}


def test_dc_recreation_facilities_one_organisation(import_results):
    result = import_results["washington-dc-recreation-facilities"]
    [dpr] = result.documents
    assert dpr["name"] == "DC Department of Parks and Recreation"
    assert dpr["kind"] == "park_district"
    assert dpr["website"] == "http://dpr.dc.gov/page/recreation-centers"
    assert len(dpr["locations"]) == 134
    statuses = [location["status"] for location in dpr["locations"]]
    assert statuses.count("closed") == 4
    site_types = {location["site_type"] for location in dpr["locations"]}
    assert site_types == {
        "recreation_center",
        "pool",
        "spray_park",
        "aquatic_center",
        "office",
    }
