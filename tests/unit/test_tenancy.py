"""``CityRegistry`` over mongomock, and how ``consumes`` treats an archived city."""

import mongomock
import pytest

from cities_common import events, tenancy
from cities_common.errors import CityArchived, UnknownCity
from cities_common.handlers import consumes
from cities_common.metrics import EVENTS_HANDLED
from cities_common.tenancy import CityRegistry, TenantScope

ARCHIVED_AT = "2026-12-04T15:00:00+00:00"


def city(slug="springfield", **changes):
    return {"slug": slug, "name": f"Test city {slug}", "time_zone": "America/Chicago",
            "default_locale": "en", "locales": ["en"],
            "centre": {"lat": 39.78, "lon": -89.65},
            "bbox": {"min_lat": 39.7, "min_lon": -89.75, "max_lat": 39.86,
                     "max_lon": -89.55},
            "service_area_margin_km": 50.0, "branding": {}, **changes}


@pytest.fixture
def database():
    return mongomock.MongoClient().col_test


@pytest.fixture
def registry(database):
    registry = CityRegistry(database)
    registry.add(city())
    registry.add(city("shelbyville"))
    return registry


class FakeClock:
    """Stands in for ``time.monotonic`` in ``cities_common.tenancy``."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(tenancy, "time", fake)
    return fake


def test_registry_require_active_city(registry):
    assert registry.require("springfield") == "springfield"


@pytest.mark.parametrize("slug", [None, "", "Not A Slug", "nowhere"])
def test_registry_require_unknown_city(registry, slug):
    with pytest.raises(UnknownCity):
        registry.require(slug)


def test_registry_archive_rejects_despite_cache(registry):
    registry.require("springfield")  # caches the positive lookup
    assert registry.archive("springfield", ARCHIVED_AT) is True
    with pytest.raises(CityArchived) as raised:
        registry.require("springfield")
    assert "springfield" in str(raised.value)
    assert ARCHIVED_AT in str(raised.value)


def test_registry_archive_leaves_other_city(registry):
    registry.archive("springfield", ARCHIVED_AT)
    assert registry.require("shelbyville") == "shelbyville"
    assert registry.is_archived("shelbyville") is False
    assert registry.is_archived("springfield") is True


def test_registry_archive_twice_keeps_first(registry):
    assert registry.archive("springfield", ARCHIVED_AT) is True
    assert registry.archive("springfield", "2027-01-01T00:00:00+00:00") is False
    assert registry.get("springfield")["archived_at"] == ARCHIVED_AT


def test_registry_add_keeps_archived(registry):
    registry.archive("springfield", ARCHIVED_AT)
    with pytest.raises(CityArchived):
        registry.add(city(name="Renamed city"))
    stored = registry.get("springfield")
    assert stored["name"] == "Test city springfield"
    assert stored["status"] == "archived"
    with pytest.raises(CityArchived):
        registry.require("springfield")


def test_registry_archive_before_onboarding(database):
    registry = CityRegistry(database)
    assert registry.archive("ogdenville", ARCHIVED_AT) is True
    with pytest.raises(CityArchived):
        registry.add(city("ogdenville"))
    with pytest.raises(CityArchived):
        registry.require("ogdenville")


def test_registry_include_archived_reads(registry):
    registry.archive("springfield", ARCHIVED_AT)
    assert registry.require("springfield", include_archived=True) == "springfield"
    with pytest.raises(UnknownCity):
        registry.require("nowhere", include_archived=True)


def test_registry_other_process_bound(database, clock):
    handling = CityRegistry(database)
    other = CityRegistry(database)
    handling.add(city())
    other.require("springfield")
    handling.archive("springfield", ARCHIVED_AT)
    clock.now += tenancy._CACHE_SECONDS - 1
    assert other.require("springfield") == "springfield"
    clock.now += 2
    with pytest.raises(CityArchived):
        other.require("springfield")


def test_tenant_scope_readable_city(registry):
    registry.archive("springfield", ARCHIVED_AT)
    scope = TenantScope(registry, "springfield")
    assert scope.readable_city == "springfield"
    with pytest.raises(CityArchived):
        scope.city


class FakeInbox:
    def __init__(self):
        self.marked = {}

    def seen(self, key):
        return key in self.marked

    def mark(self, key, event_type):
        self.marked[key] = event_type


class ArchivedCityService:
    """A service whose handler meets an archived city, as ``require`` reports it."""

    name = "test_archive"

    def __init__(self, registry):
        self.inbox = FakeInbox()
        self.registry = registry
        self.calls = 0

    @consumes(events.BADGE_REVOKED, wait_max=0.01)
    def handle_badge_revoked(self, event):
        self.calls += 1
        self.registry.require(event["city"])
        return "handled"


def badge_revoked(city_slug):
    return events.make_event(events.BADGE_REVOKED, city_slug, {
        "assertion_id": "a-1", "youth_id": "y-1", "badge_class_id": "c-1",
        "revoked_on": ARCHIVED_AT, "reason": "recorded in error"})


def dropped_count():
    return EVENTS_HANDLED.labels("test_archive", events.BADGE_REVOKED,
                                 "dropped_archived")._value.get()


def test_consumes_drops_archived_city_event(registry, caplog):
    registry.archive("springfield", ARCHIVED_AT)
    service = ArchivedCityService(registry)
    envelope = badge_revoked("springfield")
    before = dropped_count()
    assert service.handle_badge_revoked(envelope) is None
    assert service.calls == 1  # not retried
    assert dropped_count() == before + 1
    key = f"{envelope['event_id']}:handle_badge_revoked"
    assert service.inbox.marked == {key: events.BADGE_REVOKED}
    assert "springfield" in caplog.text
    assert "dropping badge_revoked" in caplog.text


def test_consumes_handles_active_city_event(registry):
    registry.archive("springfield", ARCHIVED_AT)
    service = ArchivedCityService(registry)
    assert service.handle_badge_revoked(badge_revoked("shelbyville")) == "handled"
