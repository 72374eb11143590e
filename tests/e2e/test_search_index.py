"""The search index follows the catalog: stale events, withdrawal, rebuild, resync.

Changes reach search as they do in production, imported through the catalog over
RPC, which publishes the events. Versions the catalog would never send (an older
copy, a replay) are published straight to the namespace's RabbitMQ as the
catalog's events.
"""

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pymongo
import pytest
import requests
from elasticsearch import Elasticsearch
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common import events
from services.search.storage import SearchStore

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# One place per city for the records these tests create. Their ages (6 to 9)
# keep them out of the age=14 searches that the journeys register from.
PLACES = {
    "dallas": {"name": "North Dallas Branch", "address": "1 Test St",
               "lat": 32.98, "lon": -96.80},
    "chicago": {"name": "Edgewater Branch", "address": "6000 N Broadway",
                "lat": 41.9906, "lon": -87.6607},
    "washington-dc": {"name": "MLK Library", "address": "901 G St NW",
                      "lat": 38.8986, "lon": -77.0251},
}
WAIT_SECONDS = 120


def wait_until(condition, timeout=WAIT_SECONDS, interval=0.25, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {message}")


def search(platform, city, **params):
    response = requests.get(f"{platform['url']}/v1/cities/{city}/opportunities",
                            params=params, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def titled(platform, city, token):
    """Return the published results whose text matches ``token``, by id."""
    body = search(platform, city, q=token, page_size=50, facets="false")
    return {item["id"]: item for item in body["results"] if token in item["title"]}


def record(token, source_id, city="dallas", **changes):
    """Return a catalog import record in ``city`` titled with ``token``."""
    return {"source": "e2e-search", "source_id": source_id, "city": city,
            "title": f"{token} Robotics Lab", "description": "Build and program robots.",
            "provider": {"name": "E2E Search Partner"}, "interests": ["coding-games"],
            "format": "in_person", "locations": [PLACES[city]],
            "min_age": 6, "max_age": 9, "start_date": "2026-07-06",
            "end_date": "2026-07-31", "cost": {"free": True, "label": "Free"},
            "status": "published", **changes}


def import_records(namespace, city, records):
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": city}) as rpc:
        outcome = rpc.catalog.import_records("opportunities", records)
    assert not outcome["rejected"], outcome["rejected"]
    return outcome


def catalog_record(namespace, city, opportunity_id):
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": city}) as rpc:
        return rpc.catalog.get_opportunity(opportunity_id)


def catalog_published_count(namespace, city):
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": city}) as rpc:
        return rpc.catalog.count_opportunities("published")


def event_opportunity(token, version, status="published", city="dallas", **changes):
    """Return an opportunity as the catalog puts it in its events."""
    return {"id": f"opp-e2e-{token.lower()}", "city": city, "status": status,
            "version": version, "title": f"{token} Robotics Lab",
            "description": "Build and program robots.",
            "provider": {"name": "E2E Search Partner"}, "interests": ["coding-games"],
            "format": "in_person",
            "locations": [PLACES[city]],
            "min_age": 6, "max_age": 9, "start_date": "2026-07-06",
            "end_date": "2026-07-31", "cost": {"free": True}, **changes}


class CatalogEvents:
    """Publish catalog events to the namespace's broker and wait until search
    has processed them, as recorded in its event inbox.

    Then refresh the city's indexes, so the next search sees the outcome at once
    rather than after Elasticsearch's one-second refresh.
    """

    HANDLERS = {events.OPPORTUNITY_PUBLISHED: "handle_opportunity_published",
                events.OPPORTUNITY_UPDATED: "handle_opportunity_updated",
                events.OPPORTUNITY_WITHDRAWN: "handle_opportunity_withdrawn"}

    def __init__(self, namespace):
        self.dispatch = event_dispatcher({"AMQP_URI": namespace.amqp_uri})
        self.elasticsearch = Elasticsearch(namespace.settings.es_url)
        self.prefix = namespace.settings.es_prefix()
        client = pymongo.MongoClient(namespace.settings.mongo_url)
        self.inbox = client[namespace.settings.mongo_database("search")][
            "processed_events"]

    def publish(self, event_type, opportunity, event_id=None):
        envelope = events.make_event(
            event_type, opportunity["city"],
            {"opportunity": opportunity, "version": opportunity["version"]},
            event_id=event_id)
        self.dispatch("catalog", event_type, envelope)
        key = f"{envelope['event_id']}:{self.HANDLERS[event_type]}"
        wait_until(lambda: self.inbox.count_documents({"_id": key}) > 0,
                   message=f"search to process {event_type} {envelope['event_id']}")
        self.elasticsearch.indices.refresh(
            index=f"{self.prefix}opportunities-{opportunity['city']}*")
        return envelope


@pytest.fixture(scope="module")
def catalog_events(namespace, platform):
    return CatalogEvents(namespace)


@pytest.fixture(scope="module")
def store(namespace):
    return SearchStore(Elasticsearch(namespace.settings.es_url),
                       namespace.settings.es_prefix())


def run_admin(namespace, *args, timeout=300):
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "services.search.admin", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_stale_event_never_overwrites_newer(platform, catalog_events):
    token = f"Stalebot{uuid.uuid4().hex[:6]}"
    current = event_opportunity(token, 3, description="Version three.")
    first = catalog_events.publish(events.OPPORTUNITY_PUBLISHED, current)
    found = wait_until(lambda: titled(platform, "dallas", token),
                       message=f"{token} to be searchable")
    assert found[current["id"]]["version"] == 3

    older = event_opportunity(token, 2, title=f"{token} Old Title")
    catalog_events.publish(events.OPPORTUNITY_UPDATED, older)
    assert titled(platform, "dallas", token)[current["id"]]["version"] == 3
    assert not titled(platform, "dallas", "Old Title")

    # The same version again under a new event id, and the first event replayed.
    catalog_events.publish(events.OPPORTUNITY_UPDATED,
                           event_opportunity(token, 3, description="Replayed."))
    catalog_events.publish(events.OPPORTUNITY_PUBLISHED, current,
                           event_id=first["event_id"])
    result = titled(platform, "dallas", token)[current["id"]]
    assert result["description"] == "Version three."

    newer = event_opportunity(token, 4, description="Version four.")
    catalog_events.publish(events.OPPORTUNITY_UPDATED, newer)
    assert titled(platform, "dallas", token)[current["id"]]["version"] == 4


def test_withdrawn_opportunity_disappears(platform, namespace, catalog_events):
    token = f"Withdrawbot{uuid.uuid4().hex[:6]}"
    source_id = f"withdraw-{token}"
    import_records(namespace, "dallas", [record(token, source_id)])
    found = wait_until(lambda: titled(platform, "dallas", token),
                       message=f"{token} to be searchable")
    (opportunity_id, published), = found.items()
    url = platform["url"]
    suggestions = requests.get(f"{url}/v1/cities/dallas/autocomplete",
                               params={"prefix": token.lower()}, timeout=15).json()
    assert [item["id"] for item in suggestions["titles"]] == [opportunity_id]

    import_records(namespace, "dallas", [record(token, source_id, status="withdrawn")])
    wait_until(lambda: not titled(platform, "dallas", token),
               message=f"{token} to leave the results")
    suggestions = requests.get(f"{url}/v1/cities/dallas/autocomplete",
                               params={"prefix": token.lower()}, timeout=15).json()
    assert suggestions["titles"] == []
    related = requests.get(f"{url}/v1/cities/dallas/opportunities/{opportunity_id}"
                           "/related", timeout=15)
    assert related.status_code == 404

    # The published event of the earlier version, delivered late, changes nothing.
    catalog_events.publish(events.OPPORTUNITY_PUBLISHED, published)
    assert not titled(platform, "dallas", token)


def test_later_pages_share_point_in_time(platform, catalog_events):
    """From the second page on, pages come from one point in time: an opportunity
    withdrawn meanwhile still fills its place, so no result moves between pages."""
    token = f"Pitbot{uuid.uuid4().hex[:6]}"
    published = [event_opportunity(token, 1, id=f"opp-e2e-{token.lower()}-{n}",
                                   start_date=f"2026-07-0{n}")
                 for n in range(1, 5)]
    for opportunity in published:
        catalog_events.publish(events.OPPORTUNITY_PUBLISHED, opportunity)
    query = {"q": token, "sort": "start_date", "page_size": 1, "facets": "false"}
    first = search(platform, "dallas", **query)
    second = search(platform, "dallas", **query, cursor=first["next_cursor"])
    assert [first["total"], second["total"]] == [4, 4]

    last = published[-1]
    catalog_events.publish(events.OPPORTUNITY_WITHDRAWN,
                           {**last, "status": "withdrawn", "version": 2})
    assert search(platform, "dallas", **query)["total"] == 3

    pages, cursor = [first, second], second["next_cursor"]
    while cursor:
        pages.append(search(platform, "dallas", **query, cursor=cursor))
        cursor = pages[-1]["next_cursor"]
    assert [page["results"][0]["id"] for page in pages if page["results"]] == \
        [opportunity["id"] for opportunity in published]
    assert {page["total"] for page in pages[1:]} == {4}


def test_cursor_rejected_elsewhere_or_edited(platform):
    query = {"page_size": 2, "facets": "false"}
    cursor = search(platform, "dallas", **query)["next_cursor"]
    second = search(platform, "dallas", **query, cursor=cursor)["next_cursor"]
    url = platform["url"]
    payload, _, mac = second.rpartition(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered["after"][1] = "opp-0"
    forged = base64.urlsafe_b64encode(json.dumps(tampered).encode()).decode().rstrip("=")
    for city, value in [("chicago", cursor), ("chicago", second),
                        ("dallas", f"{forged}.{mac}"), ("dallas", payload)]:
        response = requests.get(f"{url}/v1/cities/{city}/opportunities",
                                params={**query, "cursor": value}, timeout=15)
        assert response.status_code == 400, (city, response.text)
        assert "cursor" in response.json()["errors"]
    other_query = requests.get(f"{url}/v1/cities/dallas/opportunities",
                               params={**query, "q": "robotics", "cursor": cursor},
                               timeout=15)
    assert other_query.status_code == 400, other_query.text
    assert "cursor" in other_query.json()["errors"]


def test_rebuild_staging_receives_events(platform, store, catalog_events):
    index = store.indexes.begin_rebuild("dallas")
    try:
        token = f"Stagebot{uuid.uuid4().hex[:6]}"
        opportunity = event_opportunity(token, 1)
        catalog_events.publish(events.OPPORTUNITY_PUBLISHED, opportunity)
        staged = store.client.get(index=index, id=opportunity["id"])
        assert staged["_source"]["title"] == opportunity["title"]
        assert staged["_version"] == 1
        assert titled(platform, "dallas", token)
    finally:
        store.indexes.abandon_rebuild(index)
    assert not store.client.indices.exists_alias(name=store.indexes.staging_alias("dallas"))


def test_rebuild_keeps_answering_searches(platform, namespace, store):
    city = "chicago"
    alias = store.alias("opportunities", city)
    before_indexes = store.indexes.indexes_behind(alias)
    query = {"interests": "storytelling", "page_size": 5}
    expected_total = search(platform, city, **query)["total"]
    assert expected_total > 0
    token = f"Rebuildbot{uuid.uuid4().hex[:6]}"
    outcomes, stop = [], threading.Event()

    def keep_searching():
        while not stop.is_set():
            response = requests.get(f"{platform['url']}/v1/cities/{city}/opportunities",
                                    params=query, timeout=15)
            total = response.json().get("total") if response.ok else None
            outcomes.append((response.status_code, total))

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT)}
        rebuild = subprocess.Popen(
            [sys.executable, "-m", "services.search.admin", "rebuild", city],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        # A change made while the rebuild runs must survive the swap.
        import_records(namespace, city, [record(token, f"rebuild-{token}", city)])
        stdout, stderr = rebuild.communicate(timeout=300)
    finally:
        stop.set()
        searcher.join(timeout=30)
    assert rebuild.returncode == 0, stderr
    assert len(outcomes) > 5
    assert all(status == 200 for status, _ in outcomes), set(outcomes)
    assert {total for _, total in outcomes} == {expected_total}

    after_indexes = store.indexes.indexes_behind(alias)
    assert len(after_indexes) == 1
    assert after_indexes != before_indexes
    for old in before_indexes:
        assert not store.client.indices.exists(index=old)
    assert not store.client.indices.exists_alias(name=store.indexes.staging_alias(city))
    wait_until(lambda: titled(platform, city, token),
               message=f"{token}, imported during the rebuild, to be searchable")
    counts = requests.get(f"{platform['url']}/v1/cities/{city}/index", timeout=15).json()
    assert counts["opportunities"] == catalog_published_count(namespace, city)


def test_rebuild_refuses_second_concurrent_run(namespace, store):
    index = store.indexes.begin_rebuild("pittsburgh")
    try:
        result = run_admin(namespace, "rebuild", "pittsburgh")
        assert result.returncode == 1
        assert "--discard-stale" in result.stderr
        result = run_admin(namespace, "rebuild", "pittsburgh", "--discard-stale")
        assert result.returncode == 0, result.stderr
    finally:
        store.client.indices.delete(index=index, ignore_unavailable=True)
    alias = store.alias("opportunities", "pittsburgh")
    assert len(store.indexes.indexes_behind(alias)) == 1


def test_resync_restores_lost_index(platform, namespace, store, catalog_events):
    city = "washington-dc"
    alias = store.alias("opportunities", city)
    expected = catalog_published_count(namespace, city)
    assert expected > 0
    for index in store.indexes.indexes_behind(alias):
        store.client.indices.delete(index=index)

    lost = requests.get(f"{platform['url']}/v1/cities/{city}/opportunities", timeout=15)
    assert lost.status_code == 503
    assert "resync" in lost.json()["detail"]

    # An import while the index is missing recreates it with that one change.
    token = f"Resyncbot{uuid.uuid4().hex[:6]}"
    import_records(namespace, city, [record(token, f"resync-{token}", city)])

    def recreated():
        response = requests.get(f"{platform['url']}/v1/cities/{city}/opportunities",
                                params={"q": token}, timeout=15)
        return response.status_code == 200 and response.json()["total"] == 1

    wait_until(recreated, message=f"{token} to be indexed into the recreated index")
    found = titled(platform, city, token)
    assert search(platform, city, facets="false")["total"] == 1
    (opportunity_id, _), = found.items()

    result = run_admin(namespace, "resync", city)
    assert result.returncode == 0, result.stderr
    assert search(platform, city, facets="false")["total"] == expected + 1
    assert titled(platform, city, token)[opportunity_id]["version"] == \
        catalog_record(namespace, city, opportunity_id)["version"]


def test_resync_removes_what_catalog_lacks(platform, namespace, catalog_events):
    city = "washington-dc"
    token = f"Orphanbot{uuid.uuid4().hex[:6]}"
    catalog_events.publish(events.OPPORTUNITY_PUBLISHED,
                           event_opportunity(token, 1, city=city))
    assert titled(platform, city, token)

    result = run_admin(namespace, "resync", city)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["removed"] >= 1
    assert not titled(platform, city, token)


def test_resync_keeps_changes_made_meanwhile(platform, namespace):
    city = "washington-dc"
    token = f"Busybot{uuid.uuid4().hex[:6]}"
    source_id = f"busy-{token}"
    import_records(namespace, city, [record(token, source_id, city)])
    (opportunity_id, _), = wait_until(lambda: titled(platform, city, token),
                                      message=f"{token} to be searchable").items()
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT)}
    resync = subprocess.Popen([sys.executable, "-m", "services.search.admin", "resync",
                               city], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    # At least one change, then more for as long as the resync runs.
    for revision in range(1, 41):
        import_records(namespace, city, [record(
            token, source_id, city, description=f"Revision {revision}.")])
        if resync.poll() is not None:
            break
    stdout, stderr = resync.communicate(timeout=300)
    assert resync.returncode == 0, stderr
    latest = catalog_record(namespace, city, opportunity_id)
    assert latest["description"] == f"Revision {revision}."
    wait_until(lambda: titled(platform, city, token)[opportunity_id]["version"]
               == latest["version"], message=f"{token} at version {latest['version']}")
    assert titled(platform, city, token)[opportunity_id]["description"] == \
        f"Revision {revision}."
