"""The seed cities and the interest vocabulary that every import checks against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .exceptions import MappingError
from .geo import BBox, ServiceArea

CITIES_FILE = "cities.json"
INTERESTS_FILE = "interests.json"


@dataclass(frozen=True)
class City:
    """One seed city (tenant) as stored in ``cities.json``."""

    slug: str
    name: str
    time_zone: str
    bbox: BBox
    service_area_margin_km: float
    boundary_file: str

    @property
    def service_area(self) -> ServiceArea:
        return ServiceArea(self.bbox, self.service_area_margin_km)


def load_cities(data_root: Path) -> dict[str, City]:
    """Read ``cities.json`` under ``data_root`` and return the cities by slug."""
    with open(data_root / CITIES_FILE, encoding="utf-8") as handle:
        entries = json.load(handle)
    cities = {}
    for entry in entries:
        bbox = entry["bbox"]
        cities[entry["slug"]] = City(
            slug=entry["slug"],
            name=entry["name"],
            time_zone=entry["time_zone"],
            bbox=BBox(
                bbox["min_lat"], bbox["min_lon"], bbox["max_lat"], bbox["max_lon"]
            ),
            service_area_margin_km=float(entry["service_area_margin_km"]),
            boundary_file=entry["boundary_file"],
        )
    return cities


def load_interest_slugs(data_root: Path) -> list[str]:
    """Read ``interests.json`` under ``data_root`` and return its slugs in order."""
    with open(data_root / INTERESTS_FILE, encoding="utf-8") as handle:
        entries = json.load(handle)
    slugs = [entry["slug"] for entry in entries]
    if len(set(slugs)) != len(slugs):
        raise MappingError(f"{data_root / INTERESTS_FILE} repeats an interest slug")
    return slugs
