"""A fake Microsoft Teams Workflows webhook: a real HTTP server on loopback.

Every POST must be a Teams message wrapping one Adaptive Card; the card is checked by Microsoft's
own implementation (the `adaptivecards` npm package, run by Node in tests_support/adaptive_cards/)
for the version the card declares, never by our builder's own checks. Valid messages answer 202,
as Teams does. Script other answers with `fail_next(...)`:

    fake.fail_next(status=429, headers={"Retry-After": "2"})
    fake.fail_next(status=400, body="Bad payload")
    fake.fail_next(status=404)
    fake.fail_next(hang=5.0)      # hold the request that long before answering
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests_support.services import skip_or_fail

VALIDATOR_DIR = Path(__file__).resolve().parent / "adaptive_cards"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# What Teams renders (Workflows' "post card in a chat or channel").
HIGHEST_VERSION = (1, 5)
# Teams refuses a message over about 28 KB.
MAX_MESSAGE_BYTES = 28 * 1024
WEBHOOK_PATH = "/workflows/abc123/triggers/manual/paths/invoke"


class CardValidator:
    """One Node process validating cards line by line (a process per card costs ~150 ms)."""

    def __init__(self) -> None:
        if not (VALIDATOR_DIR / "node_modules" / "adaptivecards").exists():
            skip_or_fail(
                "the Adaptive Card validator is not installed (make install runs npm ci in "
                "backend/tests_support/adaptive_cards)"
            )
        self.process = subprocess.Popen(
            ["node", str(VALIDATOR_DIR / "validate.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=VALIDATOR_DIR,
        )
        self.lock = threading.Lock()

    def problems(self, card: Any) -> list[str]:
        with self.lock:
            assert self.process.stdin
            assert self.process.stdout
            self.process.stdin.write(json.dumps(card) + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())["problems"]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


def message_problems(body: bytes, validator: CardValidator) -> list[str]:
    """What Teams would refuse in a posted body (its wrapping, size and the card itself)."""
    if len(body) > MAX_MESSAGE_BYTES:
        return [f"message is {len(body)} bytes, over Teams' {MAX_MESSAGE_BYTES}"]
    try:
        message = json.loads(body)
    except ValueError:
        return ["body is not JSON"]
    if message.get("type") != "message":
        return ['"type" must be "message"']
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["exactly one attachment expected"]
    attachment = attachments[0]
    if attachment.get("contentType") != CARD_CONTENT_TYPE:
        return [f'"contentType" must be "{CARD_CONTENT_TYPE}"']
    card = attachment.get("content")
    version = str((card or {}).get("version", ""))
    try:
        declared = tuple(int(part) for part in version.split("."))
    except ValueError:
        return [f"card version {version!r} is not a version"]
    if declared > HIGHEST_VERSION:
        return [f"card version {version} is newer than Teams renders (1.5)"]
    return validator.problems(card)


@dataclass
class TeamsPost:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    problems: list[str]
    at: float

    @property
    def card(self) -> dict[str, Any]:
        return json.loads(self.body)["attachments"][0]["content"]


@dataclass
class Scripted:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    hang: float = 0.0


class FakeTeams:
    def __init__(self, validator: CardValidator) -> None:
        self.validator = validator
        self.posts: list[TeamsPost] = []
        self.script: list[Scripted] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a hung reply must not hold the test at the end
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{WEBHOOK_PATH}?sig=s3cr3t-sig"

    def fail_next(
        self,
        *,
        status: int = 202,
        headers: dict[str, str] | None = None,
        body: str = "",
        hang: float = 0.0,
    ) -> None:
        with self.lock:
            self.script.append(Scripted(status, headers or {}, body, hang))

    def valid_posts(self) -> list[TeamsPost]:
        return [post for post in self.posts if post.status == 202]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[TeamsPost]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.posts) >= count:
                return list(self.posts)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} posts to Teams, got {len(self.posts)}")

    def _reply(self, body: bytes, path: str) -> tuple[Scripted, list[str]]:
        if not path.startswith(WEBHOOK_PATH):
            return Scripted(404, body='{"error": "no such workflow"}'), []
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted, []
        problems = message_problems(body, self.validator)
        if problems:
            return Scripted(400, body=json.dumps({"error": {"message": problems}})), problems
        return Scripted(202), []

    def _make_handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply, problems = fake._reply(body, self.path)
                fake.posts.append(
                    TeamsPost(
                        self.path, dict(self.headers), body, reply.status, problems, time.time()
                    )
                )
                if reply.hang:
                    time.sleep(reply.hang)
                payload = reply.body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> FakeTeams:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def card_validator():
    validator = CardValidator()
    yield validator
    validator.close()


@pytest.fixture
def fake_teams(card_validator):
    fake = FakeTeams(card_validator).start()
    yield fake
    fake.stop()
