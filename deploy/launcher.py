"""Start, seed and stop the platform's nameko services on this machine.

Used by ``deploy/up`` and ``deploy/down`` and by the end-to-end tests, which start
their own copy in a separate namespace (RabbitMQ vhost, database and index prefix).

    python deploy/launcher.py start|stop|status|seed|sample|operator|mail
"""

import argparse
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cities_common.config import load_settings  # noqa: E402

logger = logging.getLogger("platform")

# (process name, nameko service path, default metrics port)
PROCESSES = [
    ("catalog", "services.catalog.service:CatalogService", 9101),
    ("search", "services.search.service:SearchService", 9102),
    ("registration", "services.registration.service:RegistrationService", 9103),
    ("badges", "services.badges.service:BadgesService", 9104),
    ("notifications", "services.notifications.service:NotificationsService", 9105),
    ("gateway", "gateway.service:GatewayService", 9106),
    ("identity", "services.identity.service:IdentityService", 9107),
]


# Without an SMTP server of the operator's, ``deploy/up`` runs a local one (aiosmtpd)
# on this port (``COL_LOCAL_MAIL_PORT``) that keeps every message in ``var/mail``,
# so a newcomer can read sign-up links with ``launcher.py mail``.
LOCAL_MAIL_PORT = 8025
# The services' metrics ports are this base (``COL_METRICS_PORT_BASE``) plus their
# place in ``PROCESSES``, so a second platform on one machine can move all of them.
METRICS_PORT_BASE = PROCESSES[0][2]
LOCAL_MAIL = "mail"


class PlatformError(RuntimeError):
    """A service did not start or become healthy; the message names it and its log."""


def var_dir() -> Path:
    return Path(os.environ.get("COL_VAR_DIR", ROOT / "var"))


def start(env: dict, run_dir: Path, metrics_ports: dict | None = None) -> None:
    """Start every service not already running, each as its own process.

    ``env`` is the environment the processes get (AMQP_URI, MONGO_URL, ES_URL,
    COL_NAMESPACE, GATEWAY_ADDRESS...). Logs go to ``run_dir/<name>.log``.
    """
    from cities_common.topology import declare

    run_dir.mkdir(parents=True, exist_ok=True)
    declare(env["AMQP_URI"])
    if env.get("COL_LOCAL_MAIL_DIR"):
        start_local_mail(Path(env["COL_LOCAL_MAIL_DIR"]), run_dir,
                         int(env.get("SMTP_PORT") or LOCAL_MAIL_PORT))
    base = int(env.get("COL_METRICS_PORT_BASE") or METRICS_PORT_BASE)
    for name, path, port in PROCESSES:
        pid_file = run_dir / f"{name}.pid"
        if _alive(pid_file):
            continue
        default_port = base + port - METRICS_PORT_BASE
        process_env = {**env, "METRICS_PORT": str((metrics_ports or {}).get(
            name, default_port))}
        log = open(run_dir / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config",
             str(ROOT / "deploy" / "nameko.yml"), path],
            cwd=ROOT, env=process_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        logger.info("started %s (pid %s)", name, process.pid)


def start_local_mail(directory: Path, run_dir: Path, port: int = LOCAL_MAIL_PORT) -> None:
    """Start the local SMTP server that stores mail as a Maildir in ``directory``."""
    pid_file = run_dir / f"{LOCAL_MAIL}.pid"
    if _alive(pid_file):
        return
    log = open(run_dir / f"{LOCAL_MAIL}.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(directory)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pid_file.write_text(str(process.pid))
    logger.info("started the local mail server on 127.0.0.1:%s (pid %s)",
                port, process.pid)


def print_mail(directory: Path, recipient: str | None, count: int = 5) -> None:
    """Print the newest messages the local mail server stored, for ``recipient``."""
    import mailbox
    from email import policy
    from email.parser import BytesParser

    if not (directory / "new").exists():
        print(f"no mail yet in {directory}")
        return
    parser = BytesParser(policy=policy.default)
    stored = sorted(mailbox.Maildir(directory, create=False),
                    key=lambda message: message.get_date())
    messages = [parser.parsebytes(message.as_bytes()) for message in stored]
    if recipient:
        messages = [message for message in messages
                    if recipient.lower() in str(message["To"]).lower()]
    for message in messages[-count:]:
        body = message.get_body(preferencelist=("plain", "html"))
        print(f"To: {message['To']}\nSubject: {message['Subject']}\n\n"
              f"{body.get_content().strip() if body is not None else ''}\n{'-' * 60}")


def wait_healthy(gateway_url: str, run_dir: Path, timeout: float = 60.0) -> None:
    """Wait until the gateway reports every service healthy; raise ``PlatformError``."""
    deadline = time.monotonic() + timeout
    report = None
    while time.monotonic() < deadline:
        for name, _, _ in PROCESSES:
            if not _alive(run_dir / f"{name}.pid"):
                raise PlatformError(f"service {name} exited; see {run_dir / name}.log:\n"
                                    + _tail(run_dir / f"{name}.log"))
        try:
            response = requests.get(f"{gateway_url}/health", timeout=5)
            report = response.json()
            if response.status_code == 200:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise PlatformError(f"services not healthy after {timeout:g} s: {report}; "
                        f"logs are in {run_dir}")


def stop(run_dir: Path, timeout: float = 15.0) -> None:
    """Stop every service started from ``run_dir``; SIGKILL whatever outlives ``timeout``."""
    pids = {}
    for name in [name for name, _, _ in PROCESSES] + [LOCAL_MAIL]:
        pid_file = run_dir / f"{name}.pid"
        if _alive(pid_file):
            pid = int(pid_file.read_text())
            os.killpg(pid, signal.SIGTERM)
            pids[name] = pid
        pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    for name, pid in pids.items():
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        logger.info("stopped %s", name)


def status(run_dir: Path) -> dict:
    return {name: _alive(run_dir / f"{name}.pid") for name, _, _ in PROCESSES}


def _alive(pid_file: Path) -> bool:
    if not pid_file.exists():
        return False
    try:
        return _pid_alive(int(pid_file.read_text()))
    except ValueError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); its /proc status says so.
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# The sample search that deploy/up prints: what is near Chicago's central
# library, the Harold Washington Library Center.
SAMPLE_SEARCH = {"lat": 41.8763, "lon": -87.6281, "radius_km": 2, "page_size": 5}


def sample_search(gateway_url: str) -> str:
    """Run the sample search through the gateway and describe its results."""
    url = f"{gateway_url}/v1/cities/chicago/opportunities"
    response = requests.get(url, params=SAMPLE_SEARCH, timeout=10)
    response.raise_for_status()
    body = response.json()
    lines = [f"  {body['total']} Chicago opportunities within {SAMPLE_SEARCH['radius_km']} km "
             "of the Harold Washington Library Center, nearest first:"]
    for item in body["results"]:
        provider = (item.get("provider") or {}).get("name", "")
        lines.append(f"  {item['distance']['km']:5.2f} km  {item['title']}  ({provider})")
    return "\n".join(lines)


OPERATOR_EMAIL = "operator@localhost"


def ensure_operator(env: dict, directory: Path) -> Path:
    """Create the local operator account once; return the file with its password.

    The password is generated here and written to a file only its owner can read,
    never printed, so it stays out of terminal scrollback and CI logs.
    """
    path = directory / "operator-credentials.json"
    if path.exists():
        return path
    password = secrets.token_urlsafe(18)
    result = subprocess.run(
        [sys.executable, "-m", "services.identity.cli", "create-operator",
         "--email", OPERATOR_EMAIL, "--password-stdin", "--reset-password"],
        input=password, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise PlatformError("could not create the operator account: "
                            + (result.stderr or result.stdout).strip()[-500:])
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"email": OPERATOR_EMAIL, "password": password}, handle)
    return path


# Passphrases that encrypt signing keys at rest, and the file under var/ where
# deploy/up keeps a generated one when the environment has none.
KEY_PASSPHRASES = {"BADGES_KEY_PASSPHRASE": "badges-key-passphrase",
                   "IDENTITY_KEY_PASSPHRASE": "identity-key-passphrase"}


def key_passphrase(directory: Path, name: str) -> str:
    """Return the passphrase kept in ``directory / name``, creating it once.

    The file is readable only by its owner. Losing it makes the stored signing
    keys unreadable, so it is never replaced once written.
    """
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def platform_env() -> dict:
    """Return the environment of the local platform: the stack's URLs and defaults.

    Without ``BADGES_KEY_PASSPHRASE`` or ``IDENTITY_KEY_PASSPHRASE`` in the
    environment, the signing keys are encrypted under a passphrase kept in
    ``var/badges-key-passphrase`` or ``var/identity-key-passphrase``.
    """
    env = dict(os.environ)
    for setting, name in KEY_PASSPHRASES.items():
        if not env.get(setting):
            env[setting] = key_passphrase(var_dir(), name)
    settings = load_settings()
    env.update(AMQP_URI=settings.amqp_uri, MONGO_URL=settings.mongo_url,
               ES_URL=settings.es_url, PYTHONPATH=str(ROOT))
    env.setdefault("GATEWAY_ADDRESS", "127.0.0.1:8000")
    env.setdefault("PUBLIC_BASE_URL", f"http://{env['GATEWAY_ADDRESS']}")
    if not env.get("SMTP_HOST"):
        env.update(SMTP_HOST="127.0.0.1",
                   SMTP_PORT=env.get("COL_LOCAL_MAIL_PORT") or str(LOCAL_MAIL_PORT),
                   COL_LOCAL_MAIL_DIR=str(var_dir() / "mail"))
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "seed", "sample",
                                                "operator", "mail"])
    parser.add_argument("--to", default=None,
                        help="with mail: show only messages to this address")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    env = platform_env()
    run_dir = var_dir() / "services"
    gateway_url = f"http://{env['GATEWAY_ADDRESS']}"
    try:
        if args.command == "start":
            start(env, run_dir)
            wait_healthy(gateway_url, run_dir)
            logger.info("all services healthy; gateway at %s", gateway_url)
        elif args.command == "stop":
            stop(run_dir)
        elif args.command == "status":
            print(json.dumps(status(run_dir), indent=2))
        elif args.command == "seed":
            from deploy.seed import seed

            seed(env, gateway_url, var_dir())
        elif args.command == "sample":
            print(sample_search(gateway_url))
        elif args.command == "operator":
            print(ensure_operator(env, var_dir()))
        elif args.command == "mail":
            print_mail(var_dir() / "mail", args.to)
    except PlatformError as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
