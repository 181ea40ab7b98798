"""Production settings: `manage.py check --deploy` passes under .env.example's production
example, and the HTTPS settings come from the environment."""

import os
import secrets
import subprocess
import sys

from cryptography.fernet import Fernet
from django.test import Client

from core.env import BASE_DIR, PROJECT_DIR

# The example's secrets are placeholders (nobody should deploy a published key): real ones
# stand in for them, everything else is taken as written.
GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
}


def production_example() -> dict[str, str]:
    """The variables of the block between BEGIN and END PRODUCTION EXAMPLE in .env.example."""
    lines = (PROJECT_DIR / ".env.example").read_text().splitlines()
    start = lines.index("# BEGIN PRODUCTION EXAMPLE") + 1
    end = lines.index("# END PRODUCTION EXAMPLE")
    values = {}
    for line in lines[start:end]:
        name, _, value = line.removeprefix("# ").partition("=")
        values[name] = GENERATED[name]() if name in GENERATED else value
    return values


def manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    # A clean environment: nothing of the test run's own settings (TESTING, DATABASE_URL, …).
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "core.settings.base",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_production_example_passes_check_deploy(tmp_path):
    example = production_example()
    assert example["DEBUG"] == "false"

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=example, tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_deploy_production_example_sets_https_settings(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
    )

    example = production_example()

    result = manage("shell", "--no-imports", "-c", code, env=example, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "True",
    ]


def test_deploy_ssl_redirect_spares_health_over_http(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # built after the change: the middleware reads it when first loaded

    assert client.get("/healthz").status_code == 200
    redirected = client.get("/api/v1/projects/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
