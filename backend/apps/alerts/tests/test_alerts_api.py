"""System alerts: every signed-in user reads them; only staff raise or remove them."""

import pytest

from apps.alerts import services
from apps.alerts.models import SystemAlert
from apps.alerts.signals import system_alert_raised
from tests_support.transactions import RolledBack, roll_back

pytestmark = pytest.mark.django_db

URL = "/api/v1/system-alerts/"


@pytest.fixture
def raised(record_signal):
    return record_signal(system_alert_raised)


def test_alerts_api_raise_by_staff_201_signalled_after_commit(
    client_for, staff_user, raised, run_on_commit
):
    with run_on_commit():
        resp = client_for(staff_user).post(
            URL,
            {
                "severity": "critical",
                "title": "Disk full",
                "message": "/var at 99%",
                "source": "db1",
            },
        )

    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["severity"] == "critical"
    assert body["created_by"] == staff_user.pk
    assert len(raised) == 1
    assert raised[0]["sender"] is SystemAlert
    assert raised[0]["alert"].pk == body["id"]
    assert raised[0]["actor"] == staff_user


def test_alerts_api_raise_by_regular_user_403_records_nothing(auth_client, raised, run_on_commit):
    with run_on_commit():
        resp = auth_client.post(URL, {"title": "Not allowed"})

    assert resp.status_code == 403
    assert "staff" in resp.json()["detail"]
    assert not SystemAlert.objects.exists()
    assert raised == []


def test_alerts_api_read_by_any_signed_in_user_200(auth_client):
    alert = services.system_alert_raise(title="Maintenance tonight", severity="info")

    listing = auth_client.get(URL)
    one = auth_client.get(f"{URL}{alert.pk}/")

    assert listing.status_code == 200
    assert [a["id"] for a in listing.json()["results"]] == [alert.pk]
    assert one.status_code == 200
    assert one.json()["title"] == "Maintenance tonight"


def test_alerts_api_read_anonymous_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_alerts_api_delete_staff_only(auth_client, client_for, staff_user):
    # then: 403 for a regular user; staff can delete
    alert = services.system_alert_raise(title="Old")

    assert auth_client.delete(f"{URL}{alert.pk}/").status_code == 403
    assert client_for(staff_user).delete(f"{URL}{alert.pk}/").status_code == 204
    assert not SystemAlert.objects.exists()


def test_alerts_api_update_405_alerts_immutable(client_for, staff_user):
    alert = services.system_alert_raise(title="Fixed text")

    assert client_for(staff_user).patch(f"{URL}{alert.pk}/", {"title": "x"}).status_code == 405


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "T", "severity": "apocalyptic"}, "severity"),
        ({"title": "T", "source": "s" * 201}, "source"),
        ({"title": "T", "severity": 3}, "severity"),
    ],
)
def test_alerts_api_raise_bad_input_400_field_errors(client_for, staff_user, payload, field):
    resp = client_for(staff_user).post(URL, payload)

    assert resp.status_code == 400, resp.content
    assert field in resp.json()


def test_alerts_api_filter_by_severity(auth_client):
    services.system_alert_raise(title="a", severity="info")
    critical = services.system_alert_raise(title="b", severity="critical")

    resp = auth_client.get(URL, {"severity": "critical"})

    assert [a["id"] for a in resp.json()["results"]] == [critical.pk]


def test_system_alert_raise_rolled_back_no_signal(raised, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack):
        roll_back(lambda: services.system_alert_raise(title="Never happened", severity="error"))

    assert raised == []
    assert not SystemAlert.objects.exists()


def test_system_alert_raise_cuts_overlong_text(raised, run_on_commit):
    with run_on_commit():
        alert = services.system_alert_raise(title="t" * 500, source="s" * 500)

    assert len(alert.title) == 300
    assert len(alert.source) == 200
    assert len(raised) == 1
