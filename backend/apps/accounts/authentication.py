"""`Authorization: Token <key>` against the hashed API tokens (apps/accounts/models.py)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from apps.accounts.services import user_for_key


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """DRF's header parsing ("Token <key>"), with the key looked up by its SHA-256."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = user_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
