"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.projects.tests.factories import ProjectFactory, UserFactory

pytest_plugins = ["tests_support.services", "tests_support.receivers", "tests_support.browser"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def project(user):
    return ProjectFactory(owner=user)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)`: an APIClient that authenticates with an API token of the user's."""
    from apps.accounts.services import create_token

    keys: dict[int, str] = {}

    def make(user) -> APIClient:
        client = APIClient()
        if user.pk not in keys:
            keys[user.pk] = create_token(user=user, name="tests")[1]
        client.credentials(HTTP_AUTHORIZATION=f"Token {keys[user.pk]}")
        return client

    return make


@pytest.fixture
def auth_client(client_for, user) -> APIClient:
    return client_for(user)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks as if the request's transaction had committed.

    Tests are wrapped in a transaction that never commits, so without this the domain signals
    (sent on commit) would never fire.
    """
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def record_signal():
    """`calls = record_signal(signal)`: every send of `signal` during the test, as kwargs dicts."""
    connected = []

    def record(signal) -> list[dict]:
        calls: list[dict] = []

        def receiver(sender, **kwargs):
            kwargs.pop("signal", None)
            calls.append({"sender": sender, **kwargs})

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return calls

    yield record
    for signal, receiver in connected:
        signal.disconnect(receiver)
