"""The admin names every integration model in English ("GitHub webhook deliveries", not
"Git hub webhook deliverys")."""

import re

import pytest
from django.apps import apps
from django.test import Client

from apps.projects.tests.factories import UserFactory

MODELS = list(apps.get_app_config("integrations_external").get_models())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_names_read_as_english(model):
    names = f"{model._meta.verbose_name} / {model._meta.verbose_name_plural}"

    assert not re.search(r"git hub|deliverys|ys\b", names, re.IGNORECASE), names
    if "github" in model.__name__.lower():
        assert model._meta.verbose_name_plural.startswith("GitHub "), names
    if "slack" in model.__name__.lower():
        assert model._meta.verbose_name_plural.startswith("Slack "), names


@pytest.mark.django_db
def test_admin_index_lists_the_english_names():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    html = client.get("/admin/integrations_external/").content.decode()

    for name in ["GitHub integrations", "GitHub webhook deliveries", "Slack integrations"]:
        assert name in html
