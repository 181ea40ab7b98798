"""Pages of the pipeline, for every channel: a target's delivery log, and the events catalog.
Included once at the site's root by integrations' page_urls.py (namespace `integrations`)."""

from django.urls import path

from apps.integrations_external.pipeline import pages

TARGET = "projects/<int:project_pk>/integrations/<str:channel>/<int:target_pk>/"

urlpatterns = [
    path(f"{TARGET}deliveries/", pages.delivery_list, name="deliveries"),
    path(f"{TARGET}deliveries/chart/", pages.delivery_chart, name="deliveries-chart"),
    path(f"{TARGET}deliveries/recover/", pages.target_recover, name="deliveries-recover"),
    path(f"{TARGET}deliveries/<int:delivery_pk>/", pages.delivery_detail, name="delivery"),
    path(
        f"{TARGET}deliveries/<int:delivery_pk>/resend/",
        pages.delivery_resend,
        name="delivery-resend",
    ),
]
urlpatterns.append(path("events/", pages.events_catalog, name="events"))
