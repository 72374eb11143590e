"""The platform's ``rpc`` entrypoint: expected client errors, and how it replies."""

import json
import sys

from nameko.rpc import Rpc

import cities_common.rpc as rpc_module
from cities_common.errors import NotFound, PlatformError
from cities_common.rpc import rpc
from services.badges.service import BadgesService
from services.catalog.service import CatalogService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from services.search.service import SearchService


class Example:
    name = "example"

    @rpc
    def bare(self):
        raise NotFound("missing")

    @rpc(sensitive_arguments=("secret",))
    def with_arguments(self, secret):
        return secret


def entrypoint_of(method):
    (entrypoint,) = method.nameko_entrypoints
    return entrypoint


def test_bare_decorator_expects_platform_errors():
    assert entrypoint_of(Example.bare).expected_exceptions == (PlatformError,)


def test_decorator_arguments_are_kept():
    entrypoint = entrypoint_of(Example.with_arguments)
    assert entrypoint.expected_exceptions == (PlatformError,)
    assert entrypoint.sensitive_arguments == ("secret",)


class Message:
    properties = {"content_type": "application/json", "reply_to": "rpc.reply-caller",
                  "correlation_id": "c-1"}


class Published:
    """Stands in for nameko's ``Publisher`` and records what a reply sends."""

    calls: list = []

    def __init__(self, amqp_uri, **options):
        self.options = options

    def publish(self, body, **kwargs):
        Published.calls.append({"body": body, **self.options, **kwargs})


def reply(monkeypatch, result, exc_info=None):
    monkeypatch.setattr(rpc_module, "Publisher", Published)
    Published.calls = []
    responder = rpc_module._Responder("amqp://127.0.0.1/", "nameko-rpc", "json",
                                      Message())
    answer = responder.send_response(result, exc_info)
    (call,) = Published.calls
    return answer, call


def test_reply_is_serialised_once_and_sent_without_confirm(monkeypatch):
    answer, call = reply(monkeypatch, {"total": 3})
    assert answer == ({"total": 3}, None)
    assert json.loads(call["body"]) == {"result": {"total": 3}, "error": None}
    assert call["content_type"] == "application/json"
    assert call["use_confirms"] is False
    assert call["delivery_mode"] == 1
    assert call["routing_key"] == "rpc.reply-caller"
    assert call["correlation_id"] == "c-1"


def test_reply_carries_the_error(monkeypatch):
    try:
        raise NotFound("opportunity o-1 not found in chicago")
    except NotFound:
        exc_info = sys.exc_info()
    _, call = reply(monkeypatch, None, exc_info)
    error = json.loads(call["body"])["error"]
    assert error["exc_type"] == "NotFound"
    assert "o-1" in error["value"]


def test_unserialisable_result_becomes_an_error(monkeypatch):
    (result, exc_info), call = reply(monkeypatch, {"when": object()})
    assert result is None
    assert exc_info is not None
    assert json.loads(call["body"])["error"]["exc_type"] == "UnserializableValueError"


def test_every_service_uses_the_platform_entrypoint():
    services = [BadgesService, CatalogService, IdentityService, NotificationsService,
                RegistrationService, SearchService]
    for service in services:
        for name in dir(service):
            for entrypoint in getattr(getattr(service, name), "nameko_entrypoints", ()):
                if isinstance(entrypoint, Rpc):
                    assert isinstance(entrypoint, rpc_module.PlatformRpc), name
