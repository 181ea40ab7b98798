"""An httpx transport that goes through the SSRF guard and keeps a deadline over a whole job.

httpx resolves and connects inside httpcore; the only seam that sees every socket is httpcore's
network backend. `GuardedBackend.connect_tcp` gets the URL's host and port, resolves them and
validates every address with the webhook guard (http/ssrf.py, the one address classifier),
connects to the validated address (so a DNS answer that changes between check and connect cannot
reach inside), and checks the connected peer once more. httpcore keeps using the URL's host for
the `Host` header and for TLS (SNI and the certificate check), so only the TCP destination is
pinned. Every new connection (every page, every redirect httpx would follow) goes through here.

The deadline bounds the job, not one call: each connect, read, write and TLS handshake gets at
most the time left until it, so a server that drips one byte every few seconds cannot keep a web
request or a worker past it. Resolution runs in a small thread pool for the same reason
(getaddrinfo has no timeout of its own).
"""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import certifi
import httpcore
import httpx

from apps.integrations_external.http import ssrf
from apps.integrations_external.http.errors import TargetRefused, TemporaryError

_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guarded-dns")


class DeadlineExceeded(TemporaryError):
    """The job's time budget ran out before the remote answered in full."""


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every operation waits at most until the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float | None) -> None:
        self._stream = stream
        self._deadline = deadline

    def _bounded(self, timeout: float | None, timeout_error: type[Exception]) -> float | None:
        if self._deadline is None:
            return timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise timeout_error("the time budget of this job is spent")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, bounded), self._deadline
        )

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend behind the SSRF guard and a deadline."""

    def __init__(self, *, deadline: float | None = None) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def _left(self) -> float | None:
        if self._deadline is None:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the time budget of this job is spent")
        return left

    def _resolve(self, host: str, port: int) -> list[str]:
        future = _resolver.submit(ssrf.resolve, host, port)
        try:
            return future.result(timeout=self._left())
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except (socket.gaierror, UnicodeError) as exc:
            raise TemporaryError(f"could not resolve {host}: {exc}") from exc

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options=None,
    ) -> httpcore.NetworkStream:
        address = host
        if not ssrf.private_targets_allowed():
            address = str(ssrf.check_addresses(host, self._resolve(host, port)))
        left = self._left()
        if left is not None:
            timeout = left if timeout is None else min(timeout, left)
        stream = self._backend.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        peer = stream.get_extra_info("server_addr")
        reason = ssrf.refusal_for_peer(peer[0]) if peer else None
        if reason:
            stream.close()
            raise TargetRefused(reason)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout=None, socket_options=None):
        raise TargetRefused("Unix sockets are not an allowed target.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """Certificates checked against `ca_bundle` (a PEM file), else certifi's public CAs."""
    return ssl.create_default_context(cafile=ca_bundle or certifi.where())


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request building, exception mapping, response streaming) over a
    connection pool whose every socket goes through GuardedBackend. No proxies from the
    environment: a proxy would connect for us and bypass the guard."""

    def __init__(
        self,
        *,
        deadline: float | None = None,
        ca_bundle: str = "",
        limits: httpx.Limits = httpx.Limits(max_connections=10, max_keepalive_connections=5),
    ) -> None:
        context = ssl_context(ca_bundle)
        super().__init__(verify=context, trust_env=False, limits=limits)
        # httpx builds its pool in __init__ and offers no network_backend argument: replace the
        # pool it built. Fail closed if httpx ever stops keeping it there.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport has no _pool to guard; check the httpx version")
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(deadline=deadline),
        )


__all__ = ["DeadlineExceeded", "GuardedBackend", "GuardedTransport", "ssl_context"]
