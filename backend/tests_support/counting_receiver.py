"""A loopback HTTP receiver that counts, per path, the requests it is handling at once."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Arrival:
    path: str
    webhook_id: str
    at: float  # time.time() when the request's body had been read
    seq: int  # order of arrival over all paths


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients may drop connections (a worker stopped at the end of a test)


class CountingReceiver:
    """Answers 200 to every request on `/<name>`, after `delays[name]` seconds; keeps, per path,
    the largest number of requests it was handling at the same time, and every arrival."""

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self.delays = dict(delays or {})
        self.lock = threading.Lock()
        self.current: dict[str, int] = defaultdict(int)
        self.most: dict[str, int] = defaultdict(int)
        self.arrivals: list[Arrival] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.strip("/")
                with receiver.lock:
                    receiver.current[path] += 1
                    receiver.most[path] = max(receiver.most[path], receiver.current[path])
                    receiver.arrivals.append(
                        Arrival(
                            path,
                            self.headers.get("webhook-id", ""),
                            time.time(),
                            len(receiver.arrivals),
                        )
                    )
                try:
                    delay = receiver.delays.get(path, 0.0)
                    if delay:
                        time.sleep(delay)  # the receiver's own slowness, not a wait in a test
                finally:
                    # Counted down before the answer goes out: the sender sees each request in
                    # flight at least as long as this count does.
                    with receiver.lock:
                        receiver.current[path] -= 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def start(self) -> CountingReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, name: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path == name]
