"""Benchmark webhook deliveries: N badge events fanned out to E local endpoints.

The script starts the notifications service alone in a fresh namespace (RabbitMQ
vhost and database prefix) on the servers of ``deploy/stack`` and onboards one
city. It subscribes E endpoints served by ``endpoints.py``, publishes N
``badge_issued`` events with nameko's standalone dispatcher and waits until every
endpoint received every event. It prints one JSON line: deliveries per second from the first publish to the last
delivery, latency from publish to receipt, and duplicates.

    eval "$(deploy/stack env)"
    .venv/bin/python bench/webhooks/run.py --endpoints 50 --events 100
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nameko.standalone.events import event_dispatcher  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from cities_common import events  # noqa: E402
from cities_common.topology import declare  # noqa: E402
from tests.stack import Namespace  # noqa: E402

CITY = {"slug": "benchville", "name": "Benchville", "time_zone": "America/Chicago",
        "default_locale": "en", "locales": ["en"], "centre": {"lat": 41.9, "lon": -87.6},
        "bbox": {"min_lat": 41.6, "min_lon": -87.9, "max_lat": 42.1, "max_lon": -87.5}}


def start_endpoints(count: int, log: Path, slow: int, delay: float):
    command = [sys.executable, str(ROOT / "bench/webhooks/endpoints.py"),
               "--ports", str(count), "--log", str(log), "--delay", str(delay)]
    if slow:
        command += ["--slow", *map(str, range(slow))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    ports = json.loads(process.stdout.readline())["ports"]
    return process, ports


def start_service(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config",
         str(ROOT / "deploy/nameko.yml"),
         "services.notifications.service:NotificationsService"],
        cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def subscribe_all(amqp_uri: str, ports: list[int]) -> None:
    config = {"AMQP_URI": amqp_uri}
    deadline = time.monotonic() + 60
    with ClusterRpcProxy(config, context_data={"city": CITY["slug"]}) as rpc:
        while True:
            try:
                rpc.notifications.list_subscriptions("bench-partner-0")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for index, port in enumerate(ports):
            rpc.notifications.create_subscription(f"bench-partner-{index}", {
                "url": f"http://127.0.0.1:{port}/hook", "event_types": ["badge.issued"]})


def badge_events(count: int) -> list[dict]:
    envelopes = []
    for _ in range(count):
        assertion_id = f"asr-{uuid.uuid4().hex[:16]}"
        envelopes.append(events.make_event(events.BADGE_ISSUED, CITY["slug"], {
            "assertion_id": assertion_id, "youth_id": "yth-bench",
            "badge_class_id": "bc-bench", "opportunity_id": "opp-bench",
            "completion_id": f"cmp-{assertion_id}",
            "issued_on": datetime.now(timezone.utc).isoformat(), "assertion": {},
        }, event_id=f"badge-issued-{assertion_id}"))
    return envelopes


def read_log(log: Path) -> list[tuple]:
    rows = []
    for line in log.read_text().splitlines():
        received, port, webhook_id, event_id = line.split()
        rows.append((float(received), int(port), webhook_id, event_id))
    return rows


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(arguments, namespace, work: Path) -> dict:
    declare(namespace.amqp_uri)
    log = work / "received.log"
    log.touch()
    endpoints, ports = start_endpoints(arguments.endpoints, log, arguments.slow,
                                       arguments.delay)
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT),
           "WEBHOOKS_ALLOW_LOOPBACK": "true", "METRICS_PORT": "0",
           "LOG_LEVEL": "WARNING"}
    service = start_service(env, work / "notifications.log")
    try:
        dispatch = event_dispatcher({"AMQP_URI": namespace.amqp_uri})
        dispatch("catalog", events.CITY_ONBOARDED,
                 events.make_event(events.CITY_ONBOARDED, CITY["slug"], CITY))
        subscribe_all(namespace.amqp_uri, ports)

        envelopes = badge_events(arguments.events)
        published_at = {}
        started = time.time()
        for envelope in envelopes:
            dispatch("badges", events.BADGE_ISSUED, envelope)
            published_at[envelope["event_id"]] = time.time()
        published = time.time()

        expected = arguments.events * arguments.endpoints
        deadline = time.monotonic() + arguments.timeout
        while len({row[2] for row in read_log(log)}) < expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        rows = read_log(log)
    finally:
        service.terminate()
        service.wait(timeout=30)
        endpoints.terminate()
        endpoints.wait(timeout=10)

    unique = {row[2] for row in rows}
    latencies = [row[0] - published_at[row[3]] for row in rows if row[3] in published_at]
    last = max(row[0] for row in rows)
    slow_ports = set(ports[:arguments.slow])
    fast_rows = [row for row in rows if row[1] not in slow_ports]
    result = {
        "endpoints": arguments.endpoints, "events": arguments.events,
        "expected_deliveries": expected, "delivered": len(unique),
        "requests": len(rows), "duplicates": len(rows) - len(unique),
        "publish_seconds": round(published - started, 2),
        "seconds_to_last_delivery": round(last - started, 2),
        "deliveries_per_second": round(len(unique) / (last - started), 1),
        "latency_p50_s": round(statistics.median(latencies), 2),
        "latency_p95_s": round(percentile(latencies, 0.95), 2),
    }
    if arguments.slow:
        result.update(slow_endpoints=arguments.slow, slow_delay_s=arguments.delay,
                      fast_seconds_to_last_delivery=round(
                          max(row[0] for row in fast_rows) - started, 2),
                      fast_delivered=len({row[2] for row in fast_rows}))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--slow", type=int, default=0,
                        help="how many of the endpoints respond only after --delay")
    parser.add_argument("--delay", type=float, default=2.0,
                        help="seconds a slow endpoint waits before responding")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds to wait for every delivery")
    arguments = parser.parse_args()
    namespace = Namespace().create()
    try:
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(measure(arguments, namespace, Path(work))), flush=True)
    finally:
        namespace.destroy()


if __name__ == "__main__":
    main()
