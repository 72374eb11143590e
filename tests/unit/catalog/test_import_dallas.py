"""Dallas City of Learning programmes: each known fault on a real row."""

from __future__ import annotations

import pytest

SOURCE = "dallas-col-programs"
FILE_2017 = "real/dallas/dallas_city_of_learning_programs_2017_2018.csv"
FILE_2019 = "real/dallas/dallas_city_of_learning_programs_2019_2021.csv"


@pytest.fixture(scope="module")
def result(import_results):
    return import_results[SOURCE]


@pytest.fixture(scope="module")
def documents(result):
    return {document["source_id"]: document for document in result.documents}


@pytest.fixture(scope="module")
def rejections(result):
    return {rejection.source_id: rejection for rejection in result.rejected}


def warning_codes(result, source_id):
    return {w.reason_code for w in result.warnings if w.source_id == source_id}


@pytest.mark.parametrize(
    ("source_id", "reason_code", "field"),
    [
        # "Test Program With Changed Title 2", Big Thought
        ("41986", "test_record", "name"),
        # "3rd Test Program"
        ("41996", "test_record", "name"),
        # org "Test Org 5/31/2018": After School Matters programmes in Chicago
        ("64483", "test_record", "org_name"),
        ("64487", "test_record", "org_name"),
        # "BTI Test Zone"
        ("76398", "test_record", "name"),
        # geocoded to (45.0821, 6.05964), in the French Alps
        ("60352", "outside_city_area", "latitude,longitude"),
        # US-centroid default point (37.0902, -95.7129)
        ("42003", "outside_city_area", "latitude,longitude"),
        # US-centroid default point (39.7837, -100.446)
        ("94126", "outside_city_area", "latitude,longitude"),
        # a real address in Waco, about 118 km south of the city's box
        ("61742", "outside_city_area", "latitude,longitude"),
        # start_date "#Error"
        ("78700", "invalid_date", "start_date"),
        ("78701", "invalid_date", "start_date"),
        ("78702", "invalid_date", "start_date"),
        # starts 2028-06-11, record saved in 2018 and 2019
        ("61620", "implausible_date", "start_date"),
    ],
)
def test_dallas_fault_rejected(rejections, documents, source_id, reason_code, field):
    assert source_id not in documents
    rejection = rejections[source_id]
    assert rejection.reason_code == reason_code
    assert rejection.field == field
    assert rejection.source == SOURCE


@pytest.mark.parametrize("source_id", ["47552", "42001", "42131", "64531"])
def test_dallas_reused_record_start_kept(documents, source_id):
    # Created in 2017 or 2018 and reused for a season 3 years later, as
    # updated_at shows, so the start date is not a typo.
    assert documents[source_id]["start_date"] >= "2020-01-01"


def test_dallas_rejection_line_is_physical(rejections):
    # "#Error" row 78702 starts on line 2977 of the 2019-2021 file; earlier
    # records there contain quoted line breaks, so this is not the record index.
    rejection = rejections["78702"]
    assert rejection.file == FILE_2019
    assert rejection.line == 2977
    assert rejection.value == "#Error"


def test_dallas_test_records_all_rejected(result):
    test_rows = [r for r in result.rejected if r.reason_code == "test_record"]
    assert len(test_rows) == 66
    org_rows = [r for r in test_rows if r.value == "Test Org 5/31/2018"]
    assert len(org_rows) == 45


def test_dallas_real_titles_with_test_kept(documents):
    # Real programmes whose titles contain the word "test".
    assert documents["76468"]["title"] == "Test your Money Skills"
    assert documents["64934"]["title"].startswith("Readiness & Testing")


def test_dallas_fort_worth_kept(documents):
    # About 26 km west of the city's bounding box, inside the 50 km margin.
    location = documents["67053"]["locations"][0]
    assert location["address"] == "501 Oakland Boulevard, Fort Worth, TX"
    assert (location["lat"], location["lon"]) == (32.7669, -97.2588)


def test_dallas_hidden_row_withdrawn(documents):
    document = documents["41990"]
    assert document["status"] == "withdrawn"
    assert document["review_notes"] == ["hidden by the source platform's admins"]


def test_dallas_unknown_price_code_warns(result, documents):
    assert documents["61049"]["cost"] == {"free": None, "label": None}
    assert "unknown_price_code" in warning_codes(result, "61049")


@pytest.mark.parametrize(
    ("source_id", "cost"),
    [
        ("41990", {"free": True, "label": "Free"}),
        ("42024", {"free": False, "label": "Under $50"}),
        ("67051", {"free": False, "label": "$50 or more"}),
    ],
)
def test_dallas_price_code_mapped(documents, source_id, cost):
    assert documents[source_id]["cost"] == cost


@pytest.mark.parametrize(
    ("source_id", "capacity"),
    [
        ("42585", None),  # capacity 0, which the platform used for "not given"
        ("42024", None),  # capacity empty
        ("41990", 600),
    ],
)
def test_dallas_capacity_parsed(documents, source_id, capacity):
    assert documents[source_id]["capacity"] == capacity


def test_dallas_missing_end_date_kept(documents):
    document = documents["61685"]
    assert document["start_date"] == "2018-08-06"
    assert document["end_date"] is None


def test_dallas_online_fake_coordinates_dropped(result, documents):
    # Online programme geocoded to (45.0821, 6.05964).
    document = documents["76367"]
    assert document["format"] == "online"
    assert document["locations"] == []
    assert document["status"] == "published"
    assert "online_coordinates_dropped" in warning_codes(result, "76367")


def test_dallas_partial_coordinates_submitted(documents):
    # Only the latitude is given; the programme meets in person.
    document = documents["61624"]
    assert document["locations"] == []
    assert document["status"] == "submitted"
    assert "geocoding" in document["review_notes"][0]


def test_dallas_mailto_url_dropped(result, documents):
    # program_url was "mailto:" plus a Dallas ISD staff address.
    assert documents["51294"]["url"] is None
    assert "url_contains_email" in warning_codes(result, "51294")


def test_dallas_schemeless_url_repaired(result, documents):
    assert documents["51183"]["url"] == "http://dallasisd.org/athletics"
    assert "url_scheme_added" in warning_codes(result, "51183")


def test_dallas_replacement_char_repaired(result, documents):
    # "RECARGA TUS ENERG\ufffdAS": the lost letter sat between two letters.
    assert "\ufffd" not in documents["73456"]["title"]
    assert "replacement_char_repaired" in warning_codes(result, "73456")


def test_dallas_mojibake_repaired(result, documents):
    description = documents["61538"]["description"]
    assert "â€" not in description
    assert "mojibake_repaired" in warning_codes(result, "61538")


def test_dallas_html_description_plain(documents):
    # Source: "<p>Now that you've become a money ninja, Zing and Zoey ..."
    description = documents["76468"]["description"]
    assert description.startswith("Now that you've become a money ninja")
    assert "<" not in description


def test_dallas_interests_derived(result):
    assert all(document["interests_derived"] for document in result.documents)
    with_interests = [d for d in result.documents if d["interests"]]
    assert len(with_interests) > len(result.documents) / 2


def test_dallas_flags_become_tags(documents):
    assert documents["64531"]["tags"] == ["free-food", "scholarship-available"]


def test_dallas_city_state_variants_cleaned(result):
    for document in result.documents:
        for location in document["locations"]:
            address = location["address"] or ""
            assert "DALLAS" not in address
            assert ", Texas" not in address
            assert ", tx" not in address


def test_dallas_near_duplicates_kept(result):
    keys = {}
    for document in result.documents:
        location = document["locations"][0]["address"] if document["locations"] else ""
        key = (document["title"], document["start_date"], location)
        keys.setdefault(key, []).append(document["source_id"])
    repeated = [ids for ids in keys.values() if len(ids) > 1]
    assert len(repeated) > 50
    assert result.merged_rows == 0


def test_dallas_row_round_trip(documents):
    assert documents["41990"] == {
        "source": SOURCE,
        "source_id": "41990",
        "city": "dallas",
        "title": "DaVerse Lounge Open Mic Event",
        "description": (
            "DaVerse Lounge is a spoken-word event featuring youth poets ages 21 "
            "and under. Join us for a night of live music, visual art, and hip-hop "
            "in historic Deep Ellum located in the heart of Dallas."
        ),
        "provider": {"name": "Big Thought", "source_id": "520"},
        "interests": ["designing-making", "performance", "storytelling"],
        "interests_derived": True,
        "tags": [],
        "format": "in_person",
        "locations": [
            {
                "name": "Life at Deep Ellum",
                # The source repeats the street: "2803 Taylor Street Taylor Street".
                "address": "2803 Taylor Street, Dallas, TX",
                "postal_code": "75226",
                "lat": 32.7816,
                "lon": -96.7821,
            }
        ],
        "min_age": 12,
        "max_age": 21,
        "start_date": "2017-03-03",
        "end_date": "2017-03-03",
        "start_time": "19:00",
        "end_time": "22:00",
        "capacity": 600,
        "cost": {"free": True, "label": "Free"},
        "registration_url": None,
        "url": "https://www.bigthought.org/our-programs/daverse-lounge/",
        "status": "withdrawn",
        "review_notes": ["hidden by the source platform's admins"],
    }


def test_dallas_summary_counts(result):
    summary = result.summary()
    assert summary["rejected_by_reason"] == {
        "implausible_date": 1,
        "invalid_date": 3,
        "outside_city_area": 218,
        "test_record": 66,
    }
    assert summary["documents"] == 8370
