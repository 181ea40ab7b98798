"""API views of the github part of the integrations (thin: the work is in GitHubService).

Under /api/v1/integrations-external/: `github/` and `github/{id}/` (who sees and does what:
permissions.py, docs/permissions.md), `verify/`, `sync-prs/`, `pull-requests/`, `create-webhook/`,
`workflow-runs/`, and the unauthenticated receiver `github/{id}/webhook/` (signature-checked).
Under /api/v1/ (github/urls.py `story_routes`): `user-stories/{id}/create-github-issue/` and
`user-stories/{id}/github/`. GitHub's refusals (the named errors of http/errors.py) become
HTTP answers in core/api/exceptions.py.
"""

from __future__ import annotations

from typing import cast

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

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
    GitHubService,
    github_integration_for_story,
    webhook_url,
)
from apps.integrations_external.permissions import (
    IntegrationPermission,
    check_manage_project,
    request_user,
)
from apps.projects.models import UserStory
from apps.projects.selectors import user_stories_visible_to


class GitHubIntegrationViewSet(viewsets.ModelViewSet):
    serializer_class = GitHubIntegrationSerializer
    permission_classes = [IntegrationPermission]
    filterset_fields = ["project", "is_active"]
    ordering_fields = ["created_at", "updated_at"]
    throttle_scopes = {"verify": "outbound", "sync_prs": "outbound", "create_webhook": "outbound"}
    # GitHub's refusals reach the caller (core/api/exceptions.py; documented by core/api/schema.py)
    remote_actions = {"sync_prs", "create_webhook"}

    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GitHubIntegration.objects.none()
        return github_integrations_of(request_user(self.request))

    def perform_create(self, serializer: BaseSerializer[GitHubIntegration]) -> None:
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer: BaseSerializer[GitHubIntegration]) -> None:
        instance = cast(GitHubIntegration, serializer.instance)  # an update has its instance
        serializer.instance = GitHubService(instance).update(**serializer.validated_data)

    def create(self, request, *args, **kwargs) -> Response:
        response = super().create(request, *args, **kwargs)
        integration = GitHubIntegration.objects.get(pk=response.data["id"])
        # Shown once: GitHub needs it to sign deliveries if the hook is created by hand.
        response.data["webhook_secret"] = integration.webhook_secret
        return response

    @extend_schema(request=None, responses=VerifyResultSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None) -> Response:
        return Response(GitHubService(self.get_object()).verify_connection().as_dict())

    @extend_schema(request=None, responses={202: SyncStatusSerializer})
    @action(detail=True, methods=["post"], url_path="sync-prs")
    def sync_prs(self, request, pk=None) -> Response:
        """Queue a sync (a worker runs it) and answer 202 with the sync's state; a sync already
        queued or running is not queued twice."""
        integration = self.get_object()
        queued = GitHubService(integration).queue_sync()
        integration.refresh_from_db()
        data = SyncStatusSerializer(integration, context={"queued": queued}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None, responses={201: OpenApiResponse(description="hook_id, events, url")}
    )
    @action(detail=True, methods=["post"], url_path="create-webhook")
    def create_webhook(self, request, pk=None) -> Response:
        integration = self.get_object()
        GitHubService(integration).create_webhook()
        # What we asked GitHub for, and the id it gave (checked): no other remote data.
        return Response(
            {
                "hook_id": integration.hook_id,
                "events": WEBHOOK_EVENTS,
                "url": webhook_url(integration),
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={200: None, 204: None, 400: None, 401: None, 403: None, 404: None},
        auth=[],
    )
    @action(
        detail=True,
        methods=["post"],
        authentication_classes=[],
        permission_classes=[permissions.AllowAny],
        throttle_classes=[],
    )
    def webhook(self, request, pk=None) -> Response:
        """GitHub's deliveries: no login; the X-Hub-Signature-256 over the raw body is the
        proof."""
        integration = GitHubIntegration.objects.filter(pk=pk, is_active=True).first()
        if integration is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        code, body = verify_and_handle_webhook(
            integration,
            body=request.body,  # raw bytes: never request.data before the signature is checked
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        return Response(body, status=code)

    @extend_schema(
        responses=GitHubPullRequestSerializer(many=True),
        filters=False,  # the integrations' filters do not apply: `state` only
        parameters=[
            OpenApiParameter(
                "state", str, description="open, closed or merged (anything else: none)"
            )
        ],
    )
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

    @extend_schema(responses=GitHubWorkflowRunSerializer(many=True), filters=False)
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


class StoryGitHubViewSet(viewsets.GenericViewSet):
    """A user story's GitHub side, on `user-stories/{id}/`: its issue and its pull requests."""

    lookup_value_regex = "[0-9]+"
    throttle_scopes = {"create_github_issue": "outbound"}
    remote_actions = {"create_github_issue"}  # GitHub's refusals reach the caller

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return UserStory.objects.none()
        return user_stories_visible_to(request_user(self.request))

    @extend_schema(request=CreateIssueRequestSerializer, responses=GitHubIssueLinkSerializer)
    @action(detail=True, methods=["post"], url_path="create-github-issue")
    def create_github_issue(self, request, pk=None) -> Response:
        """The story's GitHub issue (201 when created now, 200 when it existed)."""
        story = self.get_object()
        check_manage_project(request.user, story.project)
        params = CreateIssueRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        integration = github_integration_for_story(
            story=story, integration_id=params.validated_data.get("integration")
        )
        result = GitHubService(integration).create_issue_from_story(story=story)
        return Response(
            GitHubIssueLinkSerializer(result.link).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(responses={200: OpenApiResponse(description="story, issues, pull_requests")})
    @action(detail=True, methods=["get"])
    def github(self, request, pk=None) -> Response:
        """The story's GitHub issues and the pull requests that mention its key (only what
        integrations still acting on the project brought in: github/selectors.story_github)."""
        story = self.get_object()
        links, pulls = story_github(story)
        return Response(
            {
                "story": {"id": story.pk, "key": story.key},
                "issues": GitHubIssueLinkSerializer(links, many=True).data,
                "pull_requests": GitHubPullRequestSerializer(pulls, many=True).data,
            }
        )
