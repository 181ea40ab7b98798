"""A real SMTP server on loopback for tests (aiosmtpd), recording what arrives.

def test_x(smtp_server):              # Django's SMTP backend now points at it
    smtp_server.rcpt_replies["bob@example.com"] = "550 5.1.1 No such user"
    smtp_server.stop() / smtp_server.start()   # down (connection refused), then up again
    [message] = smtp_server.wait_for(1)
    message.text, message.html, message["List-Unsubscribe"]
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    def __getitem__(self, header: str) -> str | None:
        """A header's unfolded value (a long header folds onto its own line: no leading space)."""
        value = self.message[header]
        return None if value is None else str(value).strip()

    def _part(self, content_type: str) -> str | None:
        part = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        if part is None or part.get_content_type() != content_type:
            return None
        return part.get_content().replace("\r\n", "\n")  # SMTP's line ends, as Python's

    @property
    def text(self) -> str | None:
        return self._part("text/plain")

    @property
    def html(self) -> str | None:
        return self._part("text/html")


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        reply = self.server.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        with self.server.lock:
            if self.server.data_replies:
                return self.server.data_replies.pop(0)
            raw = envelope.original_content or envelope.content
            self.server.messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=raw,
                    message=message_from_bytes(raw, policy=policy.default),
                )
            )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    """An SMTP server on 127.0.0.1 whose answers the test can script.

    - `rcpt_replies[address] = "450 …" / "550 …"`: refuse that recipient (temporarily / for good);
    - `data_replies = ["451 …"]`: answer the next messages' DATA with these replies;
    - `stop()` / `start()`: down (connections refused) and up again on the same port.
    """

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[ReceivedMail] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: list[str] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SMTPServer:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str, reply: str) -> None:
        self.rcpt_replies[address.lower()] = reply

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"SMTP server got {len(self.messages)} messages, expected {count}")

    def to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


@pytest.fixture
def smtp_server(settings):
    """A running SMTPServer, with Django's SMTP backend pointed at it for this test."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter
    server = SMTPServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()
