from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.api.throttling import throttle_login
from core.health import healthz
from core.metrics import metrics_view

api_v1 = [
    path("", include("apps.projects.urls")),
    path("", include("apps.workflows.urls")),
    path("", include("apps.commands.urls")),
    path("", include("apps.alerts.urls")),
    path("integrations-external/", include("apps.integrations_external.urls")),
    path("", include("apps.integrations_external.github.story_urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/login/", throttle_login(admin.site.login)),  # before the admin's own route
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # The portal's pages (sign-in, projects, integrations) for people in a browser.
    path("", include("apps.integrations_external.page_urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.portal.urls")),
]

# JSON bodies for errors under /api/ that happen outside a DRF view (HTML elsewhere).
handler400 = "core.api.errors.bad_request"
handler403 = "core.api.errors.permission_denied"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"
