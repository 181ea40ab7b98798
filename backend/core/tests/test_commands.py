"""Management commands an operator relies on."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_given_a_user_when_drf_create_token_runs_then_the_token_authenticates_the_api(
    user, api_client
):
    out = StringIO()

    call_command("drf_create_token", user.username, stdout=out)

    token = Token.objects.get(user=user)
    assert token.key in out.getvalue()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/projects/").status_code == 200


def test_given_the_models_when_checking_migrations_then_none_are_missing():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_given_the_settings_when_running_system_checks_then_no_errors():
    call_command("check", stdout=StringIO())
