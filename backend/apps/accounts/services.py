"""Making, using and revoking API tokens: the one place for their rules."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import SHOWN_CHARS, ApiToken, digest_of, new_key

MAX_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token: "used 3 minutes ago" needs no more,
# and a busy client would otherwise turn every API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenLimitReached(Exception):
    pass


def create_token(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token and its key: the only time the key exists outside the client."""
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise TokenLimitReached(
            f"You have {MAX_TOKENS_PER_USER} tokens, the most allowed; revoke one you no "
            "longer use first."
        )
    key = new_key()
    token = ApiToken.objects.create(
        user=user, name=name.strip(), digest=digest_of(key), key_start=key[: SHOWN_CHARS + 4]
    )
    return token, key


def revoke_token(*, user: AbstractBaseUser, token_pk: int) -> ApiToken | None:
    """Delete one of `user`'s tokens; None when they have no such token."""
    token = ApiToken.objects.filter(user=user, pk=token_pk).first()
    if token is not None:
        token.delete()
    return token


def user_for_key(key: str) -> ApiToken | None:
    """The token `key` is the key of, with its user; records when it was used."""
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
