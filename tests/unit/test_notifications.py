import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from services.notifications.delivery import backoff_seconds
from services.notifications.signing import cloud_event, new_secret, sign
from services.notifications.urls import UnsafeUrl, check_webhook_url


def test_sign_matches_plain_hmac():
    secret = new_secret()
    timestamp = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)
    body = '{"a":1}'
    signature = sign(secret, "msg_1", timestamp, body)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_1.{int(timestamp.timestamp())}.{body}".encode(),
                      hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(digest).decode()


def test_new_secret_has_prefix_and_32_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_cloud_event_carries_city():
    body = json.loads(cloud_event({"event_id": "e1", "city": "dallas",
                                   "occurred_at": "2026-12-04T15:00:00+00:00",
                                   "data": {"assertion_id": "a"}},
                                  "badges", "badge.issued"))
    assert body["specversion"] == "1.0"
    assert body["id"] == "e1"
    assert body["data"]["city"] == "dallas"
    assert body["type"] == "org.citiesoflearning.badge.issued"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://localhost/hook",
    "ftp://example.org/hook",
    "http:///nohost",
])
def test_check_webhook_url_rejects(url):
    with pytest.raises(UnsafeUrl):
        check_webhook_url(url)


def test_check_webhook_url_allows_loopback_when_asked():
    check_webhook_url("http://127.0.0.1:9000/hook", allow_loopback=True)


def test_check_webhook_url_requires_https_when_asked():
    with pytest.raises(UnsafeUrl):
        check_webhook_url("http://127.0.0.1/hook", allow_loopback=True,
                          require_https=True)


def test_backoff_grows_and_is_capped():
    assert 1 <= backoff_seconds(1) <= 2
    assert 512 <= backoff_seconds(10) <= 1024
    assert backoff_seconds(40) <= 3600
