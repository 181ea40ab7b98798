"""An encrypted model field for tokens and secrets (Fernet, keys rotate with MultiFernet).

`FIELD_ENCRYPTION_KEYS` is a comma-separated list of Fernet keys: the first encrypts, every
one decrypts, so a new key can be put first and old rows re-encrypted at leisure
(`manage.py rotate_encryption_keys`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (urlsafe base64 of 32 bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def get_fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(value: str) -> str:
    return _PREFIX + get_fernet().encrypt(value.encode()).decode()


def decrypt_str(value: str) -> str:
    if not value.startswith(_PREFIX):
        raise ImproperlyConfigured("Stored value is not encrypted")
    return _decrypt(tuple(settings.FIELD_ENCRYPTION_KEYS), value)


# Every delivery loads its target, and with it the target's secret: a webhook sent to 100
# endpoints 100 times would check and decrypt the same 100 ciphertexts 10,000 times. The
# plaintexts kept here are those the process holds on model instances anyway; the keys are
# part of the cache key, so a key change never serves a stale entry.
@lru_cache(maxsize=4096)
def _decrypt(keys: tuple[str, ...], value: str) -> str:
    try:
        return _fernet_for(keys).decrypt(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with FIELD_ENCRYPTION_KEYS; was a key removed?"
        ) from exc


def rotate_str(value: str) -> str:
    return _PREFIX + get_fernet().rotate(value[len(_PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """Plain `str` in Python, Fernet ciphertext in the database. Empty stays empty."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_str(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))

    def to_python(self, value: Any) -> str | None:
        if isinstance(value, str) and value.startswith(_PREFIX):
            return decrypt_str(value)
        return value


class EncryptedJSONField(EncryptedTextField):
    """A JSON object (a `dict`) in Python, Fernet ciphertext of its JSON text in the database.

    An empty object is stored as an empty string (nothing to hide). Decryption shares the
    cache by ciphertext above, so rows loaded again and again (an endpoint per delivery) cost
    a `json.loads` each, not a decryption. Being an EncryptedTextField, it is re-encrypted by
    `rotate_encryption_keys` like every other encrypted column.
    """

    description = "JSON object encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> dict | None:
        if value is None:
            return None
        return self.to_python(value)

    def to_python(self, value: Any) -> dict | None:
        if not isinstance(value, str):
            return value
        if value == "":
            return {}
        if value.startswith(_PREFIX):
            value = decrypt_str(value)
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ImproperlyConfigured("An encrypted JSON value is not JSON") from exc

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # already text: JSON, or ciphertext from a raw copy
            value = self.to_python(value)
        if not value:
            return ""
        return encrypt_str(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)
