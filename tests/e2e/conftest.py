"""Start the whole platform (five services and the gateway) on the real servers,
seeded with the real data of the four cities, once per test session."""

import os
import secrets
import socket
import sys
from pathlib import Path

import pytest

from deploy import launcher
from deploy.seed import seed
from gateway.ratelimit import LOAD_TEST_RATE_LIMITS
from tests.e2e.accounts import Accounts
from tests.mailbox import SmtpMailbox
from tests.stack import Namespace

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def namespace():
    space = Namespace().create()
    yield space
    space.destroy()


# Webhook retries in seconds rather than hours, so outage tests finish quickly.
WEBHOOK_TEST_SETTINGS = {
    "WEBHOOKS_ALLOW_LOOPBACK": "true",
    "WEBHOOKS_POLL_SECONDS": "0.1",
    "WEBHOOKS_TIMEOUT_SECONDS": "3",
    "WEBHOOKS_BACKOFF_BASE_SECONDS": "0.2",
    "WEBHOOKS_BACKOFF_MAX_SECONDS": "2",
    "WEBHOOKS_RETRY_FOR_SECONDS": "600",
    "WEBHOOKS_DISABLE_AFTER_SECONDS": "20",
}


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory):
    """An SMTP server on loopback that the platform's e-mail goes to."""
    server = SmtpMailbox(tmp_path_factory.mktemp("mail") / "maildir")
    yield server
    server.close()


@pytest.fixture(scope="session")
def platform(namespace, mailbox, tmp_path_factory):
    """Return the gateway URL of a running, seeded platform in its own namespace."""
    run_dir = tmp_path_factory.mktemp("platform")
    port = free_port()
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT),
           "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           **WEBHOOK_TEST_SETTINGS, **LOAD_TEST_RATE_LIMITS, "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(mailbox.port), "LOG_LEVEL": "INFO",
           # Tests keep the headers of shared accounts (the operator, city
           # admins) for longer than the default 10-minute token; refresh has
           # its own tests.
           "ACCESS_TOKEN_SECONDS": "3600",
           "BADGES_KEY_PASSPHRASE": secrets.token_urlsafe(32),
           "IDENTITY_KEY_PASSPHRASE": secrets.token_urlsafe(32)}
    metrics = {name: free_port() for name, _, _ in launcher.PROCESSES}
    gateway_url = f"http://127.0.0.1:{port}"
    launcher.start(env, run_dir, metrics)
    try:
        launcher.wait_healthy(gateway_url, run_dir, timeout=90)
        report = seed(env, gateway_url, run_dir)
        accounts = Accounts(gateway_url, mailbox, env)
        yield {"url": gateway_url, "report": report, "run_dir": run_dir,
               "metrics": metrics, "amqp_uri": namespace.amqp_uri, "mailbox": mailbox,
               "env": env, "accounts": accounts}
    finally:
        launcher.stop(run_dir)
        for log in sorted(run_dir.glob("*.log")):
            sys.stderr.write(f"--- {log.name} (last lines) ---\n"
                             + launcher._tail(log, 15) + "\n")
