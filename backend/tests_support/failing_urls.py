"""The site's URLs plus one view that fails, to see what an unhandled exception answers (tests
set ROOT_URLCONF to this module; the error handlers are the site's own, re-exported)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from core import urls as site_urls


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("an unhandled failure")


urlpatterns = [
    path("api/v1/boom/", boom),
    path("boom/", boom),
    *site_urls.urlpatterns,
]
handler400 = getattr(site_urls, "handler400", None)
handler403 = getattr(site_urls, "handler403", None)
handler404 = getattr(site_urls, "handler404", None)
handler500 = getattr(site_urls, "handler500", None)
