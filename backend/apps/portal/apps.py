from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The pages signed-in people use: sign-in, projects and the shell every page sits in.

    Integrations' own pages live with their provider (apps/integrations_external/<provider>/
    pages.py); this app holds what they share: the base template, static files, the browser
    session views."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.portal"
