"""The commands app's resources, registered on the API's one router by core/urls.py."""

from apps.commands.views import CommandExecutionViewSet, CommandViewSet

routes = [
    ("commands", CommandViewSet, "command"),
    ("command-executions", CommandExecutionViewSet, "command-execution"),
]
