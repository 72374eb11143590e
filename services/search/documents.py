"""Turn catalog documents into search documents, and search hits back into results."""

import math
import re

EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344

# Fields of the catalog document that search results leave out: moderators'
# notes are internal to the catalog.
PRIVATE_FIELDS = ("review_notes",)

# The completion field rejects these separator characters in its inputs.
_COMPLETION_RESERVED = re.compile("[\u0000\u001e\u001f]")
_WORD = re.compile(r"\w+")
MAX_SUGGEST_INPUTS = 8
MAX_SUGGEST_INPUT_LENGTH = 100
# The ``free`` field is unset when the catalog does not know the cost.
FREE_BY_BAND = {"free": True, "paid": False, "unknown": None}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = (math.sin(dphi / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def opportunity_document(opportunity: dict) -> dict:
    """Build the indexed form of a catalog opportunity at its version.

    A published opportunity is indexed whole. Any other status becomes a tombstone
    that keeps only the id, status and version: it matches no query and feeds no
    suggestion, but its version makes Elasticsearch reject an older event.
    """
    if opportunity["status"] != "published":
        return tombstone(opportunity)
    cost = opportunity.get("cost") or {}
    locations = opportunity.get("locations") or []
    sessions = session_ranges(opportunity)
    return {
        "id": opportunity["id"],
        "city": opportunity["city"],
        "status": opportunity["status"],
        "version": opportunity["version"],
        "title": opportunity["title"],
        "description": opportunity.get("description") or "",
        "provider": (opportunity.get("provider") or {}).get("name") or "",
        "location_names": " ".join(
            filter(None, (item.get("name") or item.get("address") for item in locations))
        ),
        "interests": opportunity.get("interests") or [],
        "skills": opportunity.get("skills") or [],
        "tags": opportunity.get("tags") or [],
        "languages": language_codes(opportunity.get("languages")),
        "accessibility": opportunity.get("accessibility") or [],
        "accessibility_notes": opportunity.get("accessibility_notes") or "",
        "format": opportunity.get("format"),
        "locations": [{"lat": item["lat"], "lon": item["lon"]} for item in locations],
        "ages": age_range(opportunity),
        "sessions": sessions or None,
        "registration": registration_range(opportunity),
        "start_date": min((item["gte"] for item in sessions if "gte" in item),
                          default=None),
        "free": FREE_BY_BAND[cost_band(cost)],
        "cost": cost_band(cost),
        "cost_label": cost.get("label"),
        "title_suggest": title_inputs(opportunity["title"]),
        "interest_suggest": {"input": interest_inputs(opportunity.get("interests"))},
        "document": {key: value for key, value in opportunity.items()
                     if key not in PRIVATE_FIELDS},
    }


def tombstone(opportunity: dict) -> dict:
    return {"id": opportunity["id"], "city": opportunity["city"],
            "status": opportunity["status"], "version": opportunity["version"]}


def age_range(opportunity: dict) -> dict | None:
    """Return the ``integer_range`` of ages; a missing bound leaves that side open."""
    low, high = opportunity.get("min_age"), opportunity.get("max_age")
    if low is None and high is None:
        return None
    ages = {}
    if low is not None:
        ages["gte"] = low
    if high is not None:
        ages["lte"] = high
    return ages


def session_ranges(opportunity: dict) -> list[dict]:
    """Return one ``date_range`` per session, in the city's local dates.

    A catalog session is ``{"start": "2026-07-06T10:00", "end": ..., "rrule": ...}``.
    A recurring session spans from its first start to the opportunity's
    ``end_date``, which the catalog derives from the last occurrence, so the range
    covers the days between occurrences too. Without sessions, ``start_date`` and
    ``end_date`` give the one range.
    """
    ranges = []
    for session in opportunity.get("sessions") or []:
        end = opportunity.get("end_date") if session.get("rrule") else session.get("end")
        ranges.append(_date_bounds(session.get("start"), end))
    if not ranges:
        ranges.append(_date_bounds(opportunity.get("start_date"),
                                   opportunity.get("end_date")))
    return [item for item in ranges if item]


def registration_range(opportunity: dict) -> dict:
    """Return the local dates when registration is open, as a ``date_range``.

    Registration closes on ``registration.closes``, else on the opportunity's last
    day. A bound that the catalog does not know stays open, so an opportunity
    without dates counts as open for registration.
    """
    window = opportunity.get("registration") or {}
    return _date_bounds(window.get("opens"),
                        window.get("closes") or opportunity.get("end_date"))


def language_codes(tags) -> list[str]:
    """Return lowercased BCP 47 tags and their primary language ("es-MX": es-mx, es)."""
    codes = []
    for tag in tags or []:
        for code in (tag.lower(), tag.split("-")[0].lower()):
            if code not in codes:
                codes.append(code)
    return codes


def _date_bounds(start, end) -> dict:
    """Return ``{"gte": ..., "lte": ...}`` from ISO dates or local date-times."""
    bounds = {}
    if start:
        bounds["gte"] = str(start)[:10]
    if end:
        bounds["lte"] = str(end)[:10]
    return bounds


def cost_band(cost: dict) -> str:
    """Return the cost facet's value: ``free``, ``paid`` or ``unknown``."""
    if cost.get("free"):
        return "free"
    if cost.get("free") is False or (cost.get("amount") or 0) > 0:
        return "paid"
    return "unknown"


def word_suffixes(text: str) -> list[str]:
    """Return the text and each tail of it that starts at a word, for prefix matching.

    The completion suggester matches from the start of an input, so "Teen Magazine"
    is added for "Urban Teen Magazine" to let the prefix "mag" find it.
    """
    text = _COMPLETION_RESERVED.sub(" ", text).strip()
    starts = [match.start() for match in _WORD.finditer(text)]
    inputs = []
    for start in starts[:MAX_SUGGEST_INPUTS]:
        tail = text[start:][:MAX_SUGGEST_INPUT_LENGTH].strip()
        if tail and tail not in inputs:
            inputs.append(tail)
    return inputs


def title_inputs(title: str) -> list[dict]:
    """Return the title's completion inputs; the whole title outranks its tails."""
    inputs = word_suffixes(title)
    if not inputs:
        return []
    weighted = [{"input": [inputs[0]], "weight": 2}]
    if inputs[1:]:
        weighted.append({"input": inputs[1:], "weight": 1})
    return weighted


def interest_inputs(interests) -> list[str]:
    """Return completion inputs for interest slugs: each slug and its word tails."""
    inputs = []
    for slug in interests or []:
        words = slug.split("-")
        for position in range(len(words)):
            tail = "-".join(words[position:])
            if tail not in inputs:
                inputs.append(tail)
    return inputs


def interests_matching(suggestion_text: str, interests: list[str]) -> list[str]:
    """Return the slugs of ``interests`` that a matched completion input came from."""
    return [slug for slug in interests
            if slug == suggestion_text or slug.endswith(f"-{suggestion_text}")]


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
