"""The projects app's resources, registered on the API's one router by core/urls.py."""

from apps.projects.views import ProjectViewSet, UserStoryViewSet

routes = [
    ("projects", ProjectViewSet, "project"),
    ("user-stories", UserStoryViewSet, "user-story"),
]
