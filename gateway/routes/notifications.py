"""Partner webhooks and e-mail unsubscribe links, from the notifications service.

A partner organisation manages its webhooks with an API key that has the
``webhooks:read`` or ``webhooks:write`` scope, or as one of its org admins
signed in. The partner id the notifications service files subscriptions under
is the organisation's id, taken from the key or the account, never from the
request. Platform operators list and requeue every city's dead-lettered
deliveries under ``/v1/webhooks/dead-letters``.
"""

from werkzeug.wrappers import Response

from gateway.access import OPERATOR, PUBLIC, Partner, partner_organization, route
from gateway.requests import json_body

WEBHOOK = "/v1/cities/<string:city>/webhooks/<string:subscription_id>"

UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><p>{message}</p>{form}</body></html>
"""
UNSUBSCRIBE_FORM = ('<form method="post"><button type="submit">'
                    'Unsubscribe / Cancelar suscripción</button></form>')


READ = "webhooks:read"
WRITE = "webhooks:write"


def partner_id(request, scope: str = READ) -> str:
    """Return the organisation the caller acts for as a partner (see ``Partner``)."""
    return partner_organization(request, request.path_values["city"], scope)


def optional_body(request) -> dict:
    return json_body(request) if request.content_length else {}


class NotificationsRoutes:
    """Routes under ``/v1/cities/<city>`` served by the notifications service."""

    @route("POST", "/v1/cities/<string:city>/webhooks", access=Partner(WRITE))
    def subscribe(self, request, city):
        """Subscribe a partner endpoint; the response shows the secret this once."""
        return 201, self.notifications_rpc.create_subscription(partner_id(request, WRITE),
                                                               json_body(request))

    @route("GET", "/v1/cities/<string:city>/webhooks", access=Partner(READ))
    def list_webhooks(self, request, city):
        return {"webhooks": self.notifications_rpc.list_subscriptions(
            partner_id(request))}

    @route("GET", WEBHOOK, access=Partner(READ))
    def get_webhook(self, request, city, subscription_id):
        return self.notifications_rpc.get_subscription(partner_id(request),
                                                       subscription_id)

    @route("PATCH", WEBHOOK, access=Partner(WRITE))
    def update_webhook(self, request, city, subscription_id):
        return self.notifications_rpc.update_subscription(
            partner_id(request, WRITE), subscription_id, json_body(request))

    @route("DELETE", WEBHOOK, access=Partner(WRITE))
    def delete_webhook(self, request, city, subscription_id):
        self.notifications_rpc.delete_subscription(partner_id(request, WRITE), subscription_id)
        return Response(status=204)

    @route("POST", f"{WEBHOOK}/rotate-secret", access=Partner(WRITE))
    def rotate_webhook_secret(self, request, city, subscription_id):
        """Return the new secret; the old one keeps signing for the overlap."""
        return self.notifications_rpc.rotate_secret(partner_id(request, WRITE), subscription_id,
                                                    optional_body(request))

    @route("GET", f"{WEBHOOK}/deliveries", access=Partner(READ))
    def list_deliveries(self, request, city, subscription_id):
        return {"deliveries": self.notifications_rpc.list_deliveries(
            partner_id(request), subscription_id, request.args.to_dict())}

    @route("GET", f"{WEBHOOK}/attempts", access=Partner(READ))
    def list_attempts(self, request, city, subscription_id):
        return {"attempts": self.notifications_rpc.list_attempts(
            partner_id(request), subscription_id, request.args.to_dict())}

    @route("POST", f"{WEBHOOK}/replay", access=Partner(WRITE))
    def replay_webhook(self, request, city, subscription_id):
        """Queue one event (``event_id``) or a range (``since``, ``until``) again."""
        return 202, self.notifications_rpc.replay(partner_id(request, WRITE), subscription_id,
                                                  json_body(request))

    @route("GET", "/v1/webhooks/dead-letters", access=OPERATOR)
    def list_dead_letters(self, request):
        """Deliveries that can no longer be sent, of every city, newest first.

        Filter with ``city`` and ``partner``; page with ``limit`` (1 to 1,000) and
        the previous page's ``next_after`` as ``after``.
        """
        return self.notifications_rpc.dead_letter_page(request.args.to_dict())

    @route("POST", "/v1/webhooks/dead-letters/<string:delivery_id>/requeue",
           access=OPERATOR)
    def requeue_dead_letter(self, request, delivery_id):
        """Send a dead letter again, once its endpoint is active; 202 when queued."""
        return 202, self.notifications_rpc.requeue_dead_letter(delivery_id)

    @route("GET", "/v1/cities/<string:city>/unsubscribe/<string:token>", access=PUBLIC)
    def unsubscribe_page(self, request, city, token):
        """Show a button, because mail scanners follow links without meaning to."""
        status = self.notifications_rpc.unsubscribe(token, False)
        message = ("You are unsubscribed. / Ya no recibirás correos."
                   if status["unsubscribed"] else
                   "Stop e-mails from Cities of Learning? / ¿Dejar de recibir correos?")
        form = "" if status["unsubscribed"] else UNSUBSCRIBE_FORM
        return Response(UNSUBSCRIBE_PAGE.format(message=message, form=form),
                        mimetype="text/html")

    @route("POST", "/v1/cities/<string:city>/unsubscribe/<string:token>", access=PUBLIC)
    def unsubscribe(self, request, city, token):
        """Unsubscribe, from the page's button or a one-click mail client (RFC 8058)."""
        self.notifications_rpc.unsubscribe(token, True)
        return Response(UNSUBSCRIBE_PAGE.format(
            message="You are unsubscribed. / Ya no recibirás correos.", form=""),
            mimetype="text/html")
