"""Re-encrypt every EncryptedTextField value with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: generate a key, put it first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
restart, run this command, then drop the old keys. Values already under the first key are
left alone, so running it twice is harmless; a value that no configured key can read is
reported and makes the command exit non-zero (the row is left unchanged).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models.functions import Cast

from core.fields import _PREFIX, EncryptedTextField, encrypt_str, rotate_str


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field value with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run: bool = False, batch_size: int = 500, **options) -> None:
        primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
        totals = {"rotated": 0, "current": 0, "unreadable": 0}
        for model, field in encrypted_fields():
            counts = self.rotate_field(model, field, primary, dry_run, batch_size)
            for key, value in counts.items():
                totals[key] += value
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {counts['rotated']} re-encrypted, "
                f"{counts['current']} already current, {counts['unreadable']} unreadable"
            )
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(
            self.style.SUCCESS(f"{totals['rotated']} value(s) {verb}, {totals['current']} current")
        )
        if totals["unreadable"]:
            raise CommandError(
                f"{totals['unreadable']} value(s) cannot be decrypted with any configured key"
            )

    def rotate_field(self, model, field, primary: Fernet, dry_run: bool, batch_size: int) -> dict:
        counts = {"rotated": 0, "current": 0, "unreadable": 0}
        # Cast to plain text: read the stored ciphertext, not the decrypted value.
        raw = Cast(field.attname, output_field=models.TextField())
        rows = (
            model._default_manager.annotate(_ciphertext=raw)
            .exclude(**{f"{field.attname}__isnull": True})
            .exclude(_ciphertext="")
            .values_list("pk", "_ciphertext")
            .order_by("pk")
        )
        last_pk = None
        while True:
            # Batches by primary key: no cursor stays open across the updates below.
            batch = list((rows if last_pk is None else rows.filter(pk__gt=last_pk))[:batch_size])
            if not batch:
                return counts
            last_pk = batch[-1][0]
            for pk, ciphertext in batch:
                rotated = self.rotated_value(model, field, pk, ciphertext, primary, counts)
                if rotated is None or dry_run:
                    continue
                # Compare-and-set: a row changed since it was read keeps its (newer) value.
                model._default_manager.annotate(_ciphertext=raw).filter(
                    pk=pk, _ciphertext=ciphertext
                ).update(**{field.attname: models.Value(rotated, output_field=models.TextField())})

    def rotated_value(self, model, field, pk, ciphertext: str, primary: Fernet, counts: dict):
        """The value to store instead of `ciphertext`, or None to leave the row alone."""
        if not ciphertext.startswith(_PREFIX):
            # Plaintext from before the column was encrypted: encrypt it now.
            counts["rotated"] += 1
            return encrypt_str(ciphertext)
        try:
            primary.decrypt(ciphertext.removeprefix(_PREFIX).encode())
        except InvalidToken:
            pass
        else:
            counts["current"] += 1
            return None
        try:
            rotated = rotate_str(ciphertext)
        except InvalidToken:
            counts["unreadable"] += 1
            self.stderr.write(f"{model._meta.label} pk={pk}: {field.name} is unreadable")
            return None
        counts["rotated"] += 1
        return rotated
