"""Standard Webhooks signing and the CloudEvents body of each delivery."""

import base64
import json
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """Return a fresh ``whsec_`` secret: 32 random bytes, base64-encoded."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: datetime, body: str) -> str:
    """Return the ``webhook-signature`` header: ``v1,`` + HMAC-SHA256 of id.timestamp.body."""
    return Webhook(secret).sign(message_id, timestamp, body)


def cloud_event(envelope: dict, source_service: str, webhook_type: str) -> str:
    """Render an event envelope as a CloudEvents 1.0 JSON body."""
    return json.dumps({
        "specversion": "1.0",
        "id": envelope["event_id"],
        "source": f"/cities/{envelope['city']}/{source_service}",
        "type": f"org.citiesoflearning.{webhook_type}",
        "time": envelope["occurred_at"],
        "datacontenttype": "application/json",
        "subject": envelope["city"],
        "data": {**envelope["data"], "city": envelope["city"]},
    }, separators=(",", ":"), sort_keys=True)
