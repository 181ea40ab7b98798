"""A fake GitHub REST API, served over real HTTP on loopback, for the GitHub integration's tests.

It behaves like the parts of api.github.com we use, under a GitHub Enterprise-style prefix
(`http://127.0.0.1:PORT/api/v3`): token check (401), repositories with a `permissions` object (404
for unknown ones or ones the token cannot see), issues (POST, GET), pull requests listed newest
update first with `Link` pagination and ETag/304 (a 304 does not count against the rate limit),
repository hooks, Actions runs, and x-ratelimit-* headers on every answer. Rate limits can be
scripted: `limit_next(kind="primary"|"secondary", seconds=...)`. So can answers GitHub would never
give: `reply_next(RawReply(...))` sends the next answer as given (any body, optionally dripped a
byte at a time), and `pulls_next_link` makes the pull-request list point its `next` link anywhere.

The GitHub App's side (`fake.app`, an RSA key made for the tests): the install page
(`/apps/{slug}/installations/new`, redirecting to `setup_url` with installation_id,
setup_action, code and state), the code exchange (`/login/oauth/access_token`), a user's
installations (`/user/installations`), installation tokens (`/app/installations/{id}/
access_tokens`: the JWT's RS256 signature checked against the app's public key, and its
iss/iat/exp), `/installation/repositories` and `/repos/{o}/{r}/installation`. Installation
tokens expire after `installation_token_seconds` (refused once expired) and only reach the
installation's repositories.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PREFIX = "/api/v3"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawReply:
    """An answer sent as is: `drip_seconds` between bytes makes a slow answer that never
    pauses long enough for a per-read timeout."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_seconds: float = 0.0


@dataclass
class Repo:
    owner: str
    name: str
    permissions: dict[str, bool] = field(
        default_factory=lambda: {
            "admin": True,
            "maintain": True,
            "push": True,
            "triage": True,
            "pull": True,
        }
    )
    has_issues: bool = True
    private: bool = True
    pulls: list[dict] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)
    hooks: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)


@functools.cache
def _app_key_pem() -> str:
    """One RSA key per test run (making one takes a moment)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class FakeApp:
    """The GitHub App registered on the fake: what the site's GITHUB_APP_* settings say."""

    app_id: str = "4242"
    slug: str = "integrations-hub-test"
    client_id: str = "Iv23liFakeClient"
    client_secret: str = "fake-client-secret"
    private_key: str = field(default_factory=_app_key_pem)
    # The site's setup URL: where the install page sends the browser back.
    setup_url: str = "http://testserver/integrations/github/app/setup/"

    @property
    def public_key(self):
        return serialization.load_pem_private_key(self.private_key.encode(), None).public_key()


@dataclass
class Installation:
    id: int
    account: str
    repos: list[Repo]
    users: set[str]
    permissions: dict[str, str] = field(
        default_factory=lambda: {
            "issues": "write",
            "pull_requests": "read",
            "metadata": "read",
            "actions": "read",
        }
    )


class FakeGitHub:
    def __init__(self, token: str = "ghp_fake_token_0123456789") -> None:
        self.tokens = {token}
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.rate_limit = 5000
        self.remaining = 5000
        self.reset_at = int(time.time()) + 3600
        self._limits: list[tuple[str, int]] = []
        self.issue_delay = 0.0
        self.raw_replies: list[RawReply] = []
        self.pulls_next_link: str | None = None
        self._next_id = 1000
        self.app = FakeApp()
        self.installations: dict[int, Installation] = {}
        # The install page installs this (installation id, GitHub login); None: setup_action
        # "request" without an installation (an organization owner must approve).
        self.install_as: tuple[int, str] | None = None
        self.oauth_codes: dict[str, str] = {}  # code -> login, single use
        self.user_tokens: dict[str, str] = {}  # ghu_ token -> login
        self.installation_tokens: dict[str, tuple[int, float]] = {}  # ghs_ -> (id, expires)
        self.installation_token_seconds = 3600
        self.jwt_errors: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- set-up helpers ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    def add_repo(self, owner: str = "acme", name: str = "shop", **kwargs) -> Repo:
        repo = Repo(owner, name, **kwargs)
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_pull(
        self,
        repo: Repo,
        *,
        title: str = "",
        head: str = "feature",
        body: str = "",
        state: str = "open",
        merged: bool = False,
        minutes_ago: int = 0,
    ) -> dict:
        with self.lock:
            number = len(repo.pulls) + len(repo.issues) + 1
            when = datetime.now(tz=UTC) - timedelta(minutes=minutes_ago)
            pr = {
                "id": self._id(),
                "number": number,
                "title": title or f"Change {number}",
                "body": body,
                "state": "closed" if merged else state,
                "draft": False,
                "user": {"login": "octocat"},
                "head": {"ref": head, "sha": f"{number:040x}"},
                "base": {"ref": "main"},
                "html_url": f"https://github.example/{repo.owner}/{repo.name}/pull/{number}",
                "created_at": iso(when),
                "updated_at": iso(when),
                "merged_at": iso(when) if merged else None,
                "closed_at": iso(when) if merged or state == "closed" else None,
            }
            repo.pulls.append(pr)
            return pr

    def update_pull(self, repo: Repo, number: int, **changes) -> dict:
        with self.lock:
            pr = next(p for p in repo.pulls if p["number"] == number)
            pr.update(changes)
            pr["updated_at"] = iso(datetime.now(tz=UTC) + timedelta(seconds=1))
            return pr

    def add_run(
        self,
        repo: Repo,
        *,
        name: str = "CI",
        status: str = "completed",
        conclusion: str = "success",
    ) -> dict:
        run = {
            "id": self._id(),
            "name": name,
            "run_number": len(repo.runs) + 1,
            "event": "push",
            "status": status,
            "conclusion": conclusion,
            "head_branch": "main",
            "head_sha": "a" * 40,
            "html_url": f"https://github.example/{repo.owner}/{repo.name}/actions/runs/1",
            "created_at": iso(datetime.now(tz=UTC)),
            "updated_at": iso(datetime.now(tz=UTC)),
        }
        repo.runs.append(run)
        return run

    @property
    def web_url(self) -> str:
        """GitHub's web site (install page, OAuth): GITHUB_APP_BASE_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_installation(
        self, installation_id: int, *, account: str, repos: list[Repo], users: list[str]
    ) -> Installation:
        installation = Installation(installation_id, account, list(repos), set(users))
        self.installations[installation_id] = installation
        return installation

    def limit_next(self, kind: str = "primary", seconds: int = 120) -> None:
        """The next authenticated request answers with a rate limit: `primary` is 403 with
        x-ratelimit-remaining: 0 and x-ratelimit-reset; `secondary` is 429 with retry-after."""
        self._limits.append((kind, seconds))

    def reply_next(self, reply: RawReply) -> None:
        """The next request (whatever it is) gets `reply`, unchecked."""
        self.raw_replies.append(reply)

    def requests_to(self, method: str, path_suffix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(path_suffix)]

    @property
    def rate_spent(self) -> int:
        return self.rate_limit - self.remaining

    # -- server -----------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake.lock:
                    raw = fake.raw_replies.pop(0) if fake.raw_replies else None
                if raw is not None:
                    call.status = raw.status
                    with fake.lock:
                        fake.calls.append(call)
                    self._send_raw(raw)
                    return
                status, payload, headers = fake.route(call)
                call.status = status
                with fake.lock:
                    fake.calls.append(call)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_raw(self, raw: RawReply) -> None:
                self.send_response(raw.status)
                for k, v in raw.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw.body)))
                self.end_headers()
                try:
                    if not raw.drip_seconds:
                        self.wfile.write(raw.body)
                        return
                    for i in range(len(raw.body)):
                        self.wfile.write(raw.body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(raw.drip_seconds)
                except OSError:
                    self.close_connection = True  # the client gave up: fine

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        return Handler

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.remaining, 0)),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-used": str(self.rate_limit - self.remaining),
        }

    # -- the GitHub App's side ---------------------------------------------------------------
    def _app_route(self, call: Call, token: str) -> tuple[int, Any, dict[str, str]] | None:
        """The app's endpoints, or None for the rest of the API."""
        path = call.path
        if path == f"/apps/{self.app.slug}/installations/new" and call.method == "GET":
            state = call.query.get("state", [""])[0]
            if self.install_as is None:
                query = {"setup_action": "request", "state": state}
            else:
                installation_id, login = self.install_as
                code = secrets.token_hex(10)
                with self.lock:
                    self.oauth_codes[code] = login
                query = {
                    "installation_id": str(installation_id),
                    "setup_action": "install",
                    "code": code,
                    "state": state,
                }
            return 302, None, {"Location": f"{self.app.setup_url}?{urlencode(query)}"}
        if path == "/login/oauth/access_token" and call.method == "POST":
            form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != (
                self.app.client_id,
                self.app.client_secret,
            ):
                return 200, {"error": "incorrect_client_credentials"}, {}
            with self.lock:
                login = self.oauth_codes.pop(form.get("code", ""), None)
                if login is None:
                    return 200, {"error": "bad_verification_code"}, {}
                user_token = "ghu_" + secrets.token_hex(16)
                self.user_tokens[user_token] = login
            return 200, {"access_token": user_token, "token_type": "bearer", "scope": ""}, {}
        if path == PREFIX + "/user/installations" and call.method == "GET":
            login = self.user_tokens.get(token)
            if login is None:
                return 401, {"message": "Bad credentials"}, {}
            mine = [i for i in self.installations.values() if login in i.users]
            items = [{"id": i.id, "account": {"login": i.account}} for i in mine]
            return 200, {"total_count": len(items), "installations": items}, {}
        if path.startswith(PREFIX + "/app/installations/") and path.endswith("/access_tokens"):
            problem = self._jwt_problem(token)
            if problem:
                with self.lock:
                    self.jwt_errors.append(problem)
                return 401, {"message": f"A JSON web token could not be decoded: {problem}"}, {}
            installation_id = path[len(PREFIX + "/app/installations/") :].split("/")[0]
            installation = self.installations.get(int(installation_id or 0))
            if installation is None:
                return 404, {"message": "Not Found"}, {}
            expires = time.time() + self.installation_token_seconds
            new_token = "ghs_" + secrets.token_hex(16)
            with self.lock:
                self.installation_tokens[new_token] = (installation.id, expires)
            expires_at = iso(datetime.fromtimestamp(expires, tz=UTC))
            return 201, {"token": new_token, "expires_at": expires_at}, {}
        if path.startswith(PREFIX + "/repos/") and path.endswith("/installation"):
            problem = self._jwt_problem(token)
            if problem:
                return 401, {"message": f"A JSON web token could not be decoded: {problem}"}, {}
            segments = path[len(PREFIX + "/repos/") :].split("/")
            for installation in self.installations.values():
                for repo in installation.repos:
                    if (repo.owner.lower(), repo.name.lower()) == (
                        segments[0].lower(),
                        segments[1].lower(),
                    ):
                        return (
                            200,
                            {"id": installation.id, "permissions": installation.permissions},
                            {},
                        )
            return 404, {"message": "Not Found"}, {}
        if path == PREFIX + "/installation/repositories" and call.method == "GET":
            installation = self._installation_of(token)
            if installation is None:
                return 401, {"message": "Bad credentials"}, {}
            repos = [self._repo_payload(r) for r in installation.repos]
            return 200, {"total_count": len(repos), "repositories": repos}, {}
        return None

    def _jwt_problem(self, token: str) -> str:
        """Why the app's JWT is not acceptable ('' when it is), as GitHub checks it."""
        try:
            claims = jwt.decode(
                token,
                self.app.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=0,
            )
        except jwt.PyJWTError as exc:
            return type(exc).__name__
        if str(claims["iss"]) not in (self.app.app_id, self.app.client_id):
            return "wrong issuer"
        if claims["exp"] - claims["iat"] > 600:
            return "expires more than 10 minutes after it was issued"
        return ""

    def _installation_of(self, token: str) -> Installation | None:
        with self.lock:
            entry = self.installation_tokens.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return self.installations.get(entry[0])

    def route(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        auth = call.headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        app_answer = self._app_route(call, token)
        if app_answer is not None:
            return app_answer
        installation = self._installation_of(token)
        if token not in self.tokens and installation is None:
            return 401, {"message": "Bad credentials", "status": "401"}, {}
        with self.lock:
            if self._limits:
                kind, seconds = self._limits.pop(0)
                if kind == "secondary":
                    return (
                        429,
                        {"message": "You have exceeded a secondary rate limit."},
                        {**self._rate_headers(), "retry-after": str(seconds)},
                    )
                self.remaining = 0
                self.reset_at = int(time.time()) + seconds
                return 403, {"message": "API rate limit exceeded for user."}, self._rate_headers()
        if not call.path.startswith(PREFIX + "/repos/"):
            return 404, {"message": "Not Found"}, self._rate_headers()
        segments = call.path[len(PREFIX) + len("/repos/") :].strip("/").split("/")
        repo = (
            self.repos.get((segments[0].lower(), segments[1].lower()))
            if len(segments) >= 2
            else None
        )
        if repo is None or (
            installation is not None and all(r is not repo for r in installation.repos)
        ):
            return 404, {"message": "Not Found"}, self._rate_headers()
        rest = "/".join(segments[2:])
        status, payload, headers = self._repo_route(call, repo, rest)
        with self.lock:
            if status != 304:  # conditional requests answered 304 are free on GitHub
                self.remaining -= 1
        return status, payload, {**headers, **self._rate_headers()}

    def _repo_payload(self, repo: Repo) -> dict:
        return {
            "id": 1,
            "name": repo.name,
            "full_name": f"{repo.owner}/{repo.name}",
            "owner": {"login": repo.owner},
            "private": repo.private,
            "has_issues": repo.has_issues,
            "default_branch": "main",
            "html_url": f"https://github.example/{repo.owner}/{repo.name}",
            "permissions": dict(repo.permissions),
        }

    def _repo_route(self, call: Call, repo: Repo, rest: str) -> tuple[int, Any, dict]:
        if rest == "" and call.method == "GET":
            return 200, self._repo_payload(repo), {}
        if rest == "issues" and call.method == "POST":
            if not repo.permissions.get("push"):
                return 403, {"message": "Resource not accessible by personal access token"}, {}
            data = call.json()
            if not data.get("title"):
                return 422, {"message": "Validation Failed", "errors": [{"field": "title"}]}, {}
            if self.issue_delay:
                time.sleep(self.issue_delay)
            with self.lock:
                number = len(repo.pulls) + len(repo.issues) + 1
                issue = {
                    "id": self._id(),
                    "number": number,
                    "title": data["title"],
                    "body": data.get("body", ""),
                    "state": "open",
                    "labels": data.get("labels", []),
                    "html_url": f"https://github.example/{repo.owner}/{repo.name}/issues/{number}",
                }
                repo.issues.append(issue)
            return 201, issue, {}
        if rest == "issues" and call.method == "GET":
            return 200, list(reversed(repo.issues))[:100], {}
        if rest == "pulls" and call.method == "GET":
            return self._list_pulls(call, repo)
        if rest == "hooks" and call.method == "POST":
            if not repo.permissions.get("admin"):
                return 404, {"message": "Not Found"}, {}
            data = call.json()
            if any(h["config"]["url"] == data["config"]["url"] for h in repo.hooks):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"message": "Hook already exists on this repository"}],
                    },
                    {},
                )
            hook = {
                "id": self._id(),
                "name": data["name"],
                "active": data.get("active", True),
                "events": data["events"],
                "config": {**data["config"], "secret": "********"},
            }
            repo.hooks.append({**hook, "config": data["config"]})
            return 201, hook, {}
        if rest == "actions/runs" and call.method == "GET":
            per_page = int(call.query.get("per_page", ["30"])[0])
            return (
                200,
                {"total_count": len(repo.runs), "workflow_runs": repo.runs[::-1][:per_page]},
                {},
            )
        return 404, {"message": "Not Found"}, {}

    def _list_pulls(self, call: Call, repo: Repo) -> tuple[int, Any, dict]:
        q = {k: v[0] for k, v in call.query.items()}
        state = q.get("state", "open")
        per_page = min(int(q.get("per_page", "30")), 100)
        page = int(q.get("page", "1"))
        with self.lock:
            pulls = [p for p in repo.pulls if state == "all" or p["state"] == state]
            if q.get("sort") == "updated":
                pulls.sort(
                    key=lambda p: (p["updated_at"], p["number"]),
                    reverse=q.get("direction") != "asc",
                )
            else:
                pulls.sort(key=lambda p: p["number"], reverse=True)
            chunk = [dict(p) for p in pulls[(page - 1) * per_page : page * per_page]]
        pages = max(1, -(-len(pulls) // per_page))
        data = json.dumps(chunk, sort_keys=True).encode()
        etag = 'W/"' + hashlib.sha1(data).hexdigest() + '"'
        if call.headers.get("if-none-match") == etag:
            return 304, None, {"ETag": etag}
        base = f"{self.base_url}/repos/{repo.owner}/{repo.name}/pulls"

        def url(n: int) -> str:
            extra = "".join(f"&{k}={v}" for k, v in q.items() if k not in ("page", "per_page"))
            return f"{base}?per_page={per_page}{extra}&page={n}"

        links = []
        if self.pulls_next_link is not None:
            links.append(f'<{self.pulls_next_link}>; rel="next"')
        elif page < pages:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(pages)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        headers = {"ETag": etag}
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers


def use_github_app(settings, fake: FakeGitHub, *, site_url: str = "http://testserver") -> None:
    """Point the site's GitHub App settings at the fake's app (and the fake's install page
    back at the site's setup URL)."""
    app = fake.app
    settings.GITHUB_APP_ID = app.app_id
    settings.GITHUB_APP_SLUG = app.slug
    settings.GITHUB_APP_PRIVATE_KEY = app.private_key
    settings.GITHUB_APP_CLIENT_ID = app.client_id
    settings.GITHUB_APP_CLIENT_SECRET = app.client_secret
    settings.GITHUB_APP_WEBHOOK_SECRET = "app-webhook-secret"
    settings.GITHUB_APP_BASE_URL = fake.web_url
    settings.GITHUB_API_BASE_URL = fake.base_url
    settings.PUBLIC_BASE_URL = site_url
    app.setup_url = f"{site_url}/integrations/github/app/setup/"


@pytest.fixture
def fake_github():
    fake = FakeGitHub().start()
    yield fake
    fake.stop()
