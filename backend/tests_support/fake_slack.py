"""A fake Slack Web API: a real HTTP server on loopback for the official `slack_sdk` client.

It checks the bearer token, records every call, and answers like Slack for the methods the
integration uses (auth.test, conversations.info, chat.postMessage). Point the client at it with
`SLACK_API_BASE_URL=fake.base_url`. Script failures with `fail_next(...)`:

    fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})
    fake.fail_next("chat.postMessage", status=503)
    fake.fail_next("chat.postMessage", error="not_in_channel")
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests_support.slack_limits import slack_limit_problems


@dataclass
class SlackCall:
    method: str
    token: str | None
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScriptedReply:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.tokens: dict[str, dict[str, str]] = {}  # token -> workspace/bot info
        self.inactive_tokens: set[str] = set()
        self.channels: dict[str, FakeChannel] = {}
        self.script: dict[str, list[ScriptedReply]] = {}
        self.lock = threading.Lock()
        self._ts = itertools.count(1)
        # Add to Slack: the registered app, codes handed out by the authorize page, rotating
        # refresh tokens, and what the next person who approves an install chooses.
        self.oauth_client: tuple[str, str] | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.next_install: dict[str, Any] = {}
        self._serial = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- setup ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/oauth/v2/authorize"

    def add_token(
        self,
        token: str,
        *,
        team: str = "Acme",
        team_id: str = "T0001",
        user: str = "buildbot",
        user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
    ) -> str:
        self.tokens[token] = {
            "team": team,
            "team_id": team_id,
            "user": user,
            "user_id": user_id,
            "bot_id": bot_id,
        }
        return token

    def add_channel(self, channel_id: str, name: str, **flags: Any) -> FakeChannel:
        channel = FakeChannel(channel_id, name, **flags)
        self.channels[channel_id] = channel
        return channel

    def register_app(self, client_id: str, client_secret: str) -> None:
        self.oauth_client = (client_id, client_secret)

    def approve_next_install(
        self,
        *,
        team: str = "Acme",
        team_id: str = "T0001",
        channel_id: str = "C0BUILDS01",
        channel_name: str = "builds",
        rotate: bool = False,
        deny: bool = False,
    ) -> None:
        """What the person does on the authorize page: approve (picking this channel) or
        cancel; `rotate` issues tokens that expire (Slack's token rotation)."""
        self.next_install = {
            "team": team,
            "team_id": team_id,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "rotate": rotate,
            "deny": deny,
        }

    def _new_bot_token(self, install: dict[str, Any], rotate: bool) -> dict[str, Any]:
        n = next(self._serial)
        token = f"xoxe.xoxb-{n}-rotated" if rotate else f"xoxb-{n}-installed"
        self.add_token(token, team=install["team"], team_id=install["team_id"], user_id="U0BOT")
        answer: dict[str, Any] = {"access_token": token}
        if rotate:
            refresh = f"xoxe-1-refresh-{n}"
            self.refresh_tokens[refresh] = install
            answer.update(refresh_token=refresh, expires_in=43200)
        return answer

    def _authorize(self, params: dict[str, Any]) -> tuple[int, dict[str, str]]:
        """Slack's authorize page, once the person clicked Allow (or Cancel)."""
        redirect = str(params.get("redirect_uri") or "")
        state = str(params.get("state") or "")
        if self.oauth_client is None or params.get("client_id") != self.oauth_client[0]:
            return 400, {}
        install = dict(self.next_install or {})
        install.setdefault("team", "Acme")
        install.setdefault("team_id", "T0001")
        install.setdefault("channel_id", "C0BUILDS01")
        install.setdefault("channel_name", "builds")
        if install.get("deny"):
            query = f"error=access_denied&state={state}"
        else:
            code = f"code-{next(self._serial)}"
            self.codes[code] = {**install, "redirect_uri": redirect, "scope": params.get("scope")}
            query = f"code={code}&state={state}"
        separator = "&" if "?" in redirect else "?"
        return 302, {"Location": f"{redirect}{separator}{query}"}

    def _oauth_access(self, params: dict[str, Any], basic: str | None) -> dict[str, Any]:
        if self.oauth_client is None or basic != self.oauth_client:
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("grant_type") == "refresh_token":
            install = self.refresh_tokens.pop(str(params.get("refresh_token")), None)
            if install is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, "token_type": "bot", **self._new_bot_token(install, True)}
        install = self.codes.pop(str(params.get("code")), None)  # a code works once
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        if params.get("redirect_uri") != install["redirect_uri"]:
            return {"ok": False, "error": "bad_redirect_uri"}
        self.add_channel(install["channel_id"], install["channel_name"])
        return {
            "ok": True,
            "app_id": "A0APP",
            "token_type": "bot",
            "scope": install.get("scope"),
            "bot_user_id": "U0BOT",
            "team": {"id": install["team_id"], "name": install["team"]},
            "incoming_webhook": {
                "channel": f"#{install['channel_name']}",
                "channel_id": install["channel_id"],
                "url": "https://hooks.slack.invalid/services/T/B/x",
            },
            **self._new_bot_token(install, install.get("rotate", False)),
        }

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        times: int = 1,
        **extra: Any,
    ) -> None:
        """The next `times` calls of `method` answer with this (after the token check)."""
        reply = ScriptedReply(
            status=status, error=error, headers=headers or {}, body=body, extra=extra
        )
        with self.lock:
            self.script.setdefault(method, []).extend([reply] * times)

    def calls_to(self, method: str) -> list[SlackCall]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def posted(self) -> list[SlackCall]:
        """Successful chat.postMessage calls."""
        return [c for c in self.calls_to("chat.postMessage") if c.answer.get("ok")]

    def wait_for(self, method: str, count: int, timeout: float = 10.0) -> list[SlackCall]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.02)
        raise AssertionError(
            f"fake Slack got {len(self.calls_to(method))} {method} calls, expected {count}"
        )

    # --- Slack's behaviour -------------------------------------------------------------------
    def _answer(
        self, method: str, token: str | None, params: dict[str, Any]
    ) -> tuple[int, dict, dict, bytes | None]:
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}, None
        if token in self.inactive_tokens:
            return 200, {"ok": False, "error": "account_inactive"}, {}, None
        if token not in self.tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}, None
        scripted = self.script.get(method)
        if scripted:
            reply = scripted.pop(0)
            if reply.status == 429:
                body = {"ok": False, "error": "ratelimited"}
            elif reply.error:
                body = {"ok": False, "error": reply.error, **reply.extra}
            else:
                body = {"ok": reply.status == 200, **reply.extra}
            return reply.status, body, reply.headers, reply.body
        who = self.tokens[token]
        if method == "auth.test":
            return (
                200,
                {"ok": True, "url": f"https://{who['team'].lower()}.slack.com/", **who},
                {},
                None,
            )
        if method == "conversations.info":
            channel = self.channels.get(str(params.get("channel")))
            if channel is None or (channel.is_private and not channel.is_member):
                return 200, {"ok": False, "error": "channel_not_found"}, {}, None
            return (
                200,
                {
                    "ok": True,
                    "channel": {
                        "id": channel.id,
                        "name": channel.name,
                        "is_channel": True,
                        "is_private": channel.is_private,
                        "is_archived": channel.is_archived,
                        "is_member": channel.is_member,
                    },
                },
                {},
                None,
            )
        if method == "chat.postMessage":
            channel = self.channels.get(str(params.get("channel")))
            if channel is None:
                return 200, {"ok": False, "error": "channel_not_found"}, {}, None
            if channel.is_archived:
                return 200, {"ok": False, "error": "is_archived"}, {}, None
            if not channel.is_member:
                return 200, {"ok": False, "error": "not_in_channel"}, {}, None
            blocks = params.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            # Slack's published limits, not the production checker's (tests_support/slack_limits)
            problems = slack_limit_problems(
                {"text": params.get("text") or "", "blocks": blocks or []}
            )
            if problems:
                return 200, {"ok": False, "error": "invalid_blocks", "errors": problems}, {}, None
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message = {
                "type": "message",
                "text": params.get("text"),
                "blocks": blocks or [],
                "ts": ts,
            }
            channel.messages.append(message)
            return 200, {"ok": True, "channel": channel.id, "ts": ts, "message": message}, {}, None
        return 200, {"ok": False, "error": "unknown_method"}, {}, None

    def _make_handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                url = urlparse(self.path)
                method = url.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
                content_type = self.headers.get("Content-Type", "")
                if raw and "json" in content_type:
                    params.update(json.loads(raw))
                elif raw:
                    params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
                auth = self.headers.get("Authorization", "")
                token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
                if url.path.endswith("/oauth/v2/authorize"):
                    with fake.lock:
                        status, location = fake._authorize(params)
                    self.send_response(status)
                    for key, value in location.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                basic = None
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    basic = (user, password)
                elif params.get("client_id"):
                    basic = (str(params.get("client_id")), str(params.get("client_secret")))
                with fake.lock:
                    if method == "oauth.v2.access":
                        status, answer, headers, body = (
                            200,
                            fake._oauth_access(params, basic),
                            {},
                            None,
                        )
                    else:
                        status, answer, headers, body = fake._answer(method, token, params)
                    fake.calls.append(
                        SlackCall(
                            method,
                            token,
                            params,
                            {k.lower(): v for k, v in self.headers.items()},
                            time.time(),
                            status,
                            answer,
                        )
                    )
                payload = body if body is not None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type",
                    "application/json; charset=utf-8" if body is None else "text/html",
                )
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = _handle

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_slack(settings):
    """A running fake Slack; the Slack client talks to it (SLACK_API_BASE_URL overridden)."""
    fake = FakeSlack().start()
    settings.SLACK_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def main() -> None:
    """Run the fake on its own, e.g. for `make run` with SLACK_API_BASE_URL pointed at it:

    python -m tests_support.fake_slack --port 8099 --token xoxb-demo-1 --channel C0DEMO0001:builds
    """
    import argparse

    parser = argparse.ArgumentParser(description="A fake Slack Web API on loopback.")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument(
        "--token", action="append", default=[], help="a valid bot token (repeatable)"
    )
    parser.add_argument(
        "--channel", action="append", default=[], help="ID:name, the bot is a member"
    )
    args = parser.parse_args()
    fake = FakeSlack()
    fake.server.server_close()
    fake.server = ThreadingHTTPServer(("127.0.0.1", args.port), fake._make_handler())
    for token in args.token:
        fake.add_token(token)
    for spec in args.channel:
        channel_id, _, name = spec.partition(":")
        fake.add_channel(channel_id, name or channel_id.lower())
    print(f"fake Slack on {fake.base_url}", flush=True)
    seen = 0
    fake.thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    fake.thread.start()
    try:
        while True:
            time.sleep(0.2)
            with fake.lock:
                new, seen = fake.calls[seen:], len(fake.calls)
            for call in new:
                print(f"{call.method} {call.status} {json.dumps(call.answer)[:300]}", flush=True)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
