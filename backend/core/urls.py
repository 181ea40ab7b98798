from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.alerts import urls as alerts
from apps.commands import urls as commands
from apps.integrations_external import urls as integrations
from apps.projects import urls as projects
from apps.workflows import urls as workflows
from core.api.routers import APIRouter, Section
from core.api.throttling import throttle_login
from core.health import healthz
from core.metrics import metrics_view

# The whole API on one router: `GET /api/v1/` lists every resource, and each app declares its
# own (prefix, ViewSet, basename) routes.
router = APIRouter(
    sections=[Section(integrations.PREFIX, integrations.NAMESPACE, integrations.pages)]
)
for prefix, viewset, basename in [
    *projects.routes,
    *workflows.routes,
    *commands.routes,
    *alerts.routes,
    *integrations.root_routes,
]:
    router.register(prefix, viewset, basename)
for prefix, viewset, basename in integrations.routes:
    router.register(prefix, viewset, basename, section=integrations.NAMESPACE)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/login/", throttle_login(admin.site.login)),  # before the admin's own route
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
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
