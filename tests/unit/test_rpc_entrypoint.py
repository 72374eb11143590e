"""The platform's ``rpc`` decorator declares client errors as expected."""

from cities_common.errors import NotFound, PlatformError
from cities_common.rpc import rpc


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
