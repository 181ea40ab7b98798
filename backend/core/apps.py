from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The platform's shared plumbing: worker heartbeats, health, metrics, management commands."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Platform core"

    def ready(self) -> None:
        import logging

        from django.conf import settings
        from django.db.backends.signals import connection_created

        from core import logs, metrics, postgres

        if settings.LOG_FORMAT == "json":
            # Python's warnings go to stderr as bare text otherwise, breaking one-object lines.
            logging.captureWarnings(True)
        logs.connect_celery()
        metrics.connect_celery()
        connection_created.connect(postgres.use_c_timestamp_loader, dispatch_uid="core.postgres")
