"""Management commands an operator relies on."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_api_token_gives_a_token_the_api_accepts(user, api_client):
    out = StringIO()

    call_command("create_api_token", user.username, "--name", "deploy", stdout=out)

    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert token.name == "deploy"
    assert key not in token.digest
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/projects/").status_code == 200


def test_makemigrations_check_finds_none_missing():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_system_checks_report_no_errors():
    call_command("check", stdout=StringIO())
