from django.apps import AppConfig


class CommandsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.commands"
