"""Partner webhooks and e-mail unsubscribe links, from the notifications service.

The ``X-Partner-Id`` header names the partner making a webhook request, and the
routes pass it to the service as an argument. ``partner_id`` is the only place
that reads it. The header is not authenticated. Gateway API keys will replace it,
and that function will then return the partner of the verified key instead.
"""

from werkzeug.wrappers import Response

from gateway.entrypoints import http
from gateway.requests import json_body

PARTNER_HEADER = "X-Partner-Id"
WEBHOOK = "/v1/cities/<string:city>/webhooks/<string:subscription_id>"

UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><p>{message}</p>{form}</body></html>
"""
UNSUBSCRIBE_FORM = ('<form method="post"><button type="submit">'
                    'Unsubscribe / Cancelar suscripción</button></form>')


def partner_id(request) -> str | None:
    """Return the calling partner's id, or None when the request names none.

    NOTE: the header is trusted as given until gateway API keys exist; the
    partner id is what will come from the key.
    """
    return request.headers.get(PARTNER_HEADER) or None


def optional_body(request) -> dict:
    return json_body(request) if request.content_length else {}


class NotificationsRoutes:
    """Routes under ``/v1/cities/<city>`` served by the notifications service."""

    @http("POST", "/v1/cities/<string:city>/webhooks")
    def subscribe(self, request, city):
        """Subscribe a partner endpoint; the response shows the secret this once.

        The partner comes from ``X-Partner-Id`` or, without it, the body's ``partner``.
        """
        return 201, self.notifications_rpc.create_subscription(partner_id(request),
                                                               json_body(request))

    @http("GET", "/v1/cities/<string:city>/webhooks")
    def list_webhooks(self, request, city):
        return {"webhooks": self.notifications_rpc.list_subscriptions(
            partner_id(request))}

    @http("GET", WEBHOOK)
    def get_webhook(self, request, city, subscription_id):
        return self.notifications_rpc.get_subscription(partner_id(request),
                                                       subscription_id)

    @http("PATCH", WEBHOOK)
    def update_webhook(self, request, city, subscription_id):
        return self.notifications_rpc.update_subscription(
            partner_id(request), subscription_id, json_body(request))

    @http("DELETE", WEBHOOK)
    def delete_webhook(self, request, city, subscription_id):
        self.notifications_rpc.delete_subscription(partner_id(request), subscription_id)
        return Response(status=204)

    @http("POST", f"{WEBHOOK}/rotate-secret")
    def rotate_webhook_secret(self, request, city, subscription_id):
        """Return the new secret; the old one keeps signing for the overlap."""
        return self.notifications_rpc.rotate_secret(partner_id(request), subscription_id,
                                                    optional_body(request))

    @http("GET", f"{WEBHOOK}/deliveries")
    def list_deliveries(self, request, city, subscription_id):
        return {"deliveries": self.notifications_rpc.list_deliveries(
            partner_id(request), subscription_id, request.args.to_dict())}

    @http("GET", f"{WEBHOOK}/attempts")
    def list_attempts(self, request, city, subscription_id):
        return {"attempts": self.notifications_rpc.list_attempts(
            partner_id(request), subscription_id, request.args.to_dict())}

    @http("POST", f"{WEBHOOK}/replay")
    def replay_webhook(self, request, city, subscription_id):
        """Queue one event (``event_id``) or a range (``since``, ``until``) again."""
        return 202, self.notifications_rpc.replay(partner_id(request), subscription_id,
                                                  json_body(request))

    @http("GET", "/v1/cities/<string:city>/unsubscribe/<string:token>")
    def unsubscribe_page(self, request, city, token):
        """Show a button, because mail scanners follow links without meaning to."""
        status = self.notifications_rpc.unsubscribe(token, False)
        message = ("You are unsubscribed. / Ya no recibirás correos."
                   if status["unsubscribed"] else
                   "Stop e-mails from Cities of Learning? / ¿Dejar de recibir correos?")
        form = "" if status["unsubscribed"] else UNSUBSCRIBE_FORM
        return Response(UNSUBSCRIBE_PAGE.format(message=message, form=form),
                        mimetype="text/html")

    @http("POST", "/v1/cities/<string:city>/unsubscribe/<string:token>")
    def unsubscribe(self, request, city, token):
        """Unsubscribe, from the page's button or a one-click mail client (RFC 8058)."""
        self.notifications_rpc.unsubscribe(token, True)
        return Response(UNSUBSCRIBE_PAGE.format(
            message="You are unsubscribed. / Ya no recibirás correos.", form=""),
            mimetype="text/html")
