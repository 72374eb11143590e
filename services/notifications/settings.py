"""Webhook and e-mail settings, read from the nameko config (``deploy/nameko.yml``).

Every key has a production default. Tests shorten the retry schedule through the
environment, for example ``WEBHOOKS_BACKOFF_BASE_SECONDS=0.2``.
"""

from dataclasses import dataclass

TRUE_WORDS = ("1", "true", "yes", "on")


def _flag(value) -> bool:
    return str(value).strip().lower() in TRUE_WORDS


def _number(config: dict, key: str, default: float, minimum: float) -> float:
    raw = config.get(key)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}={raw!r} is invalid: expected a number") from exc
    if value < minimum:
        raise ValueError(f"{key}={raw!r} is invalid: expected at least {minimum:g}")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    """Limits for checking, sending, retrying and giving up on deliveries.

    Times are in seconds. The defaults retry a message for 26 hours, so a partner
    that is down for a whole day still gets every event, and disable an endpoint
    that has failed without a single success for 5 days.
    """

    allow_loopback: bool = False
    require_https: bool = False
    timeout_seconds: float = 10.0
    endpoint_concurrency: int = 4
    workers: int = 50
    batch_size: int = 100
    poll_seconds: float = 0.5
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    retry_for_seconds: float = 26 * 3600.0
    disable_after_seconds: float = 5 * 86400.0
    rotation_overlap_seconds: float = 86400.0

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery stays invisible to other processes.

        It outlasts one attempt (the timeout) plus the usual time to record it, so
        a delivery is sent twice mostly when its process died mid-attempt, or when
        the store was unreachable for longer than the lease.
        """
        return max(30.0, 3 * self.timeout_seconds + 10)

    @classmethod
    def from_config(cls, config: dict) -> "WebhookSettings":
        """Read the ``WEBHOOKS_*`` keys; raise ``ValueError`` naming a bad one."""
        defaults = cls()

        def number(key, default, minimum):
            return _number(config, f"WEBHOOKS_{key}", default, minimum)

        return cls(
            allow_loopback=_flag(config.get("WEBHOOKS_ALLOW_LOOPBACK", False)),
            require_https=_flag(config.get("WEBHOOKS_REQUIRE_HTTPS", False)),
            timeout_seconds=number("TIMEOUT_SECONDS", defaults.timeout_seconds, 0.1),
            endpoint_concurrency=int(number("ENDPOINT_CONCURRENCY",
                                            defaults.endpoint_concurrency, 1)),
            workers=int(number("WORKERS", defaults.workers, 1)),
            batch_size=int(number("BATCH_SIZE", defaults.batch_size, 1)),
            poll_seconds=number("POLL_SECONDS", defaults.poll_seconds, 0.01),
            backoff_base_seconds=number("BACKOFF_BASE_SECONDS",
                                        defaults.backoff_base_seconds, 0.01),
            backoff_max_seconds=number("BACKOFF_MAX_SECONDS",
                                       defaults.backoff_max_seconds, 0.01),
            retry_for_seconds=number("RETRY_FOR_SECONDS", defaults.retry_for_seconds, 0),
            disable_after_seconds=number("DISABLE_AFTER_SECONDS",
                                         defaults.disable_after_seconds, 0),
            rotation_overlap_seconds=number("ROTATION_OVERLAP_SECONDS",
                                            defaults.rotation_overlap_seconds, 0),
        )


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server and sender address. An empty ``smtp_host`` keeps mail queued."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    sender: str = "Cities of Learning <no-reply@citiesoflearning.org>"
    timeout_seconds: float = 10.0
    max_attempts: int = 8

    @classmethod
    def from_config(cls, config: dict) -> "MailSettings":
        defaults = cls()
        return cls(
            smtp_host=str(config.get("SMTP_HOST") or ""),
            smtp_port=int(_number(config, "SMTP_PORT", defaults.smtp_port, 1)),
            smtp_starttls=_flag(config.get("SMTP_STARTTLS", False)),
            smtp_username=str(config.get("SMTP_USERNAME") or ""),
            smtp_password=str(config.get("SMTP_PASSWORD") or ""),
            sender=str(config.get("MAIL_FROM") or defaults.sender),
            timeout_seconds=_number(config, "SMTP_TIMEOUT_SECONDS",
                                    defaults.timeout_seconds, 0.1),
        )
