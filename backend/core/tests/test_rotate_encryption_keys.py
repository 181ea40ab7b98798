"""`manage.py rotate_encryption_keys`: every value re-encrypted under the first key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from core.fields import encrypt_str
from tests_support.models import EncryptedNote

pytestmark = pytest.mark.django_db


def raw_values() -> dict[int, str | None]:
    table = connection.ops.quote_name(EncryptedNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret FROM {table}")
        return dict(cursor.fetchall())


def write_raw(pk: int, value: str) -> None:
    table = connection.ops.quote_name(EncryptedNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET secret = %s WHERE id = %s", [value, pk])


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def new_and_old(settings):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return new, old


def test_rotate_keys_lets_the_new_key_alone_read_old_rows(settings, new_and_old):
    new, old = new_and_old
    notes = [EncryptedNote.objects.create(secret=f"token-{i}") for i in range(5)]
    EncryptedNote.objects.create(secret="")
    EncryptedNote.objects.create(secret=None)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    output = rotate("--batch-size", "2")

    assert "tests_support.EncryptedNote.secret: 5 re-encrypted, 0 already current" in output
    settings.FIELD_ENCRYPTION_KEYS = [new]
    for note in notes:
        assert EncryptedNote.objects.get(pk=note.pk).secret == note.secret
    assert sorted(EncryptedNote.objects.values_list("secret", flat=True), key=str) == sorted(
        ["", None, *(n.secret for n in notes)], key=str
    )


def test_rotate_keys_again_changes_nothing(settings, new_and_old):
    new, old = new_and_old
    EncryptedNote.objects.create(secret="a")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    rotate()
    before = raw_values()

    output = rotate()

    assert "0 re-encrypted, 1 already current" in output
    assert raw_values() == before


def test_rotate_keys_dry_run_counts_and_writes_nothing(settings, new_and_old):
    new, old = new_and_old
    EncryptedNote.objects.create(secret="a")
    before = raw_values()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    output = rotate("--dry-run")

    assert "1 value(s) would be re-encrypted" in output
    assert raw_values() == before


def test_rotate_keys_reports_unreadable_value_and_leaves_it(settings, new_and_old):
    new, old = new_and_old
    readable = EncryptedNote.objects.create(secret="ok")
    lost = EncryptedNote.objects.create(secret="lost")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    write_raw(lost.pk, encrypt_str("lost"))  # under a key that is about to vanish
    lost_raw = raw_values()[lost.pk]
    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    with pytest.raises(CommandError, match="1 value"):
        rotate()

    assert raw_values()[lost.pk] == lost_raw
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert EncryptedNote.objects.get(pk=readable.pk).secret == "ok"


def test_rotate_keys_encrypts_plaintext_left_from_before(settings, new_and_old):
    note = EncryptedNote.objects.create(secret="x")
    write_raw(note.pk, "legacy-plaintext")

    rotate()

    assert raw_values()[note.pk].startswith("fernet:")
    assert EncryptedNote.objects.get(pk=note.pk).secret == "legacy-plaintext"
