"""The ``rpc`` entrypoint that every service uses in place of nameko's own.

A service raises ``PlatformError`` subclasses (invalid input, not found,
conflict) for callers to act on. Declaring them as expected exceptions makes
nameko log each one as a single warning line rather than as an error with a
traceback, so the logs keep tracebacks for real faults.

Replies differ from nameko's in two ways that matter for latency on a small
machine. A reply is serialised once (nameko serialises it a second time to check
that it can), and it is published without a publisher confirm and as a transient
message. A reply goes to the caller's own reply queue, which lives only as long
as the caller's connection, so a confirm or a disk write protects nothing the
caller's timeout does not already cover: a lost reply is a call that timed out.
Events keep confirms and persistence (``cities_common.dispatch``).
"""

import sys

import kombu.serialization
from kombu.serialization import registry
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import UnserializableValueError, serialize
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange

from cities_common.errors import PlatformError

TRANSIENT = 1


class _Responder(Responder):
    def send_response(self, result, exc_info):
        """Publish ``result`` or the error to the caller; return what was sent."""
        content_type = self.message.properties["content_type"]
        serializer = registry.type_to_name[content_type]
        error = serialize(exc_info[1]) if exc_info is not None else None
        try:
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": result, "error": error}, serializer)
        except Exception:
            exc_info = sys.exc_info()
            result, error = None, serialize(UnserializableValueError(result))
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": result, "error": error}, serializer)
        publisher = Publisher(self.amqp_uri, ssl=self.ssl,
                              login_method=self.login_method, use_confirms=False,
                              delivery_mode=TRANSIENT)
        publisher.publish(body, content_type=content_type, content_encoding=encoding,
                          exchange=self.exchange,
                          routing_key=self.message.properties["reply_to"],
                          correlation_id=self.message.properties.get("correlation_id"))
        return result, exc_info


class _RpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class PlatformRpc(Rpc):
    """nameko's ``Rpc`` entrypoint with the replies described above."""

    rpc_consumer = _RpcConsumer()


def rpc(fn=None, **kwargs):
    """Decorate a service method as an RPC entrypoint, as nameko's ``rpc`` does.

    Works bare (``@rpc``) and with arguments (``@rpc(sensitive_arguments=...)``).
    Every entrypoint of a service must come from here: a service mixing it with
    nameko's ``rpc`` would run two consumers on one queue.
    """
    kwargs.setdefault("expected_exceptions", (PlatformError,))
    decorate = PlatformRpc.decorator(**kwargs)
    return decorate(fn) if fn is not None else decorate
