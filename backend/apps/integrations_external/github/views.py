"""API views of the github part of the integrations (thin: the work is in GitHubService).

Under /api/v1/integrations-external/: `github/` and `github/{id}/` (who sees and does what:
permissions.py, docs/permissions.md), `verify/`, `sync-prs/`, `pull-requests/`, `create-webhook/`,
`workflow-runs/`, and the unauthenticated receiver `github/{id}/webhook/` (signature-checked).
Under /api/v1/ (github/story_urls.py): `user-stories/{id}/create-github-issue/` and
`user-stories/{id}/github/`.
"""

from __future__ import annotations

import math

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from apps.integrations_external.access import activation_fields
from apps.integrations_external.github.models import (
    GitHubIntegration,
)
from apps.integrations_external.github.receiver import verify_and_handle_webhook
from apps.integrations_external.github.selectors import (
    github_integration_acts_for_project,
    github_integrations_of,
    story_github,
)
from apps.integrations_external.github.serializers import (
    CreateIssueRequestSerializer,
    GitHubIntegrationSerializer,
    GitHubIssueDeliverySerializer,
    GitHubIssueLinkSerializer,
    GitHubPullRequestSerializer,
    GitHubWorkflowRunSerializer,
    SyncStatusSerializer,
    VerifyResultSerializer,
)
from apps.integrations_external.github.services import (
    WEBHOOK_EVENTS,
    Busy,
    GitHubService,
    request_sync,
    webhook_url,
)
from apps.integrations_external.http.errors import IntegrationError, RateLimited, TemporaryError
from apps.integrations_external.permissions import (
    IntegrationPermission,
    acting_owner_q,
    check_manage_project,
    request_user,
)
from apps.projects.models import UserStory
from apps.projects.selectors import user_stories_visible_to


def _error_response(exc: IntegrationError) -> Response:
    """GitHub's refusals as answers a client can act on (never a 500)."""
    headers = {}
    code: int
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, RateLimited):
        code = status.HTTP_429_TOO_MANY_REQUESTS
    elif isinstance(exc, Busy):
        code = status.HTTP_409_CONFLICT
    elif isinstance(exc, TemporaryError):
        code = status.HTTP_502_BAD_GATEWAY
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response({"detail": str(exc), "github_status": exc.status}, status=code, headers=headers)


class GitHubIntegrationViewSet(viewsets.ModelViewSet):
    serializer_class = GitHubIntegrationSerializer
    permission_classes = [IntegrationPermission]
    filterset_fields = ["project", "is_active"]
    ordering_fields = ["created_at", "updated_at"]
    throttle_scopes = {"verify": "outbound", "sync_prs": "outbound", "create_webhook": "outbound"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GitHubIntegration.objects.none()
        return github_integrations_of(request_user(self.request))

    def perform_create(self, serializer: BaseSerializer[GitHubIntegration]) -> None:
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer: BaseSerializer[GitHubIntegration]) -> None:
        serializer.save(**activation_fields(serializer.instance, serializer.validated_data))

    def create(self, request, *args, **kwargs) -> Response:
        response = super().create(request, *args, **kwargs)
        integration = GitHubIntegration.objects.get(pk=response.data["id"])
        # Shown once: GitHub needs it to sign deliveries if the hook is created by hand.
        response.data["webhook_secret"] = integration.webhook_secret
        return response

    @extend_schema(request=None, responses=VerifyResultSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None) -> Response:
        return Response(GitHubService(self.get_object()).verify_connection())

    @extend_schema(request=None, responses={202: SyncStatusSerializer})
    @action(detail=True, methods=["post"], url_path="sync-prs")
    def sync_prs(self, request, pk=None) -> Response:
        """Queue a sync (a worker runs it) and answer 202 with the sync's state; a sync already
        queued or running is not queued twice."""
        integration = self.get_object()
        try:
            queued = request_sync(integration)
        except IntegrationError as exc:
            return _error_response(exc)
        integration.refresh_from_db()
        data = SyncStatusSerializer(integration, context={"queued": queued}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None, responses={201: OpenApiResponse(description="hook_id, events, url")}
    )
    @action(detail=True, methods=["post"], url_path="create-webhook")
    def create_webhook(self, request, pk=None) -> Response:
        integration = self.get_object()
        try:
            GitHubService(integration).create_webhook()
        except IntegrationError as exc:
            return _error_response(exc)
        # What we asked GitHub for, and the id it gave (checked): no other remote data.
        return Response(
            {
                "hook_id": integration.hook_id,
                "events": WEBHOOK_EVENTS,
                "url": webhook_url(integration),
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses=GitHubPullRequestSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="pull-requests")
    def pull_requests(self, request, pk=None) -> Response:
        integration = self.get_object()
        # Story titles only while the integration still acts for the project.
        stories = UserStory.objects.only("id", "title")
        if not github_integration_acts_for_project(integration):
            stories = stories.none()
        qs = integration.pull_requests.prefetch_related(Prefetch("stories", queryset=stories))
        state = request.query_params.get("state")
        if state:
            qs = qs.filter(state=state)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(GitHubPullRequestSerializer(page, many=True).data)

    @extend_schema(responses=GitHubWorkflowRunSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="workflow-runs")
    def workflow_runs(self, request, pk=None) -> Response:
        page = self.paginate_queryset(self.get_object().workflow_runs.all())
        return self.get_paginated_response(GitHubWorkflowRunSerializer(page, many=True).data)

    @extend_schema(request=None, responses=GitHubIssueDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="issue-deliveries")
    def issue_deliveries(self, request, pk=None) -> Response:
        """The issues this integration created for new stories: status, attempts, answers."""
        queryset = self.get_object().issue_deliveries.prefetch_related("attempts")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(GitHubIssueDeliverySerializer(page, many=True).data)


class GitHubWebhookView(APIView):
    """GitHub's deliveries: no login; the X-Hub-Signature-256 over the raw body is the proof."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: None, 204: None, 401: None}, auth=[])
    def post(self, request, pk: int) -> Response:
        integration = GitHubIntegration.objects.filter(pk=pk, is_active=True).first()
        if integration is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        code, body = verify_and_handle_webhook(
            integration,
            body=request.body,  # raw bytes: never request.data before the signature is checked
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        return Response(body, status=code)


def _visible_story(request, pk: int) -> UserStory:
    return get_object_or_404(user_stories_visible_to(request.user), pk=pk)


class StoryCreateGitHubIssueView(APIView):
    """POST: the story's GitHub issue (201 when created now, 200 when it existed)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "outbound"

    @extend_schema(request=CreateIssueRequestSerializer, responses=GitHubIssueLinkSerializer)
    def post(self, request, pk: int) -> Response:
        story = _visible_story(request, pk)
        check_manage_project(request.user, story.project)
        params = CreateIssueRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        candidates = GitHubIntegration.objects.filter(
            acting_owner_q(story.project), project_id=story.project_id, is_active=True
        )
        wanted = params.validated_data.get("integration")
        if wanted is not None:
            candidates = candidates.filter(pk=wanted)
        found = list(candidates[:2])
        if not found:
            return Response(
                {"integration": ["No active GitHub integration for this story's project."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if len(found) > 1:
            return Response(
                {"integration": ["This project has several GitHub integrations: choose one."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            result = GitHubService(found[0]).create_issue_from_story(story)
        except IntegrationError as exc:
            return _error_response(exc)
        return Response(
            GitHubIssueLinkSerializer(result.link).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class StoryGitHubView(APIView):
    """GET: the story's GitHub issues and the pull requests that mention its key."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="story, issues, pull_requests")})
    def get(self, request, pk: int) -> Response:
        story = _visible_story(request, pk)
        links, pulls = story_github(story)
        return Response(
            {
                "story": {"id": story.pk, "key": story.key},
                "issues": GitHubIssueLinkSerializer(links, many=True).data,
                "pull_requests": GitHubPullRequestSerializer(pulls, many=True).data,
            }
        )
