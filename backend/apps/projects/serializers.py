from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.projects.models import Project, UserStory
from apps.projects.selectors import projects_visible_to


@extend_schema_field(OpenApiTypes.INT)  # a project id, also in serializers without a model
class VisibleProjectField(serializers.PrimaryKeyRelatedField):
    """A project id the caller can see; any other id is "does not exist" (400), never a leak."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Project.objects.none()
        return projects_visible_to(request.user)


class HomeProjectField(VisibleProjectField):
    """The project an object lives in (a story, workflow, command): chosen at creation, then
    fixed. Moving it would hand its history (executions, keys, links) to another project's
    people, so a different project on update is a 400; the same one is accepted (PUT)."""

    def to_internal_value(self, data):
        project = super().to_internal_value(data)
        instance = getattr(self.parent, "instance", None)
        if instance is not None and project.pk != instance.project_id:
            noun = instance._meta.verbose_name
            raise serializers.ValidationError(f"A {noun} cannot move to another project.")
        return project


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user who may be added to a project. "No such user" and "not allowed" (e.g. inactive)
    are one answer that names no id, so member ids cannot be used to enumerate accounts."""

    default_error_messages = {
        "does_not_exist": "Some of these users cannot be added to a project.",
        "incorrect_type": "Members are user ids (integers).",
    }

    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    owner_username = serializers.CharField(source="owner.get_username", read_only=True)
    members = MemberField(many=True, required=False)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "owner_username",
            "members",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class UserStorySerializer(serializers.ModelSerializer):
    project = HomeProjectField()
    key = serializers.CharField(read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = UserStory
        fields = [
            "id",
            "key",
            "project",
            "title",
            "description",
            "acceptance_criteria",
            "status",
            "priority",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
