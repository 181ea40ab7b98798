"""`manage.py create_api_token <username> [--name NAME]`: print a new API token's key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.services import TokenLimitReached, create_token


class Command(BaseCommand):
    help = "Create a named API token for a user and print its key (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist:
            raise CommandError(f"No user {options['username']!r}.") from None
        try:
            _token, key = create_token(user=user, name=options["name"])
        except TokenLimitReached as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
