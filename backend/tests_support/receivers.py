"""Real HTTP servers on loopback for tests: a webhook receiver you can script."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    # The engine opens up to 50 connections at once; the default listen backlog of 5 makes
    # a loaded machine drop connection attempts, which is the test bed failing, not the sender.
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        # A client may close a connection whenever it likes (the transport does after an
        # over-long body); only other errors deserve a trace.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """Records every request; answers from a script of Replies, then with `default`."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.requests: list[ReceivedRequest] = []
        # With `tls`, the receiver speaks HTTPS and records the name each client asked for (SNI).
        self.scheme = "https" if tls else "http"
        self.host = host
        self.server_names: list[str | None] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.handler: Callable[[ReceivedRequest], Reply] | None = None
        self.lock = threading.Lock()
        # Per path: requests being handled now, and the most ever at once (what a per-endpoint
        # concurrency limit promises the receiver).
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight: dict[str, int] = defaultdict(int)
        self.server = _Server(("127.0.0.1", 0), self._make_handler())
        self.server.daemon_threads = True
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        # A short poll: `shutdown()` waits up to one interval, 0.5 s by default, and every test
        # with a receiver paid it at teardown.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return self.url_for("/hook")

    def url_for(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.server.server_address[1]}{path}"

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def _make_handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add
            # ~40 ms to every keep-alive response.
            disable_nagle_algorithm = True

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.time(),
                )
                with receiver.lock:
                    receiver.requests.append(request)
                    receiver.in_flight[self.path] += 1
                    receiver.most_in_flight[self.path] = max(
                        receiver.most_in_flight[self.path], receiver.in_flight[self.path]
                    )
                    if receiver.handler:
                        reply = receiver.handler(request)
                    elif receiver.script:
                        reply = receiver.script.pop(0)
                    else:
                        reply = receiver.default
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    # Counted down before the answer goes out: the sender sees each request in
                    # flight at least as long as this count does.
                    with receiver.lock:
                        receiver.in_flight[self.path] -= 1
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_POST = do_PUT = do_PATCH = do_GET = _handle

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()
