"""The delivery engine over a mongomock store and a scripted sender."""

from datetime import timedelta

import eventlet
import pytest

from services.notifications.engine import DeliveryEngine, backoff_seconds
from services.notifications.settings import WebhookSettings
from services.notifications.storage import message_id, utcnow
from services.notifications.transport import AttemptResult

SETTINGS = WebhookSettings(backoff_base_seconds=10, backoff_max_seconds=100,
                           retry_for_seconds=3600, disable_after_seconds=7200,
                           endpoint_concurrency=2, workers=8)


def subscribe(store, url="https://a.example/hook", city="chicago", partner="p1",
              types=("badge.issued",)):
    return store.add_subscription(city, partner, {
        "url": url, "event_types": list(types), "description": "",
        "contact_email": "ops@example.org", "language": "en"}, "whsec_" + "A" * 44)


def queue_events(store, subscription, count, prefix="e"):
    now = utcnow()
    for number in range(count):
        store.enqueue(subscription, f"{prefix}{number}", "badge.issued",
                      f'{{"id":"{prefix}{number}"}}', now)


def run(engine):
    """Claim and send everything due, then record the outcomes."""
    while engine.dispatch_once():
        engine.pool.waitall()
    engine.flush()


@pytest.fixture
def engine(store, sender):
    disabled = []
    engine = DeliveryEngine(store, sender, SETTINGS, on_disabled=disabled.append)
    engine.disabled = disabled
    return engine


def test_backoff_grows_and_is_capped():
    waits = [backoff_seconds(number, 1.0, 3600.0) for number in range(1, 30)]
    assert 0.5 <= waits[0] <= 1
    assert 256 <= waits[9] <= 512
    assert all(wait <= 3600 for wait in waits)
    assert waits[-1] >= 1800


def test_backoff_is_jittered():
    waits = {round(backoff_seconds(5, 1.0, 3600.0), 6) for _ in range(20)}
    assert len(waits) > 1


def test_delivered_message_leaves_queue(store, sender, engine):
    subscription = subscribe(store)
    queue_events(store, subscription, 3)
    run(engine)
    assert len(sender.calls) == 3
    assert store.queue.count_documents({}) == 0
    history = list(store.deliveries.find())
    assert {item["status"] for item in history} == {"delivered"}
    attempts = list(store.attempts.find())
    assert len(attempts) == 3
    assert all(item["status_code"] == 204 for item in attempts)
    assert all(item["latency_ms"] == 1.0 for item in attempts)


def test_webhook_id_is_stable_per_event_and_endpoint(store, sender, engine):
    first, second = subscribe(store), subscribe(store, url="https://b.example/hook")
    queue_events(store, first, 1)
    queue_events(store, second, 1)
    run(engine)
    ids = {call["url"]: call["headers"]["webhook-id"] for call in sender.calls}
    assert ids["https://a.example/hook"] == message_id(first["_id"], "e0")
    assert ids["https://b.example/hook"] == message_id(second["_id"], "e0")
    assert len(set(ids.values())) == 2


def test_enqueue_twice_queues_once(store):
    subscription = subscribe(store)
    queue_events(store, subscription, 1)
    queue_events(store, subscription, 1)
    assert store.queue.count_documents({}) == 1


def test_failed_attempt_is_rescheduled_with_backoff(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = 503
    queue_events(store, subscription, 1)
    before = utcnow()
    run(engine)
    queued = store.queue.find_one()
    assert queued["attempts"] == 1
    assert queued["last_error"] == "HTTP 503"
    wait = (queued["next_attempt_at"].replace(tzinfo=before.tzinfo) - before)
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=11)
    assert store.subscriptions.find_one()["failing_since"] is not None


def test_retry_succeeds_with_same_webhook_id(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = None
    queue_events(store, subscription, 1)
    run(engine)
    store.queue.update_many({}, {"$set": {"next_attempt_at": utcnow()}})
    sender.status[subscription["url"]] = 200
    run(engine)
    assert [call["headers"]["webhook-id"] for call in sender.calls] == [
        message_id(subscription["_id"], "e0")] * 2
    assert store.deliveries.find_one()["attempts"] == 2
    assert store.subscriptions.find_one()["failing_since"] is None


def test_message_dead_after_retry_window(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = 500
    queue_events(store, subscription, 1)
    store.queue.update_many({}, {"$set": {
        "window_started_at": utcnow() - timedelta(hours=2)}})
    run(engine)
    assert store.queue.count_documents({}) == 0
    dead = store.dead_letters.find_one()
    assert dead["reason"] == "retries_exhausted"
    assert dead["last_status_code"] == 500
    assert store.deliveries.find_one()["status"] == "dead"


def test_endpoint_failing_long_is_disabled(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = 500
    queue_events(store, subscription, 3)
    store.subscriptions.update_one({}, {"$set": {
        "failing_since": utcnow() - timedelta(hours=3)}})
    store.queue.update_many({"event_id": {"$ne": "e0"}},
                            {"$set": {"next_attempt_at": utcnow() + timedelta(hours=1)}})
    run(engine)
    stored = store.subscriptions.find_one()
    assert stored["status"] == "disabled"
    assert stored["disabled_reason"] == "failing"
    assert [item["_id"] for item in engine.disabled] == [subscription["_id"]]
    assert store.queue.count_documents({}) == 0
    reasons = {item["reason"] for item in store.dead_letters.find()}
    assert reasons == {"endpoint_disabled"}
    assert store.dead_letters.count_documents({}) == 3


def test_endpoint_recently_failing_stays_active(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = 500
    queue_events(store, subscription, 1)
    run(engine)
    assert store.subscriptions.find_one()["status"] == "active"
    assert engine.disabled == []


def test_deleted_subscription_cancels_delivery(store, sender, engine):
    subscription = subscribe(store)
    queue_events(store, subscription, 1)
    store.subscriptions.delete_one({"_id": subscription["_id"]})
    run(engine)
    assert sender.calls == []
    assert store.deliveries.find_one()["status"] == "cancelled"


def test_endpoint_concurrency_is_capped(store):
    """A slow endpoint holds at most its cap of workers; others keep flowing."""
    gate = eventlet.event.Event()
    sent = []

    class SlowForOne:
        def post(self, url, body, headers):
            sent.append(url)
            if "slow" in url:
                gate.wait()
            return AttemptResult(204, 1.0)

    slow = subscribe(store, url="https://slow.example/hook")
    fast = subscribe(store, url="https://fast.example/hook")
    queue_events(store, slow, 10)
    queue_events(store, fast, 10, prefix="f")
    engine = DeliveryEngine(store, SlowForOne(), SETTINGS)
    for _ in range(10):
        engine.dispatch_once()
        eventlet.sleep(0)
    assert sent.count("https://slow.example/hook") == SETTINGS.endpoint_concurrency
    assert sent.count("https://fast.example/hook") == 10
    gate.send()
    engine.pool.waitall()
    engine.flush()
    assert store.queue.count_documents({"subscription_id": fast["_id"]}) == 0


def test_claim_excludes_leased_deliveries(store):
    subscription = subscribe(store)
    queue_events(store, subscription, 2)
    now = utcnow()
    identifiers = [item["_id"] for item in store.queue.find()]
    first = store.claim(identifiers, now, timedelta(seconds=60))
    second = store.claim(identifiers, now, timedelta(seconds=60))
    assert len(first) == 2
    assert second == []


def test_engine_start_and_stop_delivers(store, sender):
    subscription = subscribe(store)
    queue_events(store, subscription, 5)
    engine = DeliveryEngine(store, sender, WebhookSettings(poll_seconds=0.05))
    engine.start()
    with eventlet.Timeout(5):
        while store.deliveries.count_documents({}) < 5:
            eventlet.sleep(0.05)
    engine.stop()
    assert len(sender.calls) == 5


def test_replay_during_attempt_sends_again(store, sender, engine):
    subscription = subscribe(store)
    queue_events(store, subscription, 1)
    engine.dispatch_once()
    engine.pool.waitall()
    event = {"_id": "e0", "type": "badge.issued", "body": '{"id":"e0"}'}
    assert store.requeue(subscription, event, utcnow()) == "queued"
    engine.flush()
    assert store.queue.count_documents({}) == 1
    run(engine)
    assert len(sender.calls) == 2
    assert len({call["headers"]["webhook-id"] for call in sender.calls}) == 1
    assert store.queue.count_documents({}) == 0


def test_replay_during_failed_attempt_adds_a_fresh_entry(store, sender, engine):
    subscription = subscribe(store)
    sender.status[subscription["url"]] = 500
    queue_events(store, subscription, 1)
    engine.dispatch_once()
    engine.pool.waitall()
    event = {"_id": "e0", "type": "badge.issued", "body": '{"id":"e0"}'}
    store.requeue(subscription, event, utcnow())
    engine.flush()
    entries = {entry["attempts"]: entry for entry in store.queue.find()}
    assert sorted(entries) == [0, 1]
    assert entries[0]["lease_token"] is None
    assert entries[0]["next_attempt_at"] <= entries[1]["next_attempt_at"]
    assert entries[0]["webhook_id"] == entries[1]["webhook_id"]
