"""The embedded (filesystem) broker's options reach kombu as kombu reads them."""

import os
import subprocess
import sys

from cryptography.fernet import Fernet

from core.env import BASE_DIR

PROBE = (
    "import django; django.setup();"
    "from core.celery import app;"
    "print(app.connection_for_read().transport.polling_interval)"
)


def polling_interval(tmp_path, **extra: str) -> float:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "core.settings.base",
        "SECRET_KEY": "broker-settings-test",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def test_empty_queue_is_looked_at_again_within_a_tenth_of_a_second(tmp_path):
    # kombu's own default is 1 s: a delivery queued just after a look waited that long.
    assert polling_interval(tmp_path) == 0.1


def test_polling_interval_comes_from_the_environment(tmp_path):
    assert polling_interval(tmp_path, CELERY_BROKER_POLLING_INTERVAL="0.5") == 0.5
