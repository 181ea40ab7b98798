"""Settings of the benchmark: the production settings, with the embedded broker in a folder
of its own (no other worker on this machine may take the bench's messages) and polled often
(kombu's filesystem transport polls once a second by default)."""

from core.settings.base import *  # noqa: F403
from core.settings.base import CELERY_BROKER_IS_EMBEDDED, CELERY_BROKER_TRANSPORT_OPTIONS, VAR_DIR

if CELERY_BROKER_IS_EMBEDDED:
    _broker = VAR_DIR / "bench" / "broker"
    for _name in ("queue", "processed", "control"):
        (_broker / _name).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
        "polling_interval": 0.05,
    }

# One log line per HTTP request would cost more than the request.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "httpx": {"level": "WARNING"}}}  # noqa: F405
