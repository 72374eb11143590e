"""Fire concurrent registrations at the gateway from several processes.

Each process starts its share of threads, every thread sends one
``POST /v1/cities/<city>/registrations`` with a new 14-year-old youth, and all
threads of all processes wait on one barrier so the requests leave together.
Opportunities are used in turn when several are given. Prints one JSON document:
every response (status code, registration id, status, sequence, latency, and the
index of the access token it used) and the run's wall-clock time.

The gateway takes registrations only from signed-in accounts. ``--token-file``
names a file of access tokens, one per line. Registration ``n`` is sent with token
``n % count``, as the youth's guardian, so each process uses its share of the
accounts. The tokens stay off the command line, where ``ps`` would show them.

    python bench/registration/load.py --gateway http://127.0.0.1:8000 \\
        --city chicago --opportunity opp-1 --total 1000 --processes 4 \\
        --token-file tokens.txt

``test_thousand_concurrent_registrations`` in ``tests/e2e/test_registration.py``
and ``bench/registration/run.py`` both run it. It uses plain threads and
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
    # One account may own one "self" profile per city but guard many youth.
    return {"opportunity_id": opportunity_id, "relationship": "guardian",
            "youth": {"display_name": f"Load test youth {number}",
                      "birth_year": BIRTH_YEAR, "birth_month": 1}}


def send(gateway: str, city: str, opportunity_id: str, number: int,
         timeout: float, tokens: list[str]) -> dict:
    """Send one registration; record network and JSON errors instead of raising."""
    started = time.monotonic()
    outcome = {"number": number, "opportunity_id": opportunity_id}
    headers = {}
    if tokens:
        outcome["token_index"] = number % len(tokens)
        headers["Authorization"] = f"Bearer {tokens[outcome['token_index']]}"
    try:
        response = requests.post(f"{gateway}/v1/cities/{city}/registrations",
                                 json=registration_body(opportunity_id, number),
                                 headers=headers, timeout=timeout)
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
                       arguments.timeout, arguments.tokens)
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


def read_tokens(lines) -> list[str]:
    if lines is None:
        return []
    with lines:
        tokens = [line.strip() for line in lines if line.strip()]
    if not tokens:
        raise SystemExit(f"--token-file {lines.name} contains no access token: put "
                         "one token on each line")
    return tokens


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
    parser.add_argument("--token-file", type=argparse.FileType("r"), default=None,
                        help="file of access tokens, one per line, used in turn "
                             "(default: every request is anonymous)")
    arguments = parser.parse_args(argv)
    arguments.tokens = read_tokens(arguments.token_file)
    json.dump(run(arguments), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
