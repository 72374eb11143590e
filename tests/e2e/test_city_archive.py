"""Archiving a city stops its traffic in every service, and only its traffic.

The module onboards a throwaway city with a partner, a published opportunity,
a badge and a failing webhook endpoint, and archives it through the operator
API. The tests then check that search, registration, badges and notifications
reject the city's RPCs and drop its events. Chicago keeps working, and the
badge issued before archiving still verifies.
"""

import uuid

import pymongo
import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common import events
from cities_common.errors import CityArchived, NotFound
from tests.e2e.test_catalog_tenancy import (
    approved_partner, call, city_admin, draft_body, search_ids, wait_for,
)

pytestmark = pytest.mark.e2e

OTHER_CITY = "chicago"
# A webhook endpoint that refuses connections, so deliveries stay queued.
DEAD_ENDPOINT = "http://127.0.0.1:9/archive-test"
EVENT_WAIT_SECONDS = 60


def rpc_proxy(platform, city):
    return ClusterRpcProxy({"AMQP_URI": platform["amqp_uri"]},
                           context_data={"city": city}, timeout=30)


def database(namespace, service):
    client = pymongo.MongoClient(namespace.settings.mongo_url)
    return client[namespace.settings.mongo_database(service)]


def alias_exists(namespace, kind, city) -> bool:
    alias = f"{namespace.settings.es_prefix()}{kind}-{city}"
    response = requests.get(f"{namespace.settings.es_url}/_alias/{alias}", timeout=10)
    return response.status_code == 200


def published_opportunity(platform, city, admin, organization_id, lead) -> str:
    created = call(platform, "POST", f"/v1/cities/{city}/opportunities", lead,
                   draft_body(organization_id, "Archive Robot Club"))
    assert created.status_code == 201, created.text
    path = f"/v1/cities/{city}/opportunities/{created.json()['id']}"
    assert call(platform, "POST", f"{path}/submit", lead).status_code == 200
    approved = call(platform, "POST", f"{path}/approve", admin)
    assert approved.status_code == 200, approved.text
    if approved.json()["status"] != "published":
        published = call(platform, "POST", f"{path}/publish", lead)
        assert published.status_code == 200, published.text
    return created.json()["id"]


def issued_badge(platform, city, lead, opportunity_id) -> dict:
    """Create a partner issuer and class as ``lead``, and award one badge."""
    badges = f"/v1/cities/{city}/badges"
    issuer = call(platform, "POST", f"{badges}/issuers", lead, {
        "name": f"Archive issuer {uuid.uuid4().hex[:6]}", "kind": "partner"})
    assert issuer.status_code == 201, issuer.text
    badge_class = call(platform, "POST", f"{badges}/classes", lead, {
        "issuer_id": issuer.json()["id"], "name": "Archive Circuit Builder",
        "description": "Builds and explains a working circuit.",
        "criteria": {"narrative": "Build a circuit and explain it.",
                     "url": "https://example.org/criteria"}})
    assert badge_class.status_code == 201, badge_class.text
    award = call(platform, "POST", f"{badges}/awards", lead, {
        "badge_class_id": badge_class.json()["id"], "youth_id": "youth-archive-1",
        "opportunity_id": opportunity_id, "awarded_by": {"name": "Ms Rivera"},
        "narrative": "Built a circuit."})
    assert award.status_code == 201, award.text
    return award.json()


def relative(platform, url: str) -> str:
    assert url.startswith(platform["url"] + "/"), url
    return url.removeprefix(platform["url"])


def verify(platform, city, data: str) -> dict:
    response = requests.post(f"{platform['url']}/v1/cities/{city}/badges/verify",
                             data=data, headers={"Content-Type": "text/plain"},
                             timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def metric_value(platform, service, event_type, outcome) -> float:
    text = requests.get(f"http://127.0.0.1:{platform['metrics'][service]}/metrics",
                        timeout=10).text
    labels = f'event_type="{event_type}",outcome="{outcome}",service="{service}"'
    for line in text.splitlines():
        if line.startswith("col_events_handled_total{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def archived(platform, namespace):
    """A throwaway city with a partner, an opportunity, a badge and a webhook,
    archived through the operator API."""
    slug = f"e2e-arch-{uuid.uuid4().hex[:6]}"
    admin = city_admin(platform, slug)
    assert wait_for(lambda: call(platform, "GET", f"/v1/cities/{slug}/index")
                    .status_code == 200), "search never learnt of the city"
    organization_id, lead = approved_partner(platform, slug, admin,
                                             "Archive Robot Lab")
    opportunity_id = published_opportunity(platform, slug, admin, organization_id,
                                           lead)
    assert wait_for(lambda: opportunity_id in search_ids(platform, slug))
    subscribed = call(platform, "POST", f"/v1/cities/{slug}/webhooks", lead, {
        "url": DEAD_ENDPOINT, "event_types": ["badge.issued"]})
    assert subscribed.status_code == 201, subscribed.text
    badge = issued_badge(platform, slug, lead, opportunity_id)
    signed = call(platform, "GET", relative(platform, badge["urls"]["signed"]))
    assert signed.status_code == 200, signed.text
    queue = database(namespace, "notifications")["queue"]
    assert wait_for(lambda: queue.count_documents({"city": slug}) > 0,
                    timeout=EVENT_WAIT_SECONDS), "the badge was never queued"

    response = call(platform, "POST", f"/v1/cities/{slug}/archive", "operator")
    assert response.status_code == 200, response.text
    assert response.json()["archived_now"] is True
    world = {"slug": slug, "admin": admin, "lead": lead,
             "organization_id": organization_id, "opportunity_id": opportunity_id,
             "subscription_id": subscribed.json()["id"], "badge": badge,
             "signed": signed.text}
    wait_until_archived(namespace, slug)
    return world


def wait_until_archived(namespace, slug) -> None:
    """Wait until every consumer of ``city_archived`` has processed it."""
    for service in ("search", "registration", "badges", "notifications"):
        cities = database(namespace, service)["cities"]
        done = wait_for(lambda: cities.count_documents(
            {"_id": slug, "status": "archived"}) == 1, timeout=EVENT_WAIT_SECONDS)
        assert done, f"{service} never marked {slug} archived"
        inbox = database(namespace, service)["processed_events"]
        assert wait_for(lambda: inbox.count_documents(
            {"_id": {"$regex": ":handle_city_archived$"}}) > 0)


def test_search_rejects_archived_city(platform, namespace, archived):
    slug = archived["slug"]
    with rpc_proxy(platform, slug) as rpc:
        with pytest.raises(CityArchived):
            rpc.search.search_opportunities({})
        with pytest.raises(CityArchived):
            rpc.search.index_counts()
    assert not alias_exists(namespace, "opportunities", slug)
    assert not alias_exists(namespace, "sites", slug)
    assert call(platform, "GET", f"/v1/cities/{slug}/opportunities").status_code == 410


def test_search_serves_other_city(platform, namespace, archived):
    assert alias_exists(namespace, "opportunities", OTHER_CITY)
    with rpc_proxy(platform, OTHER_CITY) as rpc:
        assert rpc.search.index_counts()["opportunities"] > 0
    response = call(platform, "GET", f"/v1/cities/{OTHER_CITY}/opportunities",
                    page_size=1)
    assert response.status_code == 200, response.text


def test_registration_rejects_archived_city(platform, archived):
    slug = archived["slug"]
    with rpc_proxy(platform, slug) as rpc:
        with pytest.raises(CityArchived):
            rpc.registration.get_registration("reg-unknown")
        with pytest.raises(CityArchived):
            rpc.registration.register({"opportunity_id": archived["opportunity_id"]})
    with rpc_proxy(platform, OTHER_CITY) as rpc:
        with pytest.raises(NotFound):
            rpc.registration.get_registration("reg-unknown")


def test_badges_reject_new_issuing(platform, archived):
    slug = archived["slug"]
    badge = archived["badge"]
    award = call(platform, "POST", f"/v1/cities/{slug}/badges/awards",
                 archived["lead"], {
                     "badge_class_id": badge["badge_class_id"],
                     "youth_id": "youth-archive-2",
                     "opportunity_id": archived["opportunity_id"],
                     "awarded_by": {"name": "Ms Rivera"}})
    assert award.status_code in (403, 410), award.text
    with rpc_proxy(platform, slug) as rpc:
        with pytest.raises(CityArchived):
            rpc.badges.award_badge({
                "badge_class_id": badge["badge_class_id"],
                "youth_id": "youth-archive-2",
                "opportunity_id": archived["opportunity_id"],
                "awarded_by": {"name": "Ms Rivera"}})
        with pytest.raises(CityArchived):
            rpc.badges.list_issuers()


def test_badge_issued_before_archive_verifies(platform, archived):
    slug = archived["slug"]
    urls = archived["badge"]["urls"]
    for name in ("assertion", "signed", "credential"):
        response = call(platform, "GET", relative(platform, urls[name]))
        assert response.status_code == 200, (name, response.text)
    assert call(platform, "GET", f"/v1/cities/{slug}/badges/keys").status_code == 200
    report = verify(platform, slug, archived["signed"])
    assert report["valid"] is True, report


def test_notifications_cancel_archived_city(platform, namespace, archived):
    slug = archived["slug"]
    store = database(namespace, "notifications")
    subscription = store["subscriptions"].find_one({"_id": archived["subscription_id"]})
    assert subscription["status"] == "disabled"
    assert subscription["disabled_reason"] == "city_archived"
    assert store["queue"].count_documents({"city": slug}) == 0
    cancelled = list(store["deliveries"].find({"city": slug}))
    assert cancelled, "the queued delivery left no history"
    assert {item["status"] for item in cancelled} == {"cancelled"}
    assert {item["reason"] for item in cancelled} == {"city_archived"}
    with rpc_proxy(platform, slug) as rpc:
        with pytest.raises(CityArchived):
            rpc.notifications.list_subscriptions(archived["organization_id"])


def test_archived_city_events_are_dropped(platform, namespace, archived):
    slug = archived["slug"]
    before = metric_value(platform, "badges", events.PROGRAM_COMPLETED,
                          "dropped_archived")
    completion = events.make_event(events.PROGRAM_COMPLETED, slug, {
        "completion_id": "cmp-archive-1", "registration_id": "reg-archive-1",
        "youth_id": "youth-archive-3", "opportunity_id": archived["opportunity_id"],
        "opportunity_title": "Archive Robot Club", "provider_name": "Archive Robot Lab",
        "completed_at": "2026-07-01T10:00:00+00:00"})
    opportunity = events.make_event(events.OPPORTUNITY_UPDATED, slug, {
        "opportunity": {"id": archived["opportunity_id"], "city": slug,
                        "title": "Archive Robot Club", "status": "published",
                        "version": 99},
        "version": 99})
    dispatch = event_dispatcher({"AMQP_URI": platform["amqp_uri"]})
    dispatch("registration", events.PROGRAM_COMPLETED, completion)
    dispatch("catalog", events.OPPORTUNITY_UPDATED, opportunity)

    for service, envelope, method in (
            ("badges", completion, "handle_program_completed"),
            ("search", opportunity, "handle_opportunity_updated")):
        inbox = database(namespace, service)["processed_events"]
        key = f"{envelope['event_id']}:{method}"
        assert wait_for(lambda: inbox.count_documents({"_id": key}) == 1,
                        timeout=EVENT_WAIT_SECONDS), f"{service} never acknowledged"
    assert metric_value(platform, "badges", events.PROGRAM_COMPLETED,
                        "dropped_archived") == before + 1
    assert database(namespace, "badges")["assertions"].count_documents(
        {"youth_id": "youth-archive-3"}) == 0
    # The inbox records the event after its handler returned, so a write to the
    # index would have happened by now.
    assert not alias_exists(namespace, "opportunities", slug)


def test_archive_again_changes_nothing(platform, archived):
    again = call(platform, "POST", f"/v1/cities/{archived['slug']}/archive",
                 "operator")
    assert again.status_code == 200, again.text
    assert again.json()["archived_now"] is False
