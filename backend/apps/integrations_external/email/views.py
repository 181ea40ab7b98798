"""API views of the email part of the integrations.

GET/PUT/PATCH email/           the caller's own settings (created on first use)
POST          email/test-email/ queue a test email to the caller
GET           email/deliveries/ the caller's sent-mail history
GET/POST      email/unsubscribe/<token>/  RFC 8058 one-click unsubscribe (no login): an HTML
              page for mail clients, not part of the JSON API (a plain Django view)
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.integrations_external.email.forms import switch_description
from apps.integrations_external.email.messages import SWITCH_LABELS
from apps.integrations_external.email.models import EmailDelivery, EmailNotificationSettings
from apps.integrations_external.email.selectors import emails_sent_to
from apps.integrations_external.email.serializers import (
    EmailDeliverySerializer,
    EmailNotificationSettingsSerializer,
)
from apps.integrations_external.email.services import (
    EmailService,
    email_unsubscribe,
    settings_for,
)
from apps.integrations_external.email.unsubscribe import (
    ALL_SWITCHES,
    BadUnsubscribeToken,
    read_unsubscribe_token,
)
from apps.integrations_external.permissions import request_user

UNSUBSCRIBE_TEMPLATE = "integrations_external/email/unsubscribe.html"


class EmailSettingsViewSet(
    mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """The caller's email notification settings (one object per person: no id in the URL), a
    test email to the caller, and the caller's sent-mail history."""

    singleton = True  # core.api.routers: GET/PUT/PATCH on `email/`
    serializer_class = EmailNotificationSettingsSerializer
    throttle_scopes = {"test_email": "outbound"}
    filterset_fields = ["status", "event_type"]  # of the deliveries

    def get_object(self) -> EmailNotificationSettings:
        return settings_for(request_user(self.request))

    def get_queryset(self) -> QuerySet[EmailDelivery]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return EmailDelivery.objects.none()
        return emails_sent_to(request_user(self.request))

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="test-email", url_name="test")
    def test_email(self, request: Request) -> Response:
        """Send a test email to the caller's address through the normal delivery path."""
        delivery = EmailService(request_user(request)).queue_test_email()
        return Response(
            {
                "detail": f"Test email queued to {request_user(request).email}.",
                "delivery_id": delivery.pk if delivery else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses=EmailDeliverySerializer(many=True), filters=True)
    @action(detail=False, methods=["get"], serializer_class=EmailDeliverySerializer)
    def deliveries(self, request: Request) -> Response:
        """The emails sent (or being sent) to the caller, newest first."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _unsubscribe_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, UNSUBSCRIBE_TEMPLATE, context, status=status)
    response["X-Robots-Tag"] = "noindex"  # a personal link: keep it out of search engines
    return response


@csrf_exempt  # mail clients POST without a session or CSRF token (RFC 8058); the token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm page (link scanners prefetch GETs, so it changes nothing);
    POST turns off the one switch the signed token names."""
    try:
        user_id, switch = read_unsubscribe_token(token)
    except BadUnsubscribeToken as exc:
        return _unsubscribe_page(request, {"state": "invalid", "message": str(exc)}, status=400)
    if not get_user_model().objects.filter(pk=user_id).exists():
        return _unsubscribe_page(
            request,
            {"state": "invalid", "message": "This unsubscribe link belongs to no account."},
            status=404,
        )
    names = EmailNotificationSettings.SWITCHES if switch == ALL_SWITCHES else (switch,)
    context = {
        "switch": switch,
        "switch_label": SWITCH_LABELS.get(switch, switch),
        # What will stop, in the words of the settings page.
        "stops": [switch_description(name) for name in names],
    }
    if request.method == "GET":
        return _unsubscribe_page(request, {**context, "state": "confirm"})
    email_unsubscribe(token=token)
    return _unsubscribe_page(request, {**context, "state": "done"})
