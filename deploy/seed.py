"""Onboard the seed cities and import their real data through the catalog service.

Writes ``<var>/import-report.json`` (every rejected row with its reason) and
prints a summary per source; then waits until search has indexed what the catalog
published, so a search right after ``deploy/up`` finds everything.
"""

import json
import logging
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common.events import CitySchema
from services.catalog.importing import load_all

logger = logging.getLogger("seed")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
BATCH_SIZE = 500
CITY_FIELDS = set(CitySchema().fields)


def seed_cities() -> list[dict]:
    """Return the seed cities of ``data/cities.json`` in ``CitySchema`` form."""
    cities = json.loads((DATA / "cities.json").read_text())
    return [{key: value for key, value in city.items() if key in CITY_FIELDS}
            for city in cities]


def onboard(amqp_uri: str, cities: list[dict]) -> None:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}) as rpc:
        for city in cities:
            rpc.catalog.onboard_city(city)
            logger.info("onboarded %s", city["slug"])


def import_result(amqp_uri: str, result) -> dict:
    """Send one source's documents to the catalog in batches; return its report."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    rejected = [asdict(item) for item in result.rejected]
    with ClusterRpcProxy({"AMQP_URI": amqp_uri},
                         context_data={"city": result.city}) as rpc:
        for start in range(0, len(result.documents), BATCH_SIZE):
            batch = result.documents[start:start + BATCH_SIZE]
            outcome = rpc.catalog.import_records(result.kind, batch)
            for key in counts:
                counts[key] += outcome[key]
            for item in outcome["rejected"]:
                rejected.append({"source": result.source, "source_id": item["source_id"],
                                 "reason_code": "invalid_document",
                                 "reason": json.dumps(item["errors"])})
    # Only published opportunities are searchable. Sources mark the others
    # (awaiting approval, withdrawn, no location) with another status.
    by_status = Counter(document["status"] for document in result.documents
                        if document.get("status"))
    return {**result.summary(), **counts, "rejected": len(rejected),
            "documents_by_status": dict(sorted(by_status.items())),
            "rejected_rows": rejected,
            "warnings_rows": [asdict(item) for item in result.warnings]}


def wait_indexed(gateway_url: str, amqp_uri: str, cities: list[dict],
                 timeout: float = 300.0) -> dict:
    """Wait until each city's search index holds every published opportunity."""
    expected = {}
    for city in cities:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri},
                             context_data={"city": city["slug"]}) as scoped:
            expected[city["slug"]] = scoped.catalog.count_opportunities("published")
    deadline = time.monotonic() + timeout
    while True:
        indexed = {slug: requests.get(f"{gateway_url}/v1/cities/{slug}/index",
                                      timeout=10).json()
                   for slug in expected}
        if all(indexed[slug]["opportunities"] >= count
               for slug, count in expected.items()):
            return indexed
        if time.monotonic() > deadline:
            raise TimeoutError(f"search indexed {indexed}, expected {expected}")
        time.sleep(1)


def seed(env: dict, gateway_url: str, var_dir: Path) -> dict:
    """Onboard, import and wait; return the report written to ``import-report.json``."""
    amqp_uri = env["AMQP_URI"]
    cities = seed_cities()
    onboard(amqp_uri, cities)
    sources = []
    for result in load_all(DATA / "mappings"):
        report = import_result(amqp_uri, result)
        sources.append(report)
        logger.info(
            "%-38s %-14s read %5s, created %5s, updated %4s, unchanged %5s, "
            "merged %4s, rejected %4s", report["source"], report["city"],
            report["rows_read"], report["created"], report["updated"],
            report["unchanged"], report["merged_rows"], report["rejected"],
        )
        if report["documents_by_status"]:
            logger.info("%-38s %-14s by status: %s", "", "", ", ".join(
                f"{status} {count}" for status, count in report["documents_by_status"].items()))
    indexed = wait_indexed(gateway_url, amqp_uri, cities)
    report = {"sources": sources, "indexed": indexed}
    path = var_dir / "import-report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    logger.info("every rejected row and its reason: %s", path)
    return report
