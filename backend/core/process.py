"""Start-up of a long-lived server process (a Celery pool child, a gunicorn worker)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move what the process holds once started (Django, the apps, their modules: some 200,000
    objects) out of the garbage collector's reach. They live as long as the process, and each
    full collection walked them all: about 100 ms of CPU each, about once per pool child over
    the bench's three runs of 10,000 deliveries (docs/delivery.md, "The garbage collector").
    Collected first, so no garbage is frozen with them."""
    gc.collect()
    gc.freeze()
