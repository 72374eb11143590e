"""Measure search latency through the gateway and directly against Elasticsearch.

    python -m bench.search.run build [--per-city 25000]
    python -m bench.search.run measure [--requests 200] [--output FILE]
    python -m bench.search.run hops [--requests 300]
    python -m bench.search.run clean

``build`` indexes the corpus of ``bench/search/corpus.py`` into the namespace
``bench`` (indexes ``bench-col-*``, database ``bench_col_search``). ``measure``
starts a search service and a gateway in their own RabbitMQ vhost
(``bench_search``) and sends each scenario's requests one at a time. Each
request goes once through the gateway and once as the same query body straight
to Elasticsearch, and the command prints p50, p95 and p99 per scenario. It also
prints the CPU time that each process (gateway, search service, RabbitMQ,
Elasticsearch) spent per request on each path, read from ``/proc`` around every
request. ``hops`` splits the gateway's CPU time by what a request does: a 404,
a route that starts a worker but calls no service, one RPC with a small reply,
and a small search. ``clean`` deletes the indexes, the database and the vhost. Needs the
servers of ``deploy/stack start``.
"""

import argparse
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pymongo
import requests
from elasticsearch import Elasticsearch

from bench.search.corpus import CITIES, build, real_rows
from cities_common.config import load_settings
from cities_common.tenancy import CityRegistry
from deploy.seed import seed_cities
from gateway.ratelimit import LOAD_TEST_RATE_LIMITS
from services.search import queries
from services.search.schemas import AutocompleteRequestSchema, SearchRequestSchema
from services.search.storage import SearchStore

logger = logging.getLogger("bench.search")

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "bench"
VHOST = "bench_search"
WORDS = ["camp", "science", "art", "reading", "soccer", "library", "music", "dance",
         "robotics", "summer", "coding", "theater", "math", "garden", "film"]
INTERESTS = ["exploring-earth-science", "designing-making", "work-career",
             "community-action", "sports-wellness", "coding-games", "media",
             "performance", "storytelling", "zoology", "numbers"]
# Pages are fetched this deep (in results) before measuring deep pagination.
DEEP_PAGE_START = 10_000
WARMUP_REQUESTS = 20


def vhost_uri(amqp_uri: str, vhost: str) -> str:
    parts = urlsplit(amqp_uri)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


def rabbitmqctl(*args: str) -> None:
    node = os.environ.get("RABBITMQ_NODENAME", "colearn@localhost")
    subprocess.run(["rabbitmqctl", "-q", "-n", node, *args], check=True,
                   capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CpuMeter:
    """CPU time (user plus system) of a few processes, from ``/proc/<pid>/stat``.

    The kernel counts it in clock ticks (10 ms here), so one request reads as 0
    or 10 ms. The report therefore gives the mean over a scenario's requests.
    """

    def __init__(self, processes: dict[str, int]):
        self.processes = {name: pid for name, pid in processes.items()
                          if Path(f"/proc/{pid}/stat").exists()}
        self.tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    def read(self) -> dict[str, float]:
        times = {}
        for name, pid in self.processes.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            times[name] = (int(fields[11]) + int(fields[12])) * self.tick_ms
        return times

    @staticmethod
    def add(totals: dict, before: dict, after: dict) -> None:
        for name in after:
            totals[name] = totals.get(name, 0.0) + after[name] - before[name]


def server_pids() -> dict[str, int]:
    """Return the pids of the RabbitMQ and Elasticsearch of ``deploy/stack``."""
    var = Path(os.environ.get("COL_VAR_DIR") or ROOT / "var")
    pids = {}
    for name, path in (("rabbitmq", "rabbitmq/rabbitmq.pid"),
                       ("elasticsearch", "elasticsearch/elasticsearch.pid")):
        try:
            pids[name] = int((var / path).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            logger.warning("no pid file %s; its CPU time is not reported", var / path)
    return pids


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def command_build(args) -> None:
    settings = load_settings({"COL_NAMESPACE": NAMESPACE})
    client = Elasticsearch(settings.es_url, request_timeout=120)
    for index in client.indices.get(index=f"{settings.es_prefix()}*",
                                    expand_wildcards="all", ignore_unavailable=True):
        client.indices.delete(index=index)
    store = SearchStore(client, settings.es_prefix())
    started = time.monotonic()
    counts = build(store, args.per_city)
    elapsed = time.monotonic() - started
    database = pymongo.MongoClient(settings.mongo_url)[settings.mongo_database("search")]
    registry = CityRegistry(database)
    for city in seed_cities():
        registry.add(city)
    sizes = {}
    for city in CITIES:
        stats = client.indices.stats(index=store.alias("opportunities", city),
                                     metric="store")
        sizes[city] = round(stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20, 1)
    print(json.dumps({"documents": counts, "total": sum(counts.values()),
                      "index_mb": sizes, "seconds": round(elapsed, 1)}, indent=2))


def command_clean(args) -> None:
    settings = load_settings({"COL_NAMESPACE": NAMESPACE})
    client = Elasticsearch(settings.es_url)
    for index in client.indices.get(index=f"{settings.es_prefix()}*",
                                    expand_wildcards="all", ignore_unavailable=True):
        client.indices.delete(index=index)
    pymongo.MongoClient(settings.mongo_url).drop_database(
        settings.mongo_database("search"))
    subprocess.run(["rabbitmqctl", "-q", "-n",
                    os.environ.get("RABBITMQ_NODENAME", "colearn@localhost"),
                    "delete_vhost", VHOST], capture_output=True, timeout=60)
    print("deleted the bench indexes, database and vhost")


class Services:
    """A search service and a gateway of the bench namespace, in their own vhost."""

    def __init__(self, settings, log_dir: Path):
        self.settings = settings
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self):
        rabbitmqctl("add_vhost", VHOST)
        rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COL_NAMESPACE": NAMESPACE,
               "AMQP_URI": vhost_uri(self.settings.amqp_uri, VHOST),
               "ES_URL": self.settings.es_url, "MONGO_URL": self.settings.mongo_url,
               "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}", **LOAD_TEST_RATE_LIMITS}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, path in (("search", "services.search.service:SearchService"),
                           ("gateway", "gateway.service:GatewayService")):
            log = open(self.log_dir / f"{name}.log", "wb")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config",
                 str(ROOT / "deploy" / "nameko.yml"), path],
                cwd=ROOT, env={**env, "METRICS_PORT": str(free_port())},
                stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{self.url}/v1/cities/dallas/index", timeout=5)
                if response.status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the bench services did not start; see {self.log_dir}")

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["rabbitmqctl", "-q", "-n",
                        os.environ.get("RABBITMQ_NODENAME", "colearn@localhost"),
                        "delete_vhost", VHOST], capture_output=True, timeout=60)


class Scenarios:
    """Representative requests, each as gateway parameters and the equivalent
    Elasticsearch request(s)."""

    def __init__(self, store: SearchStore, rng: random.Random):
        self.store = store
        self.rng = rng
        programmes, sites = real_rows()
        self.points = {city: [location for row in programmes.get(city, [])
                              for location in row.get("locations") or []]
                       for city in CITIES}
        self.points["pittsburgh"] = sites
        self.titles = [row["title"] for rows in programmes.values() for row in rows]
        self.deep_cursors: dict[str, list[str]] = {}
        self.sizes = {city: store.client.count(index=store.alias("opportunities",
                                                                 city))["count"]
                      for city in CITIES}

    def city(self) -> str:
        return self.rng.choice(CITIES)

    def point(self, city: str) -> dict:
        location = self.rng.choice(self.points[city])
        return {"lat": location["lat"], "lon": location["lon"]}

    def search(self, city: str, params: dict):
        request = SearchRequestSchema().load(params)
        if request.get("pit"):
            # Direct requests read the alias: the gateway's point in time is
            # opened by the search service, and its last sort value belongs to it.
            request = {**request, "search_after": request["search_after"][:2],
                       "pit": None}
        return ("search", city, params, queries.search_body(request, date.today()))

    def near_me(self):
        city = self.city()
        return self.search(city, {**self.point(city), "radius_km": 5})

    def text_near_me(self):
        city = self.city()
        return self.search(city, {**self.point(city), "radius_km": 10,
                                  "q": self.rng.choice(WORDS)})

    def text_citywide(self):
        return self.search(self.city(), {"q": self.rng.choice(WORDS)})

    def filtered(self):
        month = self.rng.randint(1, 12)
        year = self.rng.choice([2014, 2017, 2018, 2019, 2020, 2021])
        return self.search(self.city(), {
            "interests": [self.rng.choice(INTERESTS)], "age": self.rng.randint(8, 16),
            "free": True, "date_from": f"{year}-{month:02d}-01",
            "date_to": f"{year}-{month:02d}-28"})

    def deep_page(self):
        city = self.city()
        cursor = self.rng.choice(self.deep_cursors[city])
        return self.search(city, {"sort": "start_date", "page_size": 50,
                                  "cursor": cursor, "facets": False})

    def autocomplete(self):
        city = self.city()
        word = self.rng.choice(self.rng.choice(self.titles).split())
        prefix = "".join(ch for ch in word if ch.isalnum())[:3].lower() or "cam"
        request = AutocompleteRequestSchema().load({"prefix": prefix})
        return ("autocomplete", city, {"prefix": prefix},
                queries.autocomplete_body(request["prefix"], request["size"]))

    def related(self):
        city = self.city()
        number = self.rng.randrange(self.sizes[city])
        return ("related", city, {"id": f"bench-{city}-{number:06d}"}, None)

    def collect_deep_cursors(self, gateway: str, session: requests.Session) -> None:
        """Walk each city's pages to DEEP_PAGE_START results, keeping later cursors."""
        for city in CITIES:
            # A small corpus (a trial run) is measured from half its depth.
            start = min(DEEP_PAGE_START, self.sizes[city] // 2)
            cursors, fetched, cursor = [], 0, None
            while fetched < start + 2000:
                params = {"sort": "start_date", "page_size": 50, "facets": "false"}
                if cursor:
                    params["cursor"] = cursor
                page = session.get(f"{gateway}/v1/cities/{city}/opportunities",
                                   params=params, timeout=30).json()
                fetched += len(page["results"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                if fetched >= start:
                    cursors.append(cursor)
            self.deep_cursors[city] = cursors


SCENARIOS = ["near_me", "text_near_me", "text_citywide", "filtered", "deep_page",
             "autocomplete", "related"]


def gateway_request(session, gateway: str, kind: str, city: str, params: dict):
    base = f"{gateway}/v1/cities/{city}"
    if kind == "search":
        query = {key: (",".join(value) if isinstance(value, list) else value)
                 for key, value in params.items()}
        return session.get(f"{base}/opportunities", params=query, timeout=30)
    if kind == "autocomplete":
        return session.get(f"{base}/autocomplete", params=params, timeout=30)
    return session.get(f"{base}/opportunities/{params['id']}/related", timeout=30)


def direct_request(session, es_url: str, store: SearchStore, kind: str, city: str,
                   params: dict, body):
    """Send the request the search service would send, as one or two HTTP calls."""
    alias = store.alias("opportunities", city)
    if kind != "related":
        return session.post(f"{es_url}/{alias}/_search", json=body, timeout=30)
    found = session.get(f"{es_url}/{alias}/_doc/{params['id']}", timeout=30).json()
    related = queries.related_body({**found["_source"], "id": params["id"]},
                                   found["_index"], 5)
    return session.post(f"{es_url}/{alias}/_search", json=related, timeout=30)


def command_measure(args) -> None:
    settings = load_settings({"COL_NAMESPACE": NAMESPACE})
    client = Elasticsearch(settings.es_url, request_timeout=60)
    store = SearchStore(client, settings.es_prefix())
    rng = random.Random(args.seed)
    scenarios = Scenarios(store, rng)
    results = {}
    log_dir = Path(args.output).parent / "bench-search-logs"
    with Services(settings, log_dir) as services, requests.Session() as gateway_session, \
            requests.Session() as direct_session:
        meter = CpuMeter({"gateway": services.processes[1].pid,
                          "search": services.processes[0].pid, **server_pids()})
        for name in SCENARIOS:
            if name == "deep_page":
                # Collected just before use, so their point in time (two
                # minutes) is still open while the scenario runs.
                scenarios.collect_deep_cursors(services.url, gateway_session)
            timings = {"gateway": [], "direct": []}
            cpu = {"gateway": {}, "direct": {}}
            for number in range(WARMUP_REQUESTS + args.requests):
                kind, city, params, body = getattr(scenarios, name)()
                measured = number >= WARMUP_REQUESTS
                cpu_before = meter.read()
                started = time.perf_counter()
                response = gateway_request(gateway_session, services.url, kind, city,
                                           params)
                gateway_ms = (time.perf_counter() - started) * 1000
                if measured:
                    meter.add(cpu["gateway"], cpu_before, meter.read())
                if response.status_code != 200:
                    raise RuntimeError(f"{name} {params}: {response.status_code} "
                                       f"{response.text[:300]}")
                cpu_before = meter.read()
                started = time.perf_counter()
                direct = direct_request(direct_session, settings.es_url, store, kind,
                                        city, params, body)
                direct_ms = (time.perf_counter() - started) * 1000
                if measured:
                    meter.add(cpu["direct"], cpu_before, meter.read())
                direct.raise_for_status()
                if measured:
                    timings["gateway"].append(gateway_ms)
                    timings["direct"].append(direct_ms)
            results[name] = summarise(timings)
            results[name]["cpu_ms_per_request"] = {
                path: {process: round(total / args.requests, 2)
                       for process, total in totals.items()}
                for path, totals in cpu.items()}
            logger.info("%s: %s", name, results[name])
    report = {"requests_per_scenario": args.requests, "scenarios": results,
              "machine": machine()}
    Path(args.output).write_text(json.dumps(report, indent=2))
    print(table(results))
    print()
    print(cpu_table(results))


# The requests of ``hops``, from least to most work in the gateway.
HOPS = (("404, no route", "/v1/no-such-route"),
        ("worker, no RPC", "/v1/docs"),
        ("one RPC, small reply", "/v1/cities/dallas/index"),
        ("search, 5 results", "/v1/cities/dallas/opportunities?q=camp&page_size=5"
                              "&facets=false"))


def command_hops(args) -> None:
    settings = load_settings({"COL_NAMESPACE": NAMESPACE})
    log_dir = Path("var") / "bench-search-logs"
    with Services(settings, log_dir) as services, requests.Session() as session:
        meter = CpuMeter({"gateway": services.processes[1].pid,
                          "search": services.processes[0].pid, **server_pids()})
        lines = ["| Request | Wall ms | " + " | ".join(meter.processes) + " |",
                 "| --- | ---: |" + " ---: |" * len(meter.processes)]
        for label, path in HOPS:
            for _ in range(WARMUP_REQUESTS):
                session.get(services.url + path, timeout=30)
            before, started = meter.read(), time.perf_counter()
            for _ in range(args.requests):
                session.get(services.url + path, timeout=30)
            wall_ms = (time.perf_counter() - started) * 1000 / args.requests
            after = meter.read()
            cells = [f"{(after[name] - before[name]) / args.requests:.2f}"
                     for name in meter.processes]
            lines.append(f"| {label} | {wall_ms:.2f} | " + " | ".join(cells) + " |")
    print("\n".join(lines))


def summarise(timings: dict) -> dict:
    summary = {}
    for path, values in timings.items():
        summary[path] = {"p50_ms": round(statistics.median(values), 2),
                         "p95_ms": round(percentile(values, 0.95), 2),
                         "p99_ms": round(percentile(values, 0.99), 2)}
    summary["p95_ratio"] = round(summary["gateway"]["p95_ms"] /
                                 summary["direct"]["p95_ms"], 2)
    return summary


def table(results: dict) -> str:
    lines = ["| Scenario | Gateway p50 | Gateway p95 | Direct ES p50 | Direct ES p95 | "
             "p95 ratio |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, item in results.items():
        lines.append(f"| {name} | {item['gateway']['p50_ms']:.1f} | "
                     f"{item['gateway']['p95_ms']:.1f} | {item['direct']['p50_ms']:.1f} | "
                     f"{item['direct']['p95_ms']:.1f} | {item['p95_ratio']:.2f} |")
    return "\n".join(lines)


def cpu_table(results: dict) -> str:
    """Return the mean CPU ms per request of each process, gateway path / direct."""
    processes = list(next(iter(results.values()))["cpu_ms_per_request"]["gateway"])
    lines = ["| Scenario | " + " | ".join(processes) + " |",
             "| --- |" + " ---: |" * len(processes)]
    for name, item in results.items():
        used = item["cpu_ms_per_request"]
        cells = [f"{used['gateway'].get(process, 0):.1f} / "
                 f"{used['direct'].get(process, 0):.1f}" for process in processes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    memory_kb = next(int(line.split()[1])
                     for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "ram_gib": round(memory_kb / 2**20, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search.run",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="index the corpus")
    build_parser.add_argument("--per-city", type=int, default=25_000,
                              help="opportunities per city (default 25,000)")
    measure_parser = commands.add_parser("measure", help="measure the scenarios")
    measure_parser.add_argument("--requests", type=int, default=200,
                                help="measured requests per scenario and path")
    measure_parser.add_argument("--seed", type=int, default=7)
    measure_parser.add_argument("--output", default="var/bench-search.json",
                                help="where to write the JSON report")
    hops_parser = commands.add_parser("hops", help="split the gateway's CPU time")
    hops_parser.add_argument("--requests", type=int, default=300,
                             help="measured requests per kind")
    commands.add_parser("clean", help="delete the corpus, database and vhost")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for name in ("elastic_transport", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    {"build": command_build, "measure": command_measure, "hops": command_hops,
     "clean": command_clean}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
