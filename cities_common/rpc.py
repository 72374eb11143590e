"""The ``rpc`` entrypoint that every service uses in place of nameko's own.

A service raises ``PlatformError`` subclasses (invalid input, not found,
conflict) for callers to act on. Declaring them as expected exceptions makes
nameko log each one as a single warning line rather than as an error with a
traceback, so the logs keep tracebacks for real faults.
"""

from nameko.rpc import Rpc

from cities_common.errors import PlatformError


def rpc(fn=None, **kwargs):
    """Decorate a service method as an RPC entrypoint, as nameko's ``rpc`` does.

    Works bare (``@rpc``) and with arguments (``@rpc(sensitive_arguments=...)``).
    """
    kwargs.setdefault("expected_exceptions", (PlatformError,))
    decorate = Rpc.decorator(**kwargs)
    return decorate(fn) if fn is not None else decorate
