from django.apps import AppConfig


class IntegrationsExternalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.integrations_external"
    verbose_name = "External integrations"

    def ready(self) -> None:
        # In ready(), not at the top: these modules import models, which Django loads only once
        # every app is registered. Importing a channel module registers its channel; importing
        # the tasks registers them with Celery, so work scheduled by task name
        # (pipeline/scheduling.py) also runs eagerly (tests) in any process.
        from apps.integrations_external import signals
        from apps.integrations_external import tasks as _tasks  # noqa: F401
        from apps.integrations_external.email import channel as _email  # noqa: F401
        from apps.integrations_external.github import channel as _github  # noqa: F401
        from apps.integrations_external.slack import channel as _slack  # noqa: F401
        from apps.integrations_external.teams import channel as _teams  # noqa: F401
        from apps.integrations_external.webhooks import channel as _webhooks  # noqa: F401

        signals.connect()
