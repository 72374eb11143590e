"""Standard Webhooks signing and the CloudEvents body of each delivery."""

import base64
import json
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from services.notifications.webhook_types import CLOUD_EVENT_TYPE_PREFIX, partner_data

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """Return a fresh ``whsec_`` secret: 32 random bytes, base64-encoded."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: datetime, body: str) -> str:
    """Return one signature, ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    return Webhook(secret).sign(message_id, timestamp, body)


def signature_header(signing_secrets: list[str], message_id: str, timestamp: datetime,
                     body: str) -> str:
    """Return the ``webhook-signature`` header: one signature per secret, space-separated.

    During a rotation's overlap window ``signing_secrets`` contains the new secret
    and the old one, so a receiver that still has only the old secret accepts the
    message, as the Standard Webhooks specification allows.
    """
    return " ".join(sign(secret, message_id, timestamp, body)
                    for secret in signing_secrets)


def cloud_event(envelope: dict, source_service: str, webhook_type: str) -> str:
    """Render an event envelope as a CloudEvents 1.0 JSON body (structured mode)."""
    return json.dumps({
        "specversion": "1.0",
        "id": envelope["event_id"],
        "source": f"/cities/{envelope['city']}/{source_service}",
        "type": CLOUD_EVENT_TYPE_PREFIX + webhook_type,
        "time": envelope["occurred_at"],
        "datacontenttype": "application/json",
        "subject": envelope["city"],
        "data": partner_data(envelope),
    }, separators=(",", ":"), sort_keys=True)
