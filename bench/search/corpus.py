"""Build the search benchmark's corpus: copies of the real programme rows.

The real data has about 8,800 published programmes (Chicago 2,541, Dallas 6,076,
Washington D.C. 159) and none in Pittsburgh. The corpus repeats them until each of
the four cities has ``per_city`` opportunities. Every copy gets its own id, its
locations moved by up to ``JITTER_METRES`` in a random direction, and its dates
shifted by a random whole number of weeks within ``DATE_SHIFT_WEEKS``. Pittsburgh's
copies take their text from the other three cities' rows and their locations from
Pittsburgh's real provider sites. Everything else (titles, descriptions,
providers, interests, ages, costs) is the real row's.

The copies are written straight into the benchmark namespace's per-city indexes
with the search service's own document mapping. They never pass through the
catalog, so the platform's data is never touched.
"""

import math
import random
from datetime import date, timedelta
from pathlib import Path

from services.catalog.importing import load_all
from services.search.storage import SearchStore

DATA = Path(__file__).resolve().parents[2] / "data"
CITIES = ["chicago", "dallas", "pittsburgh", "washington-dc"]
JITTER_METRES = 300
DATE_SHIFT_WEEKS = 8
BULK_SIZE = 2000
METRES_PER_DEGREE = 111_320


def real_rows() -> tuple[dict[str, list[dict]], list[dict]]:
    """Return the published programme rows by city, and Pittsburgh's site locations."""
    programmes: dict[str, list[dict]] = {}
    pittsburgh_sites = []
    for result in load_all(DATA / "mappings"):
        if result.kind == "opportunities":
            rows = [row for row in result.documents if row.get("status") == "published"]
            programmes.setdefault(result.city, []).extend(rows)
        elif result.city == "pittsburgh":
            for organization in result.documents:
                pittsburgh_sites.extend(organization.get("locations") or [])
    return programmes, pittsburgh_sites


def jitter_location(location: dict, rng: random.Random) -> dict:
    distance = JITTER_METRES * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / METRES_PER_DEGREE
    dlon = distance * math.sin(bearing) / (
        METRES_PER_DEGREE * math.cos(math.radians(location["lat"])))
    return {**location, "lat": round(location["lat"] + dlat, 6),
            "lon": round(location["lon"] + dlon, 6)}


def shift_date(value, days: int):
    if not value:
        return value
    return (date.fromisoformat(str(value)[:10]) + timedelta(days=days)).isoformat()


def copy_row(row: dict, city: str, number: int, rng: random.Random,
             sites: list[dict] | None = None) -> dict:
    """Return one published opportunity copied from a real row."""
    days = 7 * rng.randint(-DATE_SHIFT_WEEKS, DATE_SHIFT_WEEKS)
    locations = row.get("locations") or []
    if sites and locations:
        locations = [{**rng.choice(sites), "name": None} for _ in locations]
    copy = {key: value for key, value in row.items() if key not in ("source_id",)}
    copy.update({
        "id": f"bench-{city}-{number:06d}",
        "city": city,
        "status": "published",
        "version": 1,
        "source": f"bench-copy-of-{row['source']}",
        "locations": [jitter_location(item, rng) for item in locations],
        "start_date": shift_date(row.get("start_date"), days),
        "end_date": shift_date(row.get("end_date"), days),
    })
    return copy


def corpus(per_city: int, seed: int = 2026):
    """Yield (city, opportunity) for ``per_city`` copies in each of the four cities."""
    rng = random.Random(seed)
    programmes, pittsburgh_sites = real_rows()
    every_row = [row for rows in programmes.values() for row in rows]
    for city in CITIES:
        rows = programmes.get(city) or every_row
        sites = pittsburgh_sites if city == "pittsburgh" else None
        for number in range(per_city):
            row = rows[number % len(rows)]
            yield city, copy_row(row, city, number, rng, sites)


def build(store: SearchStore, per_city: int) -> dict:
    """Index the corpus into each city's alias; return documents per city."""
    counts = {city: 0 for city in CITIES}
    batches: dict[str, list[dict]] = {city: [] for city in CITIES}
    for city in CITIES:
        store.ensure_city(city)
        store.client.indices.put_settings(index=store.alias("opportunities", city),
                                          settings={"refresh_interval": "-1"})
    for city, opportunity in corpus(per_city):
        batch = batches[city]
        batch.append(opportunity)
        if len(batch) >= BULK_SIZE:
            counts[city] += store.bulk_index(store.alias("opportunities", city),
                                             batch)["indexed"]
            batch.clear()
    for city, batch in batches.items():
        if batch:
            counts[city] += store.bulk_index(store.alias("opportunities", city),
                                             batch)["indexed"]
        alias = store.alias("opportunities", city)
        store.client.indices.put_settings(index=alias,
                                          settings={"refresh_interval": None})
        store.client.indices.refresh(index=alias)
    return counts
