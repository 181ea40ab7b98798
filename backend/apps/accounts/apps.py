from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """A person's API tokens: named, stored hashed, shown once, revocable (issue 13)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.accounts"
