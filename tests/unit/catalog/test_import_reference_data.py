"""Seed cities, the interest vocabulary and the integrity of the copied files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from services.catalog.importing import compute_bbox
from services.catalog.importing.geo import ServiceArea

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
REAL_ROOT = DATA_ROOT / "real"

with open(DATA_ROOT / "cities.json", encoding="utf-8") as _handle:
    CITIES = {city["slug"]: city for city in json.load(_handle)}


def test_cities_are_the_four_seeds():
    assert sorted(CITIES) == ["chicago", "dallas", "pittsburgh", "washington-dc"]


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_cities_bbox_matches_boundary(slug):
    city = CITIES[slug]
    bbox = compute_bbox(DATA_ROOT / city["boundary_file"])
    for key, value in bbox.as_dict().items():
        assert round(city["bbox"][key], 4) == round(value, 4), key


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_cities_centre_is_bbox_centre(slug):
    city = CITIES[slug]
    bbox = city["bbox"]
    assert city["centre"]["lat"] == pytest.approx(
        (bbox["min_lat"] + bbox["max_lat"]) / 2, abs=1e-6
    )
    assert city["centre"]["lon"] == pytest.approx(
        (bbox["min_lon"] + bbox["max_lon"]) / 2, abs=1e-6
    )


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_cities_seed_settings(slug):
    city = CITIES[slug]
    assert city["default_locale"] == "en"
    assert city["locales"] == ["en", "es"]
    assert city["service_area_margin_km"] == 50
    assert city["time_zone"].startswith("America/")
    assert set(city["branding"]) == {"display_name", "primary_colour", "logo_url"}


def area_of(slug: str) -> ServiceArea:
    city = CITIES[slug]
    bbox = compute_bbox(DATA_ROOT / city["boundary_file"])
    return ServiceArea(bbox, city["service_area_margin_km"])


@pytest.mark.parametrize(
    ("slug", "lat", "lon", "inside"),
    [
        # Fort Worth addresses in the Dallas programme file
        ("dallas", 32.6888, -97.278, True),
        # Waco, in the Dallas programme file
        ("dallas", 31.5585, -97.1355, False),
        # the Europe geocode and the US-centroid defaults in the Dallas file
        ("dallas", 45.0821, 6.05964, False),
        ("dallas", 37.0902, -95.7129, False),
        ("dallas", 39.7837, -100.446, False),
        # a Chicago address in the Dallas file
        ("dallas", 41.9047, -87.6486, False),
        # Glencoe and South Holland in the Chicago file
        ("chicago", 42.1523, -87.7863, True),
        ("chicago", 41.6064, -87.6188, True),
        # the Illinois centroid in the Chicago file
        ("chicago", 40.6331, -89.3985, False),
    ],
)
def test_cities_margin_separates_real_points(slug, lat, lon, inside):
    assert area_of(slug).contains(lat, lon) is inside


def test_interests_are_the_csol_categories():
    with open(DATA_ROOT / "interests.json", encoding="utf-8") as handle:
        interests = json.load(handle)
    path = REAL_ROOT / "chicago" / "csol_2014_programs_by_category.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        categories = {
            row["category_name"]: row["category_description"]
            for row in csv.DictReader(handle)
        }
    assert len(interests) == 11
    assert {entry["name"]: entry["description"] for entry in interests} == categories
    slugs = [entry["slug"] for entry in interests]
    assert "exploring-earth-science" in slugs
    assert "designing-making" in slugs
    assert len(set(slugs)) == 11


def read_checksums() -> list[tuple[str, str]]:
    lines = (REAL_ROOT / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(maxsplit=1)) for line in lines if line.strip()]


def test_checksums_list_every_data_file():
    listed = {name for _, name in read_checksums()}
    present = {
        str(path.relative_to(REAL_ROOT))
        for path in REAL_ROOT.rglob("*")
        if path.is_file() and path.name not in ("SHA256SUMS", "PROVENANCE.md")
    }
    assert listed == present


@pytest.mark.parametrize(("digest", "name"), read_checksums())
def test_checksums_match_files(digest, name):
    assert hashlib.sha256((REAL_ROOT / name).read_bytes()).hexdigest() == digest
