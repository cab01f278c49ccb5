"""The HTTP client webhooks go out through: checked addresses, short timeouts, a total bound.

httpx leaves name resolution to the socket layer, which would look the host up again after we
checked it. Here the connection pool's network backend resolves the name itself, refuses it
unless every address is public (or the host is on the allow list), and connects to the checked
address; TLS still verifies the certificate for the name in the URL (SNI), and the Host header
is the URL's. Each read and write is also cut to what is left of the attempt's total time, so a
receiver that trickles its answer cannot hold a sender for long.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

import httpcore
import httpx

from selpo.notify.destination import (
    DNS_TIMEOUT_S,
    DestinationRefused,
    Resolver,
    check_addresses,
    check_url,
    is_allowed_host,
    resolve_within,
    system_resolve,
)

USER_AGENT = "selpo-webhooks/1"
CONNECT_TIMEOUT_S = 3.0
ATTEMPT_TIMEOUT_S = 10.0

_deadline: ContextVar[float | None] = ContextVar("selpo_webhook_deadline", default=None)


@contextlib.contextmanager
def attempt_deadline(seconds: float) -> Iterator[None]:
    """Bound every network operation of the requests made inside to ``seconds`` in all."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the attempt ran out of time")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the attempt's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _BoundedStream(
            self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class CheckedBackend(httpcore.NetworkBackend):
    """Resolves, checks, then connects to the address it checked (never to a name)."""

    def __init__(self, *, allow_hosts: frozenset[str], resolve: Resolver = system_resolve) -> None:
        self.allow_hosts = allow_hosts
        self.resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        budget = _bounded(timeout)
        addresses = resolve_within(
            host,
            port,
            resolve=self.resolve,
            timeout_s=DNS_TIMEOUT_S if budget is None else min(budget, DNS_TIMEOUT_S),
        )
        if not is_allowed_host(host, self.allow_hosts):
            check_addresses(addresses)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address, port, _bounded(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _BoundedStream(stream)
        assert failure is not None  # resolve_within never answers an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise DestinationRefused("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport with the connection pool built on ``CheckedBackend``, no proxies."""

    def __init__(
        self,
        *,
        allow_hosts: frozenset[str],
        resolve: Resolver,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        self.allow_hosts = allow_hosts
        # The one hook httpx lacks: give the pool our network backend (same settings otherwise).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(allow_hosts=allow_hosts, resolve=resolve),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse a URL whose form breaks the rules (http off the allow list) before sending."""
        check_url(str(request.url), allow_hosts=self.allow_hosts)
        return super().handle_request(request)


def make_http_client(
    *,
    allow_hosts: frozenset[str] = frozenset(),
    resolve: Resolver = system_resolve,
    max_connections: int = 64,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The client webhook delivery uses: checked addresses, no redirects, no proxies from the
    environment, a short connect timeout (the total per attempt is ``attempt_deadline``).
    ``ssl_context``: whom https trusts (default: the usual certificate authorities; tests
    trust their own loopback receiver's)."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=min(32, max_connections)
    )
    return httpx.Client(
        transport=CheckedTransport(
            allow_hosts=allow_hosts, resolve=resolve, limits=limits, ssl_context=ssl_context
        ),
        timeout=httpx.Timeout(ATTEMPT_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )
