"""API views of stored webhook records: ids and ISO times, never stored secrets."""

from datetime import datetime

from services.notifications.storage import aware, public

SUBSCRIPTION_FIELDS = ("city", "partner", "url", "event_types", "description",
                       "contact_email", "language", "status", "disabled_reason",
                       "disabled_at", "failing_since", "created_at", "updated_at")


def subscription_view(document: dict, now: datetime, secret: str | None = None) -> dict:
    """Return a subscription for its partner; ``secret`` only right after it is made."""
    view = public({key: document.get(key) for key in ("_id", *SUBSCRIPTION_FIELDS)})
    overlapping = [item["expires_at"] for item in document["secrets"]
                   if item["expires_at"] is not None and aware(item["expires_at"]) > now]
    view["previous_secret_expires_at"] = (
        aware(max(overlapping)).isoformat() if overlapping else None)
    if secret is not None:
        view["secret"] = secret
    return view


def delivery_view(document: dict) -> dict:
    view = public({key: value for key, value in document.items()
                   if key not in ("body", "lease_token", "window_started_at")})
    view["webhook_id"] = view.get("webhook_id") or view["id"]
    return view


def attempt_view(document: dict) -> dict:
    view = public(document)
    view["id"] = str(view["id"])
    return view
