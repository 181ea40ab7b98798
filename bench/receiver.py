"""A fast webhook receiver for the benchmark: raw asyncio HTTP/1.1 with keep-alive.

It must not be the bottleneck, so it parses only what it needs (Content-Length and the
`webhook-id` header) and answers every request with a fixed `200 ok`. It runs in its own
process; `GET /stats` returns how many webhook requests (and distinct webhook-ids) it saw,
`POST /reset` clears them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time

SLOW_SECONDS = 2.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Stats:
    def __init__(self) -> None:
        self.count = 0
        self.ids: set[bytes] = set()
        self.first = 0.0
        self.last = 0.0

    def as_json(self) -> bytes:
        return json.dumps(
            {"count": self.count, "unique": len(self.ids), "first": self.first, "last": self.last}
        ).encode()


STATS = Stats()


class HttpProtocol(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            lower = head.lower()
            length = 0
            pos = lower.find(b"\r\ncontent-length:")
            if pos >= 0:
                stop = lower.find(b"\r\n", pos + 2)
                length = int(head[pos + 17 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            if head.startswith(b"GET /stats"):
                body = STATS.as_json()
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                continue
            if head.startswith(b"POST /reset"):
                STATS.__init__()
                self.transport.write(OK)
                continue
            if head.startswith(b"POST /slow"):
                asyncio.get_running_loop().call_later(SLOW_SECONDS, self.transport.write, OK)
                continue
            now = time.time()
            STATS.count += 1
            if STATS.count == 1:
                STATS.first = now
            STATS.last = now
            pos = lower.find(b"\r\nwebhook-id:")
            if pos >= 0:
                stop = lower.find(b"\r\n", pos + 2)
                STATS.ids.add(head[pos + 13 : stop if stop >= 0 else None].strip())
            self.transport.write(OK)


async def serve(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpProtocol, sock=sock, backlog=4096)
    async with server:
        await server.serve_forever()


def main(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    print(f"receiver listening on {sock.getsockname()[1]}", flush=True)
    asyncio.run(serve(sock))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "0")))
