from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The platform's shared plumbing: worker heartbeats, health, metrics, management commands."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Platform core"

    def ready(self) -> None:
        from core import logs, metrics

        logs.connect_celery()
        metrics.connect_celery()
