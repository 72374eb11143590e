"""Turn catalog documents into search documents, and search hits back into results."""

import math

EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = (math.sin(dphi / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def opportunity_document(opportunity: dict) -> dict:
    """Build the indexed form of a catalog opportunity (kept whole in ``document``)."""
    ages = None
    if opportunity.get("min_age") is not None or opportunity.get("max_age") is not None:
        ages = {"gte": opportunity.get("min_age") or 0,
                "lte": opportunity.get("max_age") if opportunity.get("max_age")
                is not None else 120}
    dates = None
    if opportunity.get("start_date"):
        dates = {"gte": opportunity["start_date"]}
        if opportunity.get("end_date"):
            dates["lte"] = opportunity["end_date"]
    cost = opportunity.get("cost") or {}
    locations = opportunity.get("locations") or []
    title = opportunity["title"]
    return {
        "id": opportunity["id"],
        "city": opportunity["city"],
        "status": opportunity["status"],
        "version": opportunity["version"],
        "title": title,
        "title_suggest": {"input": [title[:100]]},
        "description": opportunity.get("description") or "",
        "provider": (opportunity.get("provider") or {}).get("name") or "",
        "interests": opportunity.get("interests") or [],
        "tags": opportunity.get("tags") or [],
        "format": opportunity.get("format"),
        "locations": [{"lat": item["lat"], "lon": item["lon"]} for item in locations],
        "location_names": " ".join(
            filter(None, (item.get("name") or item.get("address") for item in locations))
        ),
        "ages": ages,
        "dates": dates,
        "start_date": opportunity.get("start_date"),
        "free": cost.get("free"),
        "cost_label": cost.get("label"),
        "document": opportunity,
    }


def nearest_location(locations: list[dict], lat: float, lon: float):
    """Return (location, distance in km) of the location nearest to the point."""
    best = None
    for location in locations:
        distance = haversine_km(lat, lon, location["lat"], location["lon"])
        if best is None or distance < best[1]:
            best = (location, distance)
    return best


def with_distance(result: dict, locations: list[dict], lat, lon) -> dict:
    """Add ``distance`` (km and miles, to the nearest location) to a result."""
    if lat is None or not locations:
        result["distance"] = None
        return result
    location, km = nearest_location(locations, lat, lon)
    result["distance"] = {"km": round(km, 3), "miles": round(km / KM_PER_MILE, 3),
                          "location": location}
    return result
