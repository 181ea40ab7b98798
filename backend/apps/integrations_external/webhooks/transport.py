"""The webhook transport: signed HTTP requests (Standard Webhooks), a whole chunk at once.

HTTP client: libcurl's multi interface through pycurl, chosen by measurement (20,000 POSTs of a
~700-byte signed body to the bench receiver from one process, this 2-core machine):

    pycurl CurlMulti, 32 transfers in flight     85,325 requests/s
    pycurl CurlMulti, 8 in flight                74,248
    aiohttp ClientSession, 64 concurrent         13,683
    urllib3 PoolManager, one thread               6,843

(docs/delivery.md has every client measured, httpx among them.)

libcurl runs every transfer of a chunk concurrently from one thread, on keep-alive connections,
with the I/O loop in C; Python only sets each request up and reads its outcome. It also gives
the SSRF guard two hooks urllib3 lacked: `RESOLVE` pins a validated address while the URL, Host
and TLS name stay the endpoint's, and `OPENSOCKETFUNCTION` sees the address of every socket
before it connects.
"""

from __future__ import annotations

import email.message
import functools
import json
import os
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import certifi
import httpx
import pycurl
from django.conf import settings
from django.utils import timezone

from apps.integrations_external.http import signing, ssrf
from apps.integrations_external.http.defaults import USER_AGENT
from apps.integrations_external.http.errors import TargetRefused, TemporaryError
from apps.integrations_external.pipeline.channels import Outcome, SendResult
from apps.integrations_external.webhooks.models import WebhookDelivery

# Headers an endpoint may not set: those we send (Content-Type, User-Agent, the Standard
# Webhooks `webhook-*` trio, `Expect:` to libcurl), the message framing libcurl owns (Host,
# Content-Length, Transfer-Encoding, Content-Encoding), and the hop-by-hop headers of RFC 9110
# §7.6.1 that only a connection's own ends may send.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "user-agent",
        "expect",
        "host",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "http2-settings",
    }
)
RESERVED_PREFIXES = ("webhook-",)
# What attempt history shows instead of a custom header's value (they often hold credentials).
MASKED_VALUE = "[hidden]"
RESPONSE_BODY_LIMIT = 8 * 1024
# Transfers handed to libcurl at once per client, each free to connect at once (no per-host
# cap): libcurl's timeout clock runs while a transfer waits for a connection slot (measured),
# so a cap below this would charge receivers timeouts they never caused; deliveries beyond it
# wait in our own queue, where no clock runs. 128 ≥ DELIVERY_BATCH_SIZE (100), so a task's
# batch goes out in one round: in the bench, rounds of 64 cost 15-25 % of the throughput.
# Idle keep-alive connections kept: MAX_IDLE_CONNECTIONS. The loop waits with poll() through
# libcurl's socket interface, not select(): a process may hold descriptors above 1,024 (select()
# cannot watch those; libcurl then left them out and the loop spun at full CPU).
MAX_IN_FLIGHT = 128
MAX_IDLE_CONNECTIONS = 256
# Longest single wait for socket activity; libcurl's own timers usually ask for less.
WAIT_SECONDS = 0.1
# A receiver that answers one request at a time woke the loop for each answer alone: a poll, a
# socket_action and two info_read passes per delivery (10,292 polls for 10,000 deliveries to a
# uvicorn receiver, 212 to a fast one), about a fifth of the transport's CPU. When the last poll
# found fewer than GATHER_BELOW sockets ready while more transfers are in flight, the loop lets
# answers gather for GATHER_SECONDS before the next: at most that much later per round, and
# never for a lone transfer (a test message, a retry).
GATHER_BELOW = 4
GATHER_SECONDS = 0.001
_POLL_MASKS = {
    pycurl.POLL_IN: select.POLLIN,
    pycurl.POLL_OUT: select.POLLOUT,
    pycurl.POLL_INOUT: select.POLLIN | select.POLLOUT,
}
CONNECT_TIMEOUT_CEILING = 5


def is_reserved_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES)


def encode_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def active_secrets(endpoint) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > timezone.now()
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def _is_safe_header(name: str, value: str) -> bool:
    # libcurl sends header lines as given: a CR or LF would start a header (or request) of its
    # own. The API refuses them; rows written any other way are checked here too.
    text = f"{name}{value}"
    return "\r" not in text and "\n" not in text and "\0" not in text and ":" not in name


def custom_headers(endpoint) -> dict[str, str]:
    """The endpoint's own headers that may go on the wire."""
    return {
        k: str(v)
        for k, v in (endpoint.headers or {}).items()
        if not is_reserved_header(k) and _is_safe_header(k, str(v))
    }


def build_request_headers(
    delivery: WebhookDelivery, body: bytes, timestamp: int, custom: dict[str, str]
) -> dict[str, str]:
    endpoint = delivery.endpoint
    headers = dict(custom)
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                active_secrets(endpoint), delivery.webhook_id, timestamp, body
            ),
        }
    )
    return headers


# Receivers answer with a handful of content types; parsing one with `email` took about 10 µs,
# a fifth of sending a delivery.
@functools.lru_cache(maxsize=256)
def _charset(content_type: str | None) -> str:
    message = email.message.Message()
    message["content-type"] = content_type or "text/plain"
    return message.get_content_charset() or "utf-8"


def _decode(body: bytes, content_type: str | None) -> str:
    try:
        return body.decode(_charset(content_type), errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


class _LimitedBody:
    """Keeps the first `limit` bytes of a response body. A longer body stops the transfer
    (libcurl then closes that connection instead of reading megabytes we would throw away)."""

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.cut = False

    def write(self, data: bytes) -> int | None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > self.limit:
            self.cut = True
            return 0  # fewer bytes than given: libcurl aborts with CURLE_WRITE_ERROR
        return None

    def value(self) -> bytes:
        return b"".join(self.chunks)[: self.limit]


@dataclass
class _Request:
    """One delivery ready to go on the wire."""

    url: str
    method: str
    body: bytes
    header_lines: list[bytes]
    shown_headers: dict[str, str]
    timeout: int
    resolve: str | None
    guarded: bool
    response: _LimitedBody = field(default_factory=lambda: _LimitedBody(RESPONSE_BODY_LIMIT))
    refused: str = ""

    def open_socket(self, purpose: int, address) -> socket.socket | int:
        """libcurl's OPENSOCKETFUNCTION: the SSRF guard's last check, on the very address."""
        reason = ssrf.refusal_for_peer(address.addr[0])
        if reason:
            self.refused = reason
            return pycurl.SOCKET_BAD
        return socket.socket(address.family, address.socktype, address.protocol)


def wire_url(url: str) -> str:
    """The URL as libcurl takes it, ASCII only: an IDNA host, a percent-encoded path and query
    (endpoint URLs may be IRIs such as https://bücher.example/é)."""
    return url if url.isascii() else str(httpx.URL(url))


def prepare(delivery: WebhookDelivery, body: bytes | None = None) -> _Request | SendResult:
    """Sign and address one delivery, or the result that it cannot be sent at all. `body`:
    its payload encoded already (`encode_body`)."""
    endpoint = delivery.endpoint
    if body is None:
        body = encode_body(delivery.payload)
    custom = custom_headers(endpoint)
    headers = build_request_headers(delivery, body, int(time.time()), custom)
    # Attempt history: no signature, and custom headers' names without their values.
    shown = {
        k: MASKED_VALUE if k in custom else v
        for k, v in headers.items()
        if k != "webhook-signature"
    }
    try:
        target = ssrf.pin(wire_url(endpoint.url))
    except TargetRefused as exc:
        return SendResult(Outcome.FAILED, error=str(exc), request_headers=shown)
    except TemporaryError as exc:
        return SendResult(Outcome.RETRY, error=str(exc), request_headers=shown)
    return _Request(
        url=target.url,
        method=endpoint.method,
        body=body,
        # Bytes: header values may hold any text (sent as UTF-8). "Expect:" keeps libcurl from
        # waiting for a `100 Continue` before larger bodies.
        header_lines=[f"{k}: {v}".encode() for k, v in headers.items()] + [b"Expect:"],
        shown_headers=shown,
        timeout=endpoint.timeout_seconds,
        resolve=target.resolve,
        guarded=not ssrf.private_targets_allowed(),
    )


def _configure(handle: pycurl.Curl, request: _Request) -> None:
    handle.reset()
    handle.setopt(pycurl.URL, request.url)
    handle.setopt(pycurl.NOSIGNAL, 1)
    handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    handle.setopt(pycurl.NOPROXY, "*")  # never through a proxy from the environment
    handle.setopt(pycurl.FOLLOWLOCATION, 0)
    handle.setopt(pycurl.CAINFO, settings.WEBHOOK_CA_BUNDLE or certifi.where())
    handle.setopt(pycurl.CONNECTTIMEOUT_MS, min(CONNECT_TIMEOUT_CEILING, request.timeout) * 1000)
    handle.setopt(pycurl.TIMEOUT_MS, request.timeout * 1000)
    handle.setopt(pycurl.POSTFIELDS, request.body)
    if request.method != "POST":
        handle.setopt(pycurl.CUSTOMREQUEST, request.method)
    handle.setopt(pycurl.HTTPHEADER, request.header_lines)
    handle.setopt(pycurl.WRITEFUNCTION, request.response.write)
    if request.resolve:
        handle.setopt(pycurl.RESOLVE, [request.resolve])
    if request.guarded:
        handle.setopt(pycurl.OPENSOCKETFUNCTION, request.open_socket)


def _outcome(handle: pycurl.Curl, request: _Request, error: tuple[int, str] | None) -> SendResult:
    elapsed = int(handle.getinfo(pycurl.TOTAL_TIME_T) / 1000)
    shown = request.shown_headers
    if request.refused:
        return SendResult(
            Outcome.FAILED, error=request.refused, duration_ms=elapsed, request_headers=shown
        )
    status = handle.getinfo(pycurl.RESPONSE_CODE)
    # A body cut at our limit ends the transfer with a write error: the answer itself is whole.
    if error and not (error[0] == pycurl.E_WRITE_ERROR and request.response.cut and status):
        code, message = error
        if code == pycurl.E_OPERATION_TIMEDOUT:
            text = f"timed out after {request.timeout}s ({message})"
        else:
            text = f"connection error: {message}"
        return SendResult(Outcome.RETRY, error=text, duration_ms=elapsed, request_headers=shown)
    common = {
        "response_status": status,
        "response_body": _decode(request.response.value(), handle.getinfo(pycurl.CONTENT_TYPE)),
        "duration_ms": elapsed,
        "request_headers": shown,
    }
    if 200 <= status < 300:
        return SendResult(Outcome.SUCCESS, **common)
    if status == 410:
        return SendResult(
            Outcome.FAILED,
            error="410 Gone: the receiver asked us to stop",
            target_problem="The endpoint answered 410 Gone.",
            **common,
        )
    retry_after = None
    if status in (429, 503):
        # libcurl parses both forms of Retry-After (seconds, HTTP date) into seconds; 0: none.
        retry_after = float(handle.getinfo(pycurl.RETRY_AFTER)) or None
    error_text = f"HTTP {status}"
    if 300 <= status < 400:
        location = handle.getinfo(pycurl.REDIRECT_URL) or ""
        error_text += f" (redirects are not followed{': ' + location[:200] if location else ''})"
    return SendResult(Outcome.RETRY, error=error_text, retry_after=retry_after, **common)


class _Client:
    """One libcurl multi handle with its connection cache and reusable easy handles. Used by
    one thread only (libcurl handles are not thread-safe)."""

    def __init__(self) -> None:
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAXCONNECTS, MAX_IDLE_CONNECTIONS)
        # libcurl's socket interface: it says which sockets to watch for what, and when its
        # next timeout is due; we wait with poll() and tell it what happened (socket_action).
        self.poller = select.poll()
        self.watched: set[int] = set()
        self.timer_at: float | None = None
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self.idle: list[pycurl.Curl] = []
        # Sockets the last poll found ready (see GATHER_BELOW).
        self.last_ready = GATHER_BELOW

    def _on_socket(self, what: int, fd: int, multi: object, data: object) -> None:
        if what == pycurl.POLL_REMOVE:
            if fd in self.watched:
                self.watched.discard(fd)
                self.poller.unregister(fd)
            return
        mask = _POLL_MASKS.get(what, 0)
        if fd in self.watched:
            self.poller.modify(fd, mask)
        else:
            self.poller.register(fd, mask)
            self.watched.add(fd)

    def _on_timer(self, timeout_ms: int) -> None:
        self.timer_at = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000

    def _handle(self) -> pycurl.Curl:
        return self.idle.pop() if self.idle else pycurl.Curl()

    def _start(
        self,
        requests: list[_Request],
        waiting: deque[int],
        in_flight: dict[pycurl.Curl, int],
        results: list[SendResult | None],
    ) -> None:
        """Fill the free transfer slots from `waiting`."""
        while waiting and len(in_flight) < MAX_IN_FLIGHT:
            index = waiting.popleft()
            handle = self._handle()
            try:
                _configure(handle, requests[index])
            except (pycurl.error, TypeError, ValueError) as exc:
                # This delivery's own data cannot make a request: fail it alone.
                self.idle.append(handle)
                results[index] = SendResult(
                    Outcome.FAILED,
                    error=f"the request could not be built: {exc}",
                    request_headers=requests[index].shown_headers,
                )
                continue
            self.multi.add_handle(handle)
            in_flight[handle] = index

    def _collect(
        self,
        requests: list[_Request],
        in_flight: dict[pycurl.Curl, int],
        results: list[SendResult | None],
    ) -> bool:
        """Record the transfers libcurl finished; whether there were any."""
        finished_any = False
        while True:
            queued, done, failed = self.multi.info_read()
            finished = [(h, None) for h in done] + [(h, (c, m)) for h, c, m in failed]
            for handle, error in finished:
                index = in_flight.pop(handle)
                results[index] = _outcome(handle, requests[index], error)
                self.multi.remove_handle(handle)
                self.idle.append(handle)
                finished_any = True
            if not queued:
                return finished_any

    def _act(self) -> None:
        """Let libcurl act on what is ready: its timer if due, else wait (poll(), at most until
        that timer) for socket activity and hand each ready socket to it."""
        now = time.monotonic()
        if self.timer_at is None or self.timer_at > now:
            wait = WAIT_SECONDS if self.timer_at is None else min(self.timer_at - now, WAIT_SECONDS)
            ready = self.poller.poll(max(wait, 0.0) * 1000)
            self.last_ready = len(ready)
            for fd, event in ready:
                action = 0
                if event & (select.POLLIN | select.POLLHUP):
                    action |= pycurl.CSELECT_IN
                if event & select.POLLOUT:
                    action |= pycurl.CSELECT_OUT
                if event & (select.POLLERR | select.POLLNVAL):
                    action |= pycurl.CSELECT_ERR
                self.multi.socket_action(fd, action)
        if self.timer_at is not None and self.timer_at <= time.monotonic():
            # Cleared first: libcurl may set its next timer from inside this call.
            self.timer_at = None
            self.multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)

    def run(self, requests: list[_Request]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(requests)
        waiting = deque(range(len(requests)))
        in_flight: dict[pycurl.Curl, int] = {}
        try:
            while waiting or in_flight:
                self._start(requests, waiting, in_flight, results)
                # Something finished: refill the free slots first; else wait and act.
                if in_flight and not self._collect(requests, in_flight, results):
                    if self.last_ready < GATHER_BELOW < len(in_flight):
                        time.sleep(GATHER_SECONDS)
                    self._act()
        finally:
            # An exception mid-batch must not leave handles attached to the multi handle.
            for handle in in_flight:
                self.multi.remove_handle(handle)
                self.idle.append(handle)
        return results  # type: ignore[return-value]  # every index is filled once the loop ends


class WebhookTransport:
    """Sends deliveries with one libcurl client per thread and process: keep-alive connections
    live as long as the worker; never follows redirects; never sleeps beyond a timeout."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _client(self) -> _Client:
        # Per thread, and per process: a client inherited through fork shares its sockets.
        client = getattr(self._local, "client", None)
        if client is None or self._local.pid != os.getpid():
            client = self._local.client = _Client()
            self._local.pid = os.getpid()
        return client

    def send(self, delivery: WebhookDelivery) -> SendResult:
        return self.send_many([delivery])[0]

    def send_many(self, deliveries: list[WebhookDelivery]) -> list[SendResult]:
        """Every delivery, MAX_IN_FLIGHT at a time; results in the same order."""
        # A claim's deliveries of one event share their decoded payload (lease_sql): encoded
        # once per object, not once per delivery.
        bodies: dict[int, bytes] = {}
        prepared = []
        for delivery in deliveries:
            payload = delivery.payload
            body = bodies.get(id(payload))
            if body is None:
                body = bodies[id(payload)] = encode_body(payload)
            prepared.append(prepare(delivery, body))
        requests = [p for p in prepared if isinstance(p, _Request)]
        sent = iter(self._client().run(requests))
        return [next(sent) if isinstance(p, _Request) else p for p in prepared]
