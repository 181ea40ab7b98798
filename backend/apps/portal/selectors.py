"""Reads the pages share."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.shortcuts import get_object_or_404

from apps.projects.models import Project
from apps.projects.selectors import projects_visible_to


def visible_project(*, user: AbstractBaseUser, pk: int) -> Project:
    """The project `pk` if `user` may see it; 404 otherwise (never 403: another team's project
    must not be told apart from one that does not exist)."""
    return get_object_or_404(projects_visible_to(user).select_related("owner"), pk=pk)
