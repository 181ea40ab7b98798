from django.apps import AppConfig


class IntegrationsExternalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.integrations_external"
    verbose_name = "External integrations"

    def ready(self) -> None:
        from apps.integrations_external import signals
        from apps.integrations_external.delivery import (  # noqa: F401 - registers the channels
            email_channel,
            slack_channel,
            webhook_channel,
        )

        signals.connect()
        from apps.integrations_external.tasks import github as _github  # noqa: F401 - story receiver
