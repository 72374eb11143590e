"""Chicago Summer of Learning 2014: grouping by programme, and the known faults."""

from __future__ import annotations

import hashlib

import pytest

SOURCE = "chicago-csol-2014"
FILE = "real/chicago/csol_2014_programs_by_category.csv"

# Raw (name, org_name, address, latitude, longitude) of rows in the CSV.
ART_CAMP_AT_HORNER = (
    "Art Camp at Horner",
    "Chicago Park District",
    "2741 W. Montrose Ave.",
    "41.9612",
    "-87.6976",
)
ENDANGERED_ANIMALS_AUSTIN_IRVING = (
    "Endangered Animals? What\ufffd\ufffd\ufffds a Kid to Do? CPL Austin-Irving",
    "Chicago Public Library",
    "6100 W. Irving Park Rd.",
    "41.953",
    "-87.7793",
)
SCIENCE_FIRST_GLENCOE = (
    "Science First",
    "Chicago Botanic Garden",
    "1000 Lake Cook Road",
    "42.1523",
    "-87.7863",
)
GREENSTAR_BRICOLAGE = (
    "Greenstar Bricolage @ Hedges",
    "After School Matters",
    "4747 S WINCHESTER AVENUE",
    "",
    "",
)


def group_id(key: tuple[str, ...]) -> str:
    """Recompute the source_id the mapping documents: SHA-1 over U+001F joins."""
    return hashlib.sha1("\x1f".join(key).encode("utf-8")).hexdigest()[:16]


@pytest.fixture(scope="module")
def result(import_results):
    return import_results[SOURCE]


@pytest.fixture(scope="module")
def documents(result):
    return {document["source_id"]: document for document in result.documents}


def test_chicago_rows_grouped_into_programmes(result):
    summary = result.summary()
    # The source README counts 2,546 programme-locations; 3 lie outside.
    assert summary["documents"] == 2546 - 3
    assert summary["merged_rows"] == 3914 - 2546 - 2


def test_chicago_group_merges_interests_and_ages(result, documents):
    document = documents[group_id(ART_CAMP_AT_HORNER)]
    assert document["interests"] == ["designing-making", "media"]
    assert (document["min_age"], document["max_age"]) == (2, 12)
    codes = {
        w.reason_code for w in result.warnings if w.source_id == document["source_id"]
    }
    assert codes == {"age_ranges_merged", "description_variants_merged"}


def test_chicago_row_round_trip(documents):
    assert documents[group_id(ART_CAMP_AT_HORNER)] == {
        "source": SOURCE,
        "source_id": "dfb3877a40984a0e",
        "city": "chicago",
        "title": "Art Camp at Horner",
        "description": (
            "Be creative all summer. Campers will have the opportunity to draw, "
            "paint, sing, dance, write poetry and much more. Field trips and special "
            "events will all revolve around the arts."
        ),
        "provider": {"name": "Chicago Park District", "source_id": None},
        "interests": ["designing-making", "media"],
        "interests_derived": False,
        "tags": [],
        "format": "in_person",
        "locations": [
            {
                "name": None,
                "address": "2741 W. Montrose Ave., Chicago, IL",
                "postal_code": "60618",
                "lat": 41.9612,
                "lon": -87.6976,
            }
        ],
        "min_age": 2,
        "max_age": 12,
        "start_date": None,
        "end_date": None,
        "start_time": None,
        "end_time": None,
        "capacity": None,
        "cost": {"free": None, "label": None},
        "registration_url": None,
        "url": None,
        "status": "published",
        "review_notes": [],
    }


@pytest.mark.parametrize(
    ("line", "value"),
    [
        # "Day Camp at Sumner", geocoded to Alabama
        (1545, "33.316, -85.4864"),
        (1546, "33.316, -85.4864"),
        # "Early Bird Camp at Sumner"
        (1805, "33.316, -85.4864"),
        # "Hip-Hop Yoga" at the Illinois centroid
        (4667, "40.6331, -89.3985"),
        (4668, "40.6331, -89.3985"),
    ],
)
def test_chicago_outside_area_rejected(result, line, value):
    rejection = next(r for r in result.rejected if r.line == line)
    assert rejection.reason_code == "outside_city_area"
    assert rejection.value == value
    assert rejection.file == FILE


def test_chicago_suburb_within_margin_kept(documents):
    document = documents[group_id(SCIENCE_FIRST_GLENCOE)]
    assert document["locations"][0]["address"] == "1000 Lake Cook Road, Glencoe, IL"
    assert document["status"] == "published"


def test_chicago_missing_coordinates_submitted(documents):
    document = documents[group_id(GREENSTAR_BRICOLAGE)]
    assert document["locations"] == []
    assert document["status"] == "submitted"
    assert len(document["review_notes"]) == 1


def test_chicago_virtual_learning_online(result):
    online = [d for d in result.documents if d["format"] == "online"]
    assert len(online) == 3
    assert all(d["title"].startswith("CPS Virtual Learning") for d in online)
    assert all(d["status"] == "published" for d in online)


def test_chicago_replacement_chars_repaired(result, documents):
    document = documents[group_id(ENDANGERED_ANIMALS_AUSTIN_IRVING)]
    assert (
        document["title"] == "Endangered Animals? What’s a Kid to Do? CPL Austin-Irving"
    )
    assert "This hands-on program" in document["description"]
    warnings = [w for w in result.warnings if w.source_id == document["source_id"]]
    assert {w.field for w in warnings} == {"name", "description"}
    assert {w.reason_code for w in warnings} == {"replacement_char_repaired"}
    assert "[U+FFFD]" in warnings[0].value


def test_chicago_replacement_warning_per_row(result):
    # 291 rows hold U+FFFD in the description, and 57 of those in the name too.
    warnings = [
        w for w in result.warnings if w.reason_code == "replacement_char_repaired"
    ]
    assert len(warnings) == 291 + 57


@pytest.mark.parametrize("value", ["6,063,960,628", "606467"])
def test_chicago_invalid_zip_dropped(result, value):
    warnings = [w for w in result.warnings if w.value == value]
    assert warnings
    assert {w.reason_code for w in warnings} == {"invalid_postal_code"}


def test_chicago_city_typos_cleaned(result):
    for document in result.documents:
        for location in document["locations"]:
            address = location["address"] or ""
            assert "Chicagp" not in address
            assert "Chicago60" not in address
            assert ", chicago" not in address
            assert "#N/A" not in address


def test_chicago_every_programme_has_interest(result):
    assert all(document["interests"] for document in result.documents)
    assert not any(document["interests_derived"] for document in result.documents)
