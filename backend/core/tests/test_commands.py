"""Management commands an operator relies on."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_given_a_user_when_create_api_token_runs_then_the_token_authenticates_the_api(
    user, api_client
):
    out = StringIO()

    call_command("create_api_token", user.username, "--name", "deploy", stdout=out)

    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert token.name == "deploy"
    assert key not in token.digest
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 200


def test_given_the_models_when_checking_migrations_then_none_are_missing():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_given_the_settings_when_running_system_checks_then_no_errors():
    call_command("check", stdout=StringIO())
