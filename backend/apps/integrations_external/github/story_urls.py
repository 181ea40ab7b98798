"""Routes under /api/v1/ for a story's GitHub side (included by core/urls.py): core apps never
import the integrations, so these live here rather than in apps/projects."""

from apps.integrations_external.github.urls import story_urlpatterns

urlpatterns = story_urlpatterns
