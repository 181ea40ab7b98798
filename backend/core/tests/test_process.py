import gc
import weakref
from types import SimpleNamespace

import pytest
from celery.signals import worker_process_init

from core import gunicorn_conf


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite runs with an ordinary collector


def test_a_celery_pool_child_freezes_what_it_holds_at_start(unfrozen):
    import core.celery  # noqa: F401 - connects the worker's signal handlers

    assert gc.get_freeze_count() == 0
    worker_process_init.send(sender=None)
    # Django and the apps are loaded: their objects are now outside every collection.
    assert gc.get_freeze_count() > 10_000
    assert gc.get_count()[2] == 0  # collected first: nothing left waiting in the old generation


def test_a_gunicorn_worker_freezes_what_it_holds_once_the_app_is_loaded(unfrozen):
    gunicorn_conf.post_worker_init(SimpleNamespace())
    assert gc.get_freeze_count() > 10_000


def test_garbage_is_collected_before_the_freeze(unfrozen):
    class Node:
        pass

    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    alive = weakref.ref(cycle)
    gc.disable()  # no automatic collection may free it before the freeze does
    try:
        del cycle
        assert alive() is not None  # a cycle: only the collector frees it
        gunicorn_conf.post_worker_init(SimpleNamespace())
        assert alive() is None  # freed, not frozen for the life of the process
    finally:
        gc.enable()
