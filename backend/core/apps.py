from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The platform's shared plumbing: worker heartbeats, health, management commands."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Platform core"
