"""Fire concurrent registrations at the gateway from several processes.

Each process starts its share of threads, every thread sends one
``POST /v1/cities/<city>/registrations`` with a new 14-year-old youth, and all
threads of all processes wait on one barrier so the requests leave together.
Opportunities are used in turn when several are given. Prints one JSON document:
every response (status code, registration id, status, sequence, latency) and the
run's wall-clock time.

    python bench/registration/load.py --gateway http://127.0.0.1:8000 \\
        --city chicago --opportunity opp-1 --total 1000 --processes 4

The end-to-end test ``tests/e2e/test_registration_load.py`` and
``bench/registration/run.py`` both run it. It uses plain threads and
``requests``, so run it with an interpreter that eventlet has not patched.
"""

import argparse
import json
import multiprocessing
import sys
import threading
import time
from datetime import date

import requests

BIRTH_YEAR = date.today().year - 14


def registration_body(opportunity_id: str, number: int) -> dict:
    return {"opportunity_id": opportunity_id,
            "youth": {"display_name": f"Load test youth {number}",
                      "birth_year": BIRTH_YEAR, "birth_month": 1}}


def send(gateway: str, city: str, opportunity_id: str, number: int,
         timeout: float) -> dict:
    """Send one registration; record network and JSON errors instead of raising."""
    started = time.monotonic()
    outcome = {"number": number, "opportunity_id": opportunity_id}
    try:
        response = requests.post(f"{gateway}/v1/cities/{city}/registrations",
                                 json=registration_body(opportunity_id, number),
                                 timeout=timeout)
        outcome["status_code"] = response.status_code
        body = response.json()
        outcome.update({key: body.get(key) for key in
                        ("id", "youth_id", "status", "sequence", "reason", "detail")})
    except (requests.RequestException, ValueError) as exc:
        outcome["status_code"] = None
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    outcome["seconds"] = time.monotonic() - started
    return outcome


def run_process(arguments, numbers: list[int], barrier, queue) -> None:
    """Send this process's registrations, one thread each, after the barrier."""
    results = []
    lock = threading.Lock()

    def work(number: int) -> None:
        opportunity_id = arguments.opportunity[number % len(arguments.opportunity)]
        local_barrier.wait()
        outcome = send(arguments.gateway, arguments.city, opportunity_id, number,
                       arguments.timeout)
        with lock:
            results.append(outcome)

    local_barrier = threading.Barrier(len(numbers) + 1)
    threads = [threading.Thread(target=work, args=(number,), daemon=True)
               for number in numbers]
    for thread in threads:
        thread.start()
    barrier.wait()
    local_barrier.wait()
    for thread in threads:
        thread.join()
    queue.put(results)


def run(arguments) -> dict:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(arguments.processes + 1)
    queue = context.Queue()
    shares = [list(range(index, arguments.total, arguments.processes))
              for index in range(arguments.processes)]
    processes = [context.Process(target=run_process,
                                 args=(arguments, share, barrier, queue))
                 for share in shares]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.monotonic()
    results = []
    for _ in processes:
        results.extend(queue.get())
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    return {"total": arguments.total, "processes": arguments.processes,
            "seconds": elapsed, "results": sorted(results, key=lambda r: r["number"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True, help="gateway base URL")
    parser.add_argument("--city", required=True, help="city slug, e.g. chicago")
    parser.add_argument("--opportunity", required=True, action="append",
                        help="opportunity id; repeat to spread the load")
    parser.add_argument("--total", type=int, default=1000,
                        help="registrations to send (default 1000)")
    parser.add_argument("--processes", type=int, default=4,
                        help="client processes sharing the threads (default 4)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds each request may take (default 300)")
    arguments = parser.parse_args(argv)
    json.dump(run(arguments), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
