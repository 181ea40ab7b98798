from django.apps import AppConfig


class IntegrationsExternalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.integrations_external"
    verbose_name = "External integrations"

    def ready(self) -> None:
        from apps.integrations_external import signals

        # Importing a provider's channel module registers its channel.
        from apps.integrations_external.email import channel as _email  # noqa: F401
        from apps.integrations_external.slack import channel as _slack  # noqa: F401
        from apps.integrations_external.teams import channel as _teams  # noqa: F401
        from apps.integrations_external.webhooks import channel as _webhooks  # noqa: F401

        signals.connect()
        from apps.integrations_external.github import tasks as _github  # noqa: F401 - story receiver
