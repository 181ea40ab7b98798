"""Per-user rate limits on the actions that call out or send, and on login.

One throttle class serves every API view: a view names the scope of each of its throttled
actions in `throttle_scopes` ({action: scope}); APIViews without actions set `throttle_scope`.
Each (user, action) pair has its own budget at its scope's rate, so a burst of `verify` calls
cannot spend the budget of `test-message`. Counts live in Django's default cache, which every
web process shares (the database cache on embedded defaults, Redis with CACHE_URL), so the
limit holds however many processes serve the site. Rates come from settings.THROTTLE_RATES,
read on every request (tests and operators may change them without a restart of DRF's
settings).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:  # the rate depends on the scope, known per request
        pass

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(self.scope)

    def _prepare(self, scope: str | None) -> bool:
        """Set scope, rate and window; False when this scope is not throttled."""
        if not scope:
            return False
        self.scope = scope
        self.rate = self.get_rate()
        if not self.rate:
            return False
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return True

    def retry_after(self) -> int:
        return max(1, math.ceil(self.wait() or 1))


class ActionScopedThrottle(_SettingsRateThrottle):
    """The DRF throttle of the API (DEFAULT_THROTTLE_CLASSES): throttles only the actions a
    view names, per authenticated user (per client address for anonymous callers)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        action = getattr(view, "action", None)
        scopes = getattr(view, "throttle_scopes", {})
        scope = scopes.get(action) if action else getattr(view, "throttle_scope", None)
        if not self._prepare(scope):
            return True
        user = request.user
        ident = f"user-{user.pk}" if user and user.is_authenticated else self.get_ident(request)
        name = f"{type(view).__name__}.{action}" if action else type(view).__name__
        self.key = self.cache_format % {"scope": f"{scope}:{name}", "ident": ident}
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.key  # set in allow_request


class LoginThrottle(_SettingsRateThrottle):
    """Sign-in attempts: counted per username tried and per client address, so neither one
    name from many addresses nor many names from one address gets unbounded guesses."""

    def allow_attempt(self, request: HttpRequest) -> bool:
        if not self._prepare("login"):
            return True
        username = (request.POST.get("username") or "").strip().lower()[:150]
        for ident in (f"name:{username}", f"addr:{self.get_ident(request)}"):
            self.key = self.cache_format % {"scope": "login", "ident": ident}
            if not super().allow_request(request, None):
                return False
        return True

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.key


def throttle_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a login view: a POST over the `login` rate answers 429 with Retry-After."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            throttle = LoginThrottle()
            if not throttle.allow_attempt(request):
                wait = throttle.retry_after()
                response = HttpResponse(
                    f"Too many sign-in attempts. Try again in {wait} seconds.\n",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped
