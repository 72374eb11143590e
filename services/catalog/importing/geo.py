"""Bounding boxes from GeoJSON and the coordinate checks of the import."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

# Mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088

MISSING_VALUES = frozenset({"", "null", "none", "n/a", "#n/a"})


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box in WGS84 degrees."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        """Return True if the point lies inside the box or on its edge."""
        return (
            self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon
        )

    def centre(self) -> tuple[float, float]:
        """Return the midpoint of the box as (lat, lon)."""
        return (
            (self.min_lat + self.max_lat) / 2,
            (self.min_lon + self.max_lon) / 2,
        )

    def distance_outside_km(self, lat: float, lon: float) -> float:
        """Return the great-circle distance from the point to the box, 0 inside."""
        nearest_lat = min(max(lat, self.min_lat), self.max_lat)
        nearest_lon = min(max(lon, self.min_lon), self.max_lon)
        return haversine_km(lat, lon, nearest_lat, nearest_lon)

    def as_dict(self) -> dict[str, float]:
        return {
            "min_lat": self.min_lat,
            "min_lon": self.min_lon,
            "max_lat": self.max_lat,
            "max_lon": self.max_lon,
        }


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points, in kilometres."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = math.radians(lat2 - lat1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = (
        math.sin(half_dphi) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _positions(coordinates: Any) -> Iterator[tuple[float, float]]:
    """Yield every (lon, lat) position of a GeoJSON coordinates array."""
    if coordinates and isinstance(coordinates[0], (int, float)):
        yield coordinates[0], coordinates[1]
        return
    for part in coordinates:
        yield from _positions(part)


def compute_bbox(geojson_path: Path) -> BBox:
    """Compute the bounding box of every geometry in a GeoJSON file.

    Accepts a FeatureCollection, a single Feature or a bare geometry. Raises
    ValueError if the file contains no positions.
    """
    with open(geojson_path, encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("type") == "FeatureCollection":
        geometries = [feature["geometry"] for feature in document["features"]]
    elif document.get("type") == "Feature":
        geometries = [document["geometry"]]
    else:
        geometries = [document]

    lats: list[float] = []
    lons: list[float] = []
    for geometry in geometries:
        for lon, lat in _positions(geometry["coordinates"]):
            lons.append(lon)
            lats.append(lat)
    if not lats:
        raise ValueError(f"{geojson_path} contains no coordinates")
    return BBox(min(lats), min(lons), max(lats), max(lons))


@dataclass(frozen=True)
class ServiceArea:
    """A city's bounding box plus the margin that still counts as its area."""

    bbox: BBox
    margin_km: float

    def contains(self, lat: float, lon: float) -> bool:
        """Return True if the point is at most ``margin_km`` outside the box."""
        return self.bbox.distance_outside_km(lat, lon) <= self.margin_km


class CoordinateStatus(Enum):
    """Outcome of checking one latitude/longitude pair against a service area."""

    OK = "ok"
    MISSING = "missing"
    PARTIAL = "partial"
    INVALID = "invalid"
    SWAPPED = "swapped"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class CoordinateCheck:
    """A checked coordinate pair: its status, the parsed values and why."""

    status: CoordinateStatus
    lat: float | None = None
    lon: float | None = None
    detail: str = ""


def _parse_degrees(text: str) -> float | None:
    if text.strip().lower() in MISSING_VALUES:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def check_coordinates(
    lat_text: str, lon_text: str, area: ServiceArea
) -> CoordinateCheck:
    """Parse a latitude/longitude pair and place it relative to ``area``.

    A pair that lies outside the area but would lie inside it with latitude
    and longitude exchanged is SWAPPED; (0, 0) is INVALID.
    """
    try:
        lat = _parse_degrees(lat_text)
        lon = _parse_degrees(lon_text)
    except ValueError:
        return CoordinateCheck(
            CoordinateStatus.INVALID, detail="latitude or longitude is not a number"
        )
    if lat is None and lon is None:
        return CoordinateCheck(CoordinateStatus.MISSING)
    if lat is None or lon is None:
        present = "latitude" if lat is not None else "longitude"
        return CoordinateCheck(
            CoordinateStatus.PARTIAL, lat, lon, detail=f"only the {present} is given"
        )
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        if -90 <= lon <= 90 and area.contains(lon, lat):
            return CoordinateCheck(
                CoordinateStatus.SWAPPED,
                lat,
                lon,
                "latitude and longitude look swapped",
            )
        return CoordinateCheck(
            CoordinateStatus.INVALID, lat, lon, "latitude or longitude is out of range"
        )
    if lat == 0 and lon == 0:
        return CoordinateCheck(
            CoordinateStatus.INVALID, lat, lon, "(0, 0) is a missing-value placeholder"
        )
    if area.contains(lat, lon):
        return CoordinateCheck(CoordinateStatus.OK, lat, lon)
    if area.contains(lon, lat):
        return CoordinateCheck(
            CoordinateStatus.SWAPPED, lat, lon, "latitude and longitude look swapped"
        )
    distance = area.bbox.distance_outside_km(lat, lon)
    return CoordinateCheck(
        CoordinateStatus.OUTSIDE,
        lat,
        lon,
        f"{distance:.0f} km outside the city's bounding box "
        f"(limit {area.margin_km:g} km)",
    )
