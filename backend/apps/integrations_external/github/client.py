"""The GitHub REST client: githubkit on our shared client settings, errors mapped to the named
exceptions of http/errors.py, rate-limit headers of every answer kept for the caller.

Why githubkit (not PyGithub): it is httpx-based like the rest of our clients (same timeouts, no
redirects); `base_url` takes GitHub Enterprise Server's `https://HOST/api/v3`; every method takes
`headers=` (so `If-None-Match` is one argument) and hands back the raw httpx response (ETag, Link,
x-ratelimit-*), a 304 comes back as an answer rather than an error; its sleeping retries and its
in-memory HTTP cache can be switched off (`auto_retry=False`, `http_cache=False`) so a rate limit
reaches us as an exception carrying `retry_after` and the *task* is rescheduled. PyGithub retries
with urllib3 and sleeps on rate limits by default, and its paginated lists have no per-request
`If-None-Match`. Measured on this machine (docs/github.md): importing githubkit and touching
`rest.pulls/issues/repos` costs about 0.3 s and 39 MB RSS once per worker process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from githubkit import BaseAuthStrategy, GitHub
from githubkit.cache import BaseCacheStrategy
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout

from apps.integrations_external.http.defaults import DEFAULT_TIMEOUT, USER_AGENT
from apps.integrations_external.http.errors import (
    AuthError,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    TargetRefused,
    TemporaryError,
)
from apps.integrations_external.http.guarded import DeadlineExceeded, GuardedTransport
from apps.integrations_external.http.retry_after import parse_retry_after

logger = logging.getLogger(__name__)

PER_PAGE = 100


class Forbidden(PermanentError):
    """The token is valid but may not do this (missing scope or repository permission)."""


class BadAnswer(PermanentError):
    """GitHub (or whatever answers at the API base URL) sent something that is not the JSON the
    call returns: usually an API base URL pointing at a web page."""


@dataclass
class RateInfo:
    remaining: int | None = None
    reset_at: datetime | None = None


@dataclass
class Page:
    """One page of a list: its items, or `not_modified` when the ETag still matched (304)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    etag: str = ""
    next_url: str | None = None
    not_modified: bool = False


def _next_link(link_header: str | None) -> str | None:
    """The `rel="next"` URL of a `Link` header, if any."""
    if not link_header:
        return None
    for part in link_header.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip().strip("<>")
        if any(s.strip() == 'rel="next"' for s in section[1:]):
            return url
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def same_origin(url: str, base_url: str) -> bool:
    """True when `url` has the scheme, host and port of `base_url`."""
    return _origin(url) == _origin(base_url) and bool(_origin(url)[1])


def _rate_limit_delay(response: httpx.Response) -> float | None:
    """Seconds to wait on a 403/429: `retry-after` first, else `x-ratelimit-reset` when
    `x-ratelimit-remaining` is 0, else None (a 403 that is not a rate limit)."""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - datetime.now(tz=UTC).timestamp())
        return 60.0
    if response.status_code == 429:
        return 60.0
    return None


class GitHubClient:
    """One repository's view of the GitHub REST API, authenticated with a token, or as a GitHub
    App installation (`auth` a githubkit AppInstallationAuthStrategy: github/app.py).

    Every connection goes through the SSRF guard (GuardedTransport), the installation token's
    request included (githubkit sends it through the same client). With `deadline_seconds`,
    the client's whole life (every call, page and byte) ends that many seconds after it was
    made: a web request passes 10 s, a sync its own deadline. `token_cache` keeps an
    installation's token between clients (githubkit caches it until a minute before it
    expires, then fetches the next one)."""

    def __init__(
        self,
        auth: str | BaseAuthStrategy,
        base_url: str,
        *,
        deadline_seconds: float | None = None,
        token_cache: BaseCacheStrategy | None = None,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.rate = RateInfo()
        self.requests_made = 0
        self.deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self._gh = GitHub(
            auth,
            base_url=self.base_url,
            user_agent=USER_AGENT,
            timeout=DEFAULT_TIMEOUT,
            follow_redirects=False,
            http_cache=False,  # our ETags live in the database, not in a per-process cache
            auto_retry=False,  # never sleep in a worker: rate limits reschedule the task
            transport=GuardedTransport(deadline=self.deadline, ca_bundle=settings.GITHUB_CA_BUNDLE),
            cache_strategy=token_cache,
        )

    def deadline_passed(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    # -- plumbing ---------------------------------------------------------------------------
    def _remember_rate(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is not None and remaining.lstrip("-").isdigit():
            self.rate.remaining = int(remaining)
        if reset is not None and reset.isdigit():
            self.rate.reset_at = datetime.fromtimestamp(int(reset), tz=UTC)

    def _call(self, fn, *args, **kwargs) -> httpx.Response:
        """Run one githubkit call; return the raw response or raise a named error."""
        if self.deadline_passed():
            raise DeadlineExceeded("GitHub: the time allowed for this job is spent")
        self.requests_made += 1
        try:
            response = fn(*args, **kwargs)
        except RequestFailed as exc:  # includes githubkit's RateLimitExceeded
            raw = exc.response.raw_response
            self._remember_rate(raw)
            raise self._translate(raw, exc) from None
        except RequestTimeout as exc:
            if self.deadline_passed():
                raise DeadlineExceeded(
                    "GitHub did not answer within the time allowed for this job"
                ) from None
            raise TemporaryError(f"GitHub did not answer in time ({exc.request.method})") from None
        except RequestError as exc:
            if isinstance(exc.exc, IntegrationError):  # the SSRF guard, a name that won't resolve
                raise exc.exc from None
            raise TemporaryError(f"Could not reach GitHub: {type(exc.exc).__name__}") from None
        raw = response.raw_response if hasattr(response, "raw_response") else response
        self._remember_rate(raw)
        if raw.status_code in (301, 302, 307, 308):
            raise PermanentError(
                f"GitHub answered with a redirect ({raw.status_code}); check the API base URL",
                status=raw.status_code,
            )
        return raw

    @staticmethod
    def _json(raw: httpx.Response, kind: type) -> Any:
        """The body as `kind` (dict or list), or BadAnswer: a remote body is never passed on."""
        try:
            body = raw.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, kind):
            raise BadAnswer(
                f"The API at this base URL answered {raw.status_code} with a body that is not "
                "GitHub's JSON; check the API base URL",
                status=raw.status_code,
            )
        return body

    @staticmethod
    def _message(raw: httpx.Response) -> str:
        """GitHub's `message` field, and nothing else of a refusal's body."""
        try:
            body = raw.json()
        except (ValueError, RecursionError):
            return ""
        message = body.get("message") if isinstance(body, dict) else None
        return message[:300] if isinstance(message, str) else ""

    def _translate(self, raw: httpx.Response, exc: Exception) -> Exception:
        status = raw.status_code
        message = self._message(raw)
        if status in (403, 429):
            delay = _rate_limit_delay(raw)
            if isinstance(exc, RateLimitExceeded) and delay is None:
                delay = exc.retry_after.total_seconds()
            if delay is not None:
                return RateLimited(
                    f"GitHub rate limit: {message}", status=status, retry_after=delay
                )
            return Forbidden(message or "Forbidden", status=status)
        if status == 401:
            return AuthError(message or "Bad credentials", status=status)
        if status == 404:
            return NotFound(message or "Not Found", status=status)
        if status >= 500:
            return TemporaryError(f"GitHub error {status}: {message}", status=status)
        return PermanentError(f"GitHub refused the request ({status}): {message}", status=status)

    # -- the calls we make ------------------------------------------------------------------
    def get_repository(self, owner: str, repo: str) -> dict[str, Any]:
        return self._json(self._call(self._gh.rest.repos.get, owner, repo), dict)

    def create_issue(
        self, owner: str, repo: str, *, title: str, body: str, labels: list[str] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"title": title, "body": body}
        if labels:
            data["labels"] = labels
        return self._json(self._call(self._gh.rest.issues.create, owner, repo, data=data), dict)

    def list_recent_issues(self, owner: str, repo: str) -> list[dict[str, Any]]:
        """The newest issues (one page): used to adopt an issue whose creation was interrupted."""
        raw = self._call(
            self._gh.rest.issues.list_for_repo,
            owner,
            repo,
            state="all",
            sort="created",
            direction="desc",
            per_page=PER_PAGE,
        )
        return self._json(raw, list)

    def pull_requests_page(
        self, owner: str, repo: str, *, url: str | None = None, etag: str = ""
    ) -> Page:
        """A page of pull requests, newest update first. `url` is a `Link: rel="next"` URL;
        with `etag`, an unchanged page answers 304 (no rate limit spent)."""
        headers = {"If-None-Match": etag} if etag else None
        if url is None:
            raw = self._call(
                self._gh.rest.pulls.list,
                owner,
                repo,
                state="all",
                sort="updated",
                direction="desc",
                per_page=PER_PAGE,
                headers=headers,
            )
        else:
            if not same_origin(url, self.base_url):
                # A `next` link elsewhere (another host, port or scheme) is not GitHub paginating.
                raise TargetRefused(
                    "GitHub's next-page link leaves the API base URL's scheme, host and port; "
                    "the sync stopped there"
                )
            raw = self._call(self._gh.request, "GET", url, headers=headers)
        if raw.status_code == 304:
            return Page(etag=etag, not_modified=True)
        return Page(
            items=self._json(raw, list),
            etag=raw.headers.get("etag", ""),
            next_url=_next_link(raw.headers.get("link")),
        )

    def create_webhook(
        self, owner: str, repo: str, *, url: str, secret: str, events: list[str]
    ) -> dict[str, Any]:
        data = {
            "name": "web",
            "active": True,
            "events": events,
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        }
        raw = self._call(self._gh.rest.repos.create_webhook, owner, repo, data=data)
        return self._json(raw, dict)

    def list_workflow_runs(self, owner: str, repo: str, *, per_page: int = PER_PAGE) -> list[dict]:
        raw = self._call(
            self._gh.rest.actions.list_workflow_runs_for_repo, owner, repo, per_page=per_page
        )
        runs = self._json(raw, dict).get("workflow_runs")
        return runs if isinstance(runs, list) else []

    # -- GitHub App: what a user's authorization and an installation can see ----------------
    def user_installation_ids(self, *, max_pages: int = 10) -> set[int]:
        """The installations the user (a user-to-server token) can access."""
        ids: set[int] = set()
        for page in range(1, max_pages + 1):
            raw = self._call(
                self._gh.rest.apps.list_installations_for_authenticated_user,
                per_page=PER_PAGE,
                page=page,
            )
            items = self._json(raw, dict).get("installations")
            items = items if isinstance(items, list) else []
            ids |= {i["id"] for i in items if isinstance(i, dict) and type(i.get("id")) is int}
            if len(items) < PER_PAGE:
                break
        return ids

    def installation_repositories(self, *, max_pages: int = 10) -> list[dict[str, Any]]:
        """The repositories the installation was given (as the installation)."""
        repos: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            raw = self._call(
                self._gh.rest.apps.list_repos_accessible_to_installation,
                per_page=PER_PAGE,
                page=page,
            )
            items = self._json(raw, dict).get("repositories")
            items = items if isinstance(items, list) else []
            repos += [r for r in items if isinstance(r, dict)]
            if len(items) < PER_PAGE:
                break
        return repos

    def repository_installation(self, owner: str, repo: str) -> dict[str, Any]:
        """The app's installation on a repository (as the app): its `permissions`."""
        raw = self._call(self._gh.rest.apps.get_repo_installation, owner, repo)
        return self._json(raw, dict)


__all__ = ["PER_PAGE", "BadAnswer", "Forbidden", "GitHubClient", "Page", "RateInfo", "same_origin"]
