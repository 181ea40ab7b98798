"""With a real Celery worker on Redis and PostgreSQL: Slack's 429 is waited out by the broker
(countdown), not by a sleeping worker, and one channel's messages keep a 1 s pace."""

import itertools

import pytest

from apps.integrations_external.models import SlackDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory
from tests_support.fake_slack import FakeSlack
from tests_support.services import wait_until

pytestmark = pytest.mark.services


def _state(fake: FakeSlack) -> str:
    deliveries = SlackDelivery.objects.order_by("pk").values_list(
        "status", "attempt_number", "next_attempt_at"
    )
    return (
        f"deliveries: {list(deliveries)}; Slack calls: {[(c.method, c.status) for c in fake.calls]}"
    )


def test_real_worker_posts_each_message_once_at_slacks_pace(
    require_postgres, tasks_through_redis, celery_worker_process
):
    # given: Slack rate-limits a real worker
    redis_url = tasks_through_redis
    fake = FakeSlack().start()
    try:
        fake.add_token(BOT_TOKEN)
        fake.add_channel("C0BUILDS01", "builds")
        fake.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})
        user = UserFactory()
        project = ProjectFactory(owner=user)
        integration = SlackIntegrationFactory(owner=user)
        worker = celery_worker_process(
            redis_url, concurrency=2, extra_env={"SLACK_API_BASE_URL": fake.base_url}
        )
        for n in range(3):
            publish(
                "workflow.failed",
                {"workflow": {"name": f"W{n}"}, "execution": {"status": "failed"}},
                project=project,
                actor=user,
            )

        def all_sent():
            assert worker.proc.poll() is None, worker.log()[-3000:]
            return (
                SlackDelivery.objects.filter(integration=integration, status="success").count() == 3
            )

        wait_until(all_sent, timeout=60, message=f"three Slack messages delivered; {_state(fake)}")
    finally:
        fake.stop()

    calls = fake.calls_to("chat.postMessage")
    posted = fake.posted()
    assert [c.status for c in calls].count(429) == 1
    assert len(posted) == 3
    assert sorted(c.params["text"] for c in posted) == sorted(set(c.params["text"] for c in posted))
    times = [c.at for c in calls]
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), times
    assert calls[1].at - calls[0].at >= 0.95  # the 429's Retry-After: 1 was honoured
