"""Fixtures of the GitHub tests: the fake GitHub over HTTP, a repository on it, an integration."""

import pytest

from apps.integrations_external.github.models import GitHubIntegration
from tests_support.fake_github import fake_github  # noqa: F401 - the fixture


@pytest.fixture
def repo(fake_github):  # noqa: F811
    return fake_github.add_repo("acme", "shop")


@pytest.fixture
def make_integration(fake_github, project):  # noqa: F811
    def make(**fields) -> GitHubIntegration:
        values = {
            "owner": project.owner,
            "project": project,
            "repository_owner": "acme",
            "repository_name": "shop",
            "access_token": fake_github.token,
            "api_base_url": fake_github.base_url,
            **fields,
        }
        return GitHubIntegration.objects.create(**values)

    return make


@pytest.fixture
def integration(make_integration, repo):
    return make_integration()
