"""Settings for the test suite: the production settings with test-friendly defaults.

Only defaults are set here; the environment (e.g. CI's DATABASE_URL) still wins.
"""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("INTEGRATIONS_ALLOW_PRIVATE_TARGETS", "true")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Metrics files of this test process (and the real workers it starts, which inherit the
# variable) only: test runs side by side never add up each other's counters.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from core import env as _env

    _metrics_dir = _env.VAR_DIR / "prometheus-test" / str(os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)
    _env.reset_metrics_dir()
    # Only the process that made it removes it (the workers it starts inherit the variable and
    # skip this branch).
    import atexit
    import shutil

    atexit.register(shutil.rmtree, _metrics_dir, ignore_errors=True)

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

# Test-only models (no migrations: pytest-django creates their tables directly).
INSTALLED_APPS = [*INSTALLED_APPS, "tests_support"]

# No rate limits unless a test sets one (core/tests/test_throttling.py): a suite that calls an
# action more often than a person would must not trip over counts of earlier tests.
THROTTLE_RATES: dict[str, str] = {}
