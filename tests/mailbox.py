"""An SMTP server on loopback (aiosmtpd, in its own process) that keeps a Maildir.

aiosmtpd runs on asyncio, which does not mix with the eventlet monkey patch the
tests use, so the server runs as a child process and the tests read its Maildir.
"""

import mailbox
import socket
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpMailbox:
    """Start ``python -m aiosmtpd`` on 127.0.0.1 storing mail under ``directory``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("aiosmtpd exited: "
                                   + self.process.stderr.read().decode(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"aiosmtpd did not listen on port {self.port} in {timeout} s")

    def messages(self) -> list:
        """Return every received message as an ``email.message.EmailMessage``, in
        the order they arrived (a Maildir lists its files in no particular order)."""
        if not (self.directory / "new").exists():
            return []
        parser = BytesParser(policy=policy.default)
        received = sorted(mailbox.Maildir(self.directory, create=False),
                          key=lambda message: message.get_date())
        return [parser.parsebytes(message.as_bytes()) for message in received]

    def wait_for(self, predicate, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            if predicate(messages) or time.monotonic() > deadline:
                return messages
            time.sleep(0.2)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
