"""RPC proxies with a deadline, so a stopped service yields a 503 instead of a hang."""

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from gateway.errors import ServiceUnavailable


class TimedRpcProxy(RpcProxy):
    """nameko's per-worker ``RpcProxy``, with a timeout in seconds on every call.

    Each worker gets its own proxy, so concurrent requests never share one (a
    standalone ``ClusterRpcProxy`` shared by greenthreads fails on this stack).
    """

    def __init__(self, target_service, timeout=10.0, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        return _TimedProxy(super().get_dependency(worker_ctx), self.target_service,
                           self.timeout)


class _TimedProxy:
    def __init__(self, proxy, service, timeout):
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, method):
        def call(*args, **kwargs):
            try:
                reply = getattr(self._proxy, method).call_async(*args, **kwargs)
            except UnknownService as exc:
                raise ServiceUnavailable(self._service, "the service is not running") \
                    from exc
            with eventlet.Timeout(self._timeout, False):
                return reply.result()
            raise ServiceUnavailable(self._service,
                                     f"no reply within {self._timeout:g} s")

        return call
