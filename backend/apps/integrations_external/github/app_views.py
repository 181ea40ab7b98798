"""The GitHub App's webhook endpoint (the install pages are in app_pages.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.integrations_external.github.app_webhook import handle_app_webhook


class GitHubAppWebhookView(APIView):
    """Every installation's deliveries: no login; the X-Hub-Signature-256 made with the app's
    webhook secret over the raw body is the proof."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: None, 202: None, 401: None}, auth=[])
    def post(self, request: Request) -> Response:
        code, body = handle_app_webhook(
            body=request.body,  # raw bytes: never request.data before the signature is checked
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        return Response(body, status=code)
