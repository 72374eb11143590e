"""Webhook and e-mail settings from the nameko config."""

import pytest

from services.notifications.settings import MailSettings, WebhookSettings


def test_defaults_retry_for_more_than_a_day():
    settings = WebhookSettings.from_config({})
    assert settings.retry_for_seconds >= 86400
    assert settings.disable_after_seconds > settings.retry_for_seconds
    assert settings.lease_seconds > settings.timeout_seconds


def test_config_values_override_defaults():
    settings = WebhookSettings.from_config({
        "WEBHOOKS_BACKOFF_BASE_SECONDS": "0.2", "WEBHOOKS_ALLOW_LOOPBACK": True,
        "WEBHOOKS_ENDPOINT_CONCURRENCY": 2, "WEBHOOKS_REQUIRE_HTTPS": "true",
        "WEBHOOKS_TIMEOUT_SECONDS": None})
    assert settings.backoff_base_seconds == 0.2
    assert settings.allow_loopback is True
    assert settings.require_https is True
    assert settings.endpoint_concurrency == 2
    assert settings.timeout_seconds == 10.0


@pytest.mark.parametrize("key, value", [
    ("WEBHOOKS_TIMEOUT_SECONDS", "soon"),
    ("WEBHOOKS_WORKERS", "0"),
    ("WEBHOOKS_BACKOFF_BASE_SECONDS", "-1"),
])
def test_invalid_value_names_key(key, value):
    with pytest.raises(ValueError, match=key):
        WebhookSettings.from_config({key: value})


def test_mail_settings_off_without_host():
    assert MailSettings.from_config({}).smtp_host == ""
    assert MailSettings.from_config({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525"}
                                    ).smtp_port == 2525
