"""The GitHub App: a project connected by installing our app instead of pasting a token.

The flow (docs/github.md, "GitHub App"):
1. The project's owner clicks Install: `install_url` issues a `state` bound to them and to the
   project (GitHubAppInstallState: single-use, 10 minutes, only its hash stored) and sends them
   to `{GITHUB_APP_BASE_URL}/apps/{slug}/installations/new`.
2. GitHub sends them back to our setup URL with `installation_id`, `setup_action`, `state` and
   (the app requests user authorization during installation) a `code`. `confirm_install` claims
   the state, exchanges the code for a user token and asks GitHub which installations that user
   can access (`GET /user/installations`): an installation id in a URL proves nothing.
3. The owner picks one of the installation's repositories (`GET /installation/repositories`,
   as the installation); `connect_repository` creates (or reconnects) the integration.

API calls then authenticate as the installation: githubkit signs a JWT with the app's key,
fetches an installation token and keeps it in this process's memory until a minute before it
expires (tokens live an hour), then fetches the next one. No token is stored in the database.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from githubkit import AppInstallationAuthStrategy
from githubkit.cache import MemCacheStrategy

from apps.integrations_external.github.client import GitHubClient
from apps.integrations_external.github.models import GitHubAppInstallState, GitHubIntegration
from apps.integrations_external.http.defaults import DEFAULT_TIMEOUT, USER_AGENT
from apps.integrations_external.http.errors import AuthError, IntegrationError, PermanentError
from apps.integrations_external.http.guarded import GuardedTransport
from apps.projects.models import Project
from apps.projects.selectors import user_can_manage_project

logger = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
# Between confirming the installation and picking a repository.
PICK_TTL = timedelta(minutes=30)


class InstallRefused(Exception):
    """The install cannot go on; the message says why, for the person who clicked."""


class AppNotConfigured(AuthError):
    """An app-installed integration on a site whose GitHub App settings were removed."""


def app_configured() -> bool:
    """Install GitHub App is offered only with the app's id, slug, key and OAuth client."""
    return all(
        (
            settings.GITHUB_APP_ID,
            settings.GITHUB_APP_SLUG,
            settings.GITHUB_APP_PRIVATE_KEY,
            settings.GITHUB_APP_CLIENT_ID,
            settings.GITHUB_APP_CLIENT_SECRET,
        )
    )


def app_private_key() -> str:
    """The PEM text: the setting itself, or the file it names. An env var may carry the PEM's
    line breaks as literal `\\n`."""
    value = settings.GITHUB_APP_PRIVATE_KEY.strip()
    if value.startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    return Path(value).read_text()


# Installation tokens (and the app's JWT) per API base URL, in this process only: a token is
# fetched once an hour per installation and worker process, and never written anywhere.
_token_caches: dict[str, MemCacheStrategy] = {}
_token_caches_lock = threading.Lock()


def token_cache(base_url: str) -> MemCacheStrategy:
    with _token_caches_lock:
        return _token_caches.setdefault(base_url.rstrip("/"), MemCacheStrategy())


def forget_installation_tokens() -> None:
    """Drop every cached installation token and JWT of this process (the next call fetches
    new ones): after rotating the app's key, and between tests."""
    with _token_caches_lock:
        _token_caches.clear()


def installation_client(
    installation_id: int, *, base_url: str | None = None, deadline_seconds: float | None = None
) -> GitHubClient:
    """A client acting as the installation (through the SSRF guard, with the deadline)."""
    if not app_configured():
        raise AppNotConfigured(
            "This integration was installed as the GitHub App, which is no longer configured on "
            "this site (GITHUB_APP_* settings)."
        )
    base = base_url or settings.GITHUB_API_BASE_URL
    auth = AppInstallationAuthStrategy(
        settings.GITHUB_APP_ID,
        app_private_key(),
        installation_id,
        client_id=settings.GITHUB_APP_CLIENT_ID,
        client_secret=settings.GITHUB_APP_CLIENT_SECRET,
    )
    return GitHubClient(
        auth, base, deadline_seconds=deadline_seconds, token_cache=token_cache(base)
    )


# -- step 1: the install link -----------------------------------------------------------------
def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def setup_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("integrations:github-app-setup")


def install_url(*, user: User, project: Project) -> str:
    state = secrets.token_urlsafe(32)
    GitHubAppInstallState.objects.create(state_hash=_hash(state), user=user, project=project)
    base = f"{settings.GITHUB_APP_BASE_URL}/apps/{settings.GITHUB_APP_SLUG}/installations/new"
    return f"{base}?{urlencode({'state': state})}"


# -- step 2: back from GitHub -----------------------------------------------------------------
def _claim_state(*, state: str, user: User) -> GitHubAppInstallState:
    if not state:
        raise InstallRefused("The link from GitHub has no state: start again from the project.")
    now = timezone.now()
    fresh = GitHubAppInstallState.objects.filter(
        state_hash=_hash(state),
        user=user,
        consumed_at__isnull=True,
        created_at__gte=now - STATE_TTL,
    )
    row = fresh.first()
    # One conditional UPDATE: of two callbacks racing with one state, one wins.
    if row is not None and fresh.filter(pk=row.pk).update(consumed_at=now) == 1:
        return row
    known = GitHubAppInstallState.objects.filter(state_hash=_hash(state)).first()
    if known is None:
        raise InstallRefused(
            "This install link is not one we issued: start again from the project."
        )
    if known.user_id != user.pk:
        raise InstallRefused("This install was started by someone else: start your own.")
    if known.consumed_at is not None:
        raise InstallRefused("This install link was already used: start again from the project.")
    raise InstallRefused("This install link expired (10 minutes): start again from the project.")


def _web_client() -> httpx.Client:
    """GitHub's web site (the OAuth code exchange), through the SSRF guard, bounded in time."""
    deadline = time.monotonic() + settings.GITHUB_REQUEST_BUDGET_SECONDS
    return httpx.Client(
        transport=GuardedTransport(deadline=deadline, ca_bundle=settings.GITHUB_CA_BUNDLE),
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


def exchange_code(code: str) -> str:
    """The user-to-server token for the `code` GitHub returned with the install."""
    try:
        with _web_client() as client:
            response = client.post(
                f"{settings.GITHUB_APP_BASE_URL}/login/oauth/access_token",
                data={
                    "client_id": settings.GITHUB_APP_CLIENT_ID,
                    "client_secret": settings.GITHUB_APP_CLIENT_SECRET,
                    "code": code,
                },
            )
    except IntegrationError:
        raise
    except httpx.HTTPError as exc:
        raise PermanentError(f"Could not reach GitHub: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        error = body.get("error") if isinstance(body, dict) else None
        reason = error if isinstance(error, str) else f"status {response.status_code}"
        raise PermanentError(f"GitHub did not accept the authorization code ({reason[:100]})")
    return token


def confirm_install(
    *, user: User, state: str, installation_id: str, setup_action: str, code: str
) -> GitHubAppInstallState:
    """The setup URL's work: the attempt, now bound to an installation this user can access.
    Raises InstallRefused with a sentence for the person."""
    attempt = _claim_state(state=state, user=user)
    if not user_can_manage_project(user, attempt.project):
        raise InstallRefused("Only the project's owner can connect GitHub to it.")
    if setup_action == "request":
        raise InstallRefused(
            "GitHub asked an owner of the account to approve the installation. Once they "
            "have, start again from the project."
        )
    if not installation_id.isdigit() or not 0 < int(installation_id) < 2**63:
        raise InstallRefused("GitHub sent no installation: try the install again.")
    if not code:
        raise InstallRefused(
            "GitHub sent no authorization code, so we cannot tell that you may use this "
            "installation: the app must request user authorization during installation."
        )
    try:
        user_token = exchange_code(code)
        client = GitHubClient(
            user_token,
            settings.GITHUB_API_BASE_URL,
            deadline_seconds=settings.GITHUB_REQUEST_BUDGET_SECONDS,
        )
        accessible = client.user_installation_ids()
    except IntegrationError as exc:
        raise InstallRefused(f"GitHub was not connected: {exc}.") from exc
    if int(installation_id) not in accessible:
        raise InstallRefused(
            "Your GitHub account cannot access this installation of the app, so it was not "
            "connected. Install the app on an account or organization you belong to."
        )
    GitHubAppInstallState.objects.filter(pk=attempt.pk).update(
        installation_id=int(installation_id), confirmed_at=timezone.now()
    )
    attempt.refresh_from_db()
    return attempt


# -- step 3: the repository -------------------------------------------------------------------
def pending_attempt(
    *, user: User, project: Project, attempt_pk: int
) -> GitHubAppInstallState | None:
    """A confirmed attempt of this user for this project, not used yet and not too old."""
    return GitHubAppInstallState.objects.filter(
        pk=attempt_pk,
        user=user,
        project=project,
        confirmed_at__gte=timezone.now() - PICK_TTL,
        completed_at__isnull=True,
        installation_id__isnull=False,
    ).first()


@dataclass(frozen=True)
class RepositoryChoice:
    full_name: str
    private: bool


def installation_repositories(installation_id: int) -> list[RepositoryChoice]:
    """The repositories the installation was given, by name (raises IntegrationError)."""
    client = installation_client(
        installation_id, deadline_seconds=settings.GITHUB_REQUEST_BUDGET_SECONDS
    )
    choices = []
    for repo in client.installation_repositories():
        full_name = repo.get("full_name")
        if isinstance(full_name, str) and full_name.count("/") == 1:
            choices.append(RepositoryChoice(full_name, repo.get("private") is True))
    return sorted(choices, key=lambda c: c.full_name.lower())


def connect_repository(
    *, user: User, attempt: GitHubAppInstallState, full_name: str
) -> GitHubIntegration:
    """The project's integration with one of the installation's repositories (checked with
    GitHub again: the form's list is no proof). Installing again reconnects it."""
    if not user_can_manage_project(user, attempt.project):
        raise InstallRefused("Only the project's owner can connect GitHub to it.")
    assert attempt.installation_id is not None
    try:
        names = {
            c.full_name.lower(): c.full_name
            for c in installation_repositories(attempt.installation_id)
        }
    except IntegrationError as exc:
        raise InstallRefused(
            f"GitHub did not list the installation's repositories: {exc}."
        ) from exc
    chosen = names.get(full_name.lower())
    if chosen is None:
        raise InstallRefused("That repository is not one this installation was given.")
    owner, name = chosen.split("/")
    with transaction.atomic():
        done = GitHubAppInstallState.objects.filter(
            pk=attempt.pk, completed_at__isnull=True
        ).update(completed_at=timezone.now())
        if not done:
            raise InstallRefused("This install was completed already.")
        integration = (
            GitHubIntegration.objects.filter(
                project=attempt.project,
                auth_kind=GitHubIntegration.AuthKind.APP,
                repository_owner__iexact=owner,
                repository_name__iexact=name,
            )
            .order_by("id")
            .first()
        )
        if integration is None:
            integration = GitHubIntegration(project=attempt.project)
        integration.owner = user
        integration.repository_owner = owner
        integration.repository_name = name
        integration.auth_kind = GitHubIntegration.AuthKind.APP
        integration.installation_id = attempt.installation_id
        integration.access_token = ""
        integration.api_base_url = settings.GITHUB_API_BASE_URL
        integration.is_active = True
        integration.disabled_at = None
        integration.disabled_reason = ""
        integration.save()
    return integration


# -- what the app's webhook says --------------------------------------------------------------
def app_integrations_turn_off(
    *, installation_id: int, reason: str, repositories: list[str] | None = None
) -> int:
    """The app was removed (or suspended) from an account, or repositories from it: every
    integration it served stops, with the reason its owner sees."""
    targets = GitHubIntegration.objects.filter(
        auth_kind=GitHubIntegration.AuthKind.APP, installation_id=installation_id, is_active=True
    )
    if repositories is not None:
        pks = [
            i.pk
            for i in targets.only("pk", "repository_owner", "repository_name")
            if i.full_name.lower() in {r.lower() for r in repositories}
        ]
        targets = GitHubIntegration.objects.filter(pk__in=pks)
    now = timezone.now()
    count = targets.update(is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now)
    if count:
        logger.info(
            "github installation %s: %s integration(s) off: %s", installation_id, count, reason
        )
    return count


def app_integrations_for(*, installation_id: int, full_name: str) -> list[GitHubIntegration]:
    """The active integrations an app delivery about this repository is for."""
    owner, _, name = full_name.partition("/")
    return list(
        GitHubIntegration.objects.filter(
            auth_kind=GitHubIntegration.AuthKind.APP,
            installation_id=installation_id,
            repository_owner__iexact=owner,
            repository_name__iexact=name,
            is_active=True,
        ).select_related("owner", "project")
    )


__all__ = [
    "AppNotConfigured",
    "InstallRefused",
    "RepositoryChoice",
    "app_configured",
    "app_integrations_for",
    "app_integrations_turn_off",
    "confirm_install",
    "connect_repository",
    "exchange_code",
    "forget_installation_tokens",
    "install_url",
    "installation_client",
    "installation_repositories",
    "pending_attempt",
    "setup_url",
]
