"""Measure registrations per second through the gateway, beside the broker baseline.

Starts a private copy of the platform from this checkout in its own namespace
(RabbitMQ vhost, database and index prefix) on the servers of ``deploy/stack``,
onboards Chicago, imports test opportunities, signs up guardian accounts (their
verification e-mails go to a local SMTP mailbox) and fires bursts of
registrations with ``load.py``, each made by one of those signed-in guardians. With ``--baseline-dir`` it first runs the broker-and-nameko
baseline suite (its ``rpc`` and ``http`` sections, one run) so both sets of
figures come from the same session. Prints a JSON report.

    eval "$(deploy/stack env)"
    .venv/bin/python bench/registration/run.py --baseline-dir "$BASELINE_DIR"

The baseline's HTTP service binds 127.0.0.1:8000, where a platform started by
``deploy/up`` may already listen. The suite therefore runs from a temporary copy
in which only that port is changed, to a free one.
"""

import argparse
import json
import os
import platform as host
import secrets
import shutil
import socket
import statistics
from collections import Counter
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy import launcher  # noqa: E402
from deploy.seed import onboard, seed_cities  # noqa: E402
from gateway.ratelimit import LOAD_TEST_RATE_LIMITS  # noqa: E402
from tests.e2e.accounts import Accounts  # noqa: E402
from tests.mailbox import SmtpMailbox  # noqa: E402
from tests.stack import Namespace  # noqa: E402

CITY = "chicago"
# Signed-in guardians that share each burst's registrations.
GUARDIANS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    memory_kb = int(next(line.split()[1] for line in
                         Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))
    return {"cpus": os.cpu_count(), "cpu_model": model,
            "memory_gib": round(memory_kb / 2**20, 1), "kernel": host.release(),
            "python": host.python_version()}


def run_baseline(baseline_dir: Path, work: Path) -> dict:
    """Run the baseline's rpc and http sections from a copy on a free port."""
    copy = work / "baseline"
    shutil.copytree(baseline_dir, copy, ignore=shutil.ignore_patterns("results"))
    port = str(free_port())
    for name in ("cfg_rpc.yml", "run_all.sh"):
        path = copy / name
        path.write_text(path.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    env = {**os.environ, "NAMEKO_VENV": str(ROOT / ".venv"), "SECTIONS": "rpc http",
           "RUNS": "1", "PERF_OUT": str(work / "perf-out")}
    started = time.monotonic()
    completed = subprocess.run(["bash", str(copy / "run_all.sh")], env=env,
                               capture_output=True, text=True, timeout=900)
    results = [json.loads(line) for line in
               (work / "perf-out" / "results.jsonl").read_text().splitlines() if line]
    return {"command": 'NAMEKO_VENV=/work/main/.venv SECTIONS="rpc http" RUNS=1 '
                       'bash $BASELINE_DIR/run_all.sh',
            "port": port, "exit_code": completed.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "summary": completed.stdout[-3000:], "results": results}


def start_platform(namespace: Namespace, run_dir: Path, max_workers: int | None,
                   mailbox: SmtpMailbox) -> tuple[str, Accounts]:
    port = free_port()
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT),
           "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "BADGES_KEY_PASSPHRASE": secrets.token_urlsafe(32),
           "IDENTITY_KEY_PASSPHRASE": secrets.token_urlsafe(32),
           **LOAD_TEST_RATE_LIMITS}
    if max_workers:
        env["MAX_WORKERS"] = str(max_workers)
    gateway = f"http://127.0.0.1:{port}"
    launcher.start(env, run_dir, {name: free_port() for name, _, _ in launcher.PROCESSES})
    launcher.wait_healthy(gateway, run_dir, timeout=90)
    onboard(namespace.amqp_uri, [city for city in seed_cities() if city["slug"] == CITY])
    accounts = Accounts(gateway, mailbox, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            prober = accounts.sign_up(CITY)
        except AssertionError:
            time.sleep(0.5)
            continue
        probe = requests.post(f"{gateway}/v1/cities/{CITY}/youth", json={
            "display_name": "Probe", "birth_year": 2010, "birth_month": 1,
            "relationship": "guardian"}, headers=prober.headers, timeout=10)
        if probe.status_code == 201:
            return gateway, accounts
        time.sleep(0.5)
    raise RuntimeError("identity or registration never learnt of the onboarded city")


def guardian_tokens(accounts: Accounts, work: Path) -> Path:
    """Sign up ``GUARDIANS`` accounts; write their access tokens to a 0600 file."""
    path = work / "tokens.txt"
    tokens = [accounts.sign_up(CITY).access_token for _ in range(GUARDIANS)]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(tokens) + "\n")
    return path


def import_opportunities(namespace: Namespace, count: int, capacity) -> list[str]:
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.catalog.storage import record_id

    tag = str(int(time.time()))
    records = [{"source": "bench-registration", "source_id": f"{tag}-{capacity}-{n}",
                "city": CITY, "title": f"Benchmark opportunity {n}",
                "provider": {"name": "Benchmark Lab"}, "format": "online",
                "status": "published", "min_age": 6, "max_age": 18,
                "capacity": capacity} for n in range(count)]
    with ClusterRpcProxy({"AMQP_URI": namespace.amqp_uri},
                         context_data={"city": CITY}) as rpc:
        outcome = rpc.catalog.import_records("opportunities", records)
    if outcome["rejected"]:
        raise RuntimeError(f"catalog rejected benchmark records: {outcome['rejected']}")
    return [record_id("opportunities", CITY, "bench-registration", item["source_id"])
            for item in records]


def burst(gateway: str, opportunities: list[str], total: int, processes: int,
          tokens: Path) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "registration" / "load.py"),
               "--gateway", gateway, "--city", CITY, "--total", str(total),
               "--processes", str(processes), "--token-file", str(tokens)]
    for identifier in opportunities:
        command += ["--opportunity", identifier]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900,
                               check=True)
    run = json.loads(completed.stdout)
    latencies = sorted(item["seconds"] for item in run["results"])
    ok = [item for item in run["results"] if item["status_code"] in (200, 201)]
    quantiles = statistics.quantiles(latencies, n=100)
    return {"registrations": total, "opportunities": len(opportunities),
            "processes": processes, "seconds": round(run["seconds"], 2),
            "registrations_per_second": round(len(ok) / run["seconds"], 1),
            "errors": total - len(ok),
            "error_kinds": dict(Counter(
                f"{item['status_code']} {item.get('reason') or item.get('detail') or item.get('error')}"[:120]
                for item in run["results"] if item not in ok)),
            "latency_seconds": {"p50": round(quantiles[49], 2),
                                "p95": round(quantiles[94], 2),
                                "p99": round(quantiles[98], 2)}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-dir", type=Path,
                        default=os.environ.get("BASELINE_DIR") or None,
                        help="checkout of the broker-and-nameko baseline suite")
    parser.add_argument("--total", type=int, default=1000,
                        help="registrations per burst (default 1000)")
    parser.add_argument("--processes", type=int, default=4,
                        help="client processes per burst (default 4)")
    parser.add_argument("--max-workers", type=int, default=None,
                        help="nameko max_workers of every service (default: "
                             "deploy/nameko.yml's)")
    parser.add_argument("--skip-spread", action="store_true",
                        help="run only the one-opportunity burst")
    arguments = parser.parse_args(argv)

    report = {"machine": machine(), "command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory(prefix="bench-registration-") as work:
        work = Path(work)
        if arguments.baseline_dir:
            report["baseline"] = run_baseline(arguments.baseline_dir, work)
        namespace = Namespace().create()
        mailbox = SmtpMailbox(work / "maildir")
        run_dir = work / "platform"
        try:
            gateway, accounts = start_platform(namespace, run_dir, arguments.max_workers,
                                               mailbox)
            report["max_workers"] = arguments.max_workers or "deploy/nameko.yml default"
            hot = import_opportunities(namespace, 1, 50)
            spread = import_opportunities(namespace, 10, None)
            report["guardians"] = GUARDIANS
            report["one_opportunity_50_seats"] = burst(
                gateway, hot, arguments.total, arguments.processes,
                guardian_tokens(accounts, work))
            if not arguments.skip_spread:
                # Fresh tokens, so none expires during the second burst.
                report["ten_opportunities"] = burst(
                    gateway, spread, arguments.total, arguments.processes,
                    guardian_tokens(accounts, work))
        finally:
            launcher.stop(run_dir)
            mailbox.close()
            namespace.destroy()
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
