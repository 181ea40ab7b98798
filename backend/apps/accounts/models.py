"""API tokens, stored hashed.

Why not django-rest-knox (the issue's suggestion): knox 5 stores a hash too, but it has no
name and no last-used time (a custom TOKEN_MODEL would be needed for both), its login/logout
views are of no use here (tokens are made on a page or by a command), and it would add a
dependency for what is one table and one authentication class. The check is as cheap as
DRF's plaintext one: a SHA-256 of the presented key and one lookup on a unique index. A plain
hash, not a slow one (PBKDF2/Argon2), is right for keys of 256 random bits: there is nothing to
guess, and a slow hash on every API request would cost tens of milliseconds each.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

KEY_PREFIX = "hub_"
# How many characters of a key are kept in clear to tell tokens apart ("hub_3xY9…").
SHOWN_CHARS = 8


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    key_start = models.CharField(max_length=16, editable=False, help_text="The key's start.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"

    @property
    def hint(self) -> str:
        return f"{self.key_start}…"
