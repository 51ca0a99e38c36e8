"""Duplicate and replayed triggers: EventBridge delivers at least once, and a replay re-sends old
events. However many copies of one ClientOnboarded arrive, and however they interleave, one
saga runs and every service holds one record of the client."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sagakit.local import LocalRuntime
from tests.reliability.conftest import onboarding

pytestmark = pytest.mark.e2e

SAGA = "OnboardClientSaga"
SERVICES = ("clients", "ai-workspace", "billing", "notifications")


def items_of(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {
        service: sum(1 for item in local.table_items(service) if item.get("clientId") == client_id)
        for service in SERVICES
    }


@pytest.mark.parametrize("copies", range(2, 11))
def test_a_client_onboarded_delivered_many_times_at_once_runs_one_saga(local: LocalRuntime, copies: int) -> None:
    # Given one onboarding, whose ClientOnboarded the producer publishes while copies-1 more
    # copies of the same event arrive at the same moment (redeliveries, a replay)
    event = onboarding()
    client = event["detail"]["clientId"]
    for service in ("events", "lambda"):
        local.client(service)  # made once, before the threads share them
    before = set(local.execution_arns(SAGA))
    deliveries = len(local.events.deliveries)
    start = threading.Barrier(copies)
    errors: list[BaseException] = []

    def deliver(index: int) -> None:
        try:
            start.wait()
            if index == 0:
                local.invoke("OnboardClient", event["detail"])  # records the tenant, publishes
            else:
                local.put_event(event)
        except BaseException as error:  # reported below, with the thread's index
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []

    # Then exactly one saga execution exists for the client, and it completed
    started = [arn for arn in local.execution_arns(SAGA) if arn not in before]
    assert started == [local.execution_arn(SAGA, f"onboard-{client}")]
    assert local.wait(started[0]).outcome == "COMPLETED"
    # Every copy reached the starter, and each named the same saga (started, or a duplicate)
    answers: list[Any] = [
        d.response
        for d in local.events.deliveries[deliveries:]
        if d.rule == f"sagakit-dev-{SAGA}-trigger" and d.response.get("sagaId") == f"onboard-{client}"
    ]
    assert len(answers) == copies
    assert all(answer.get("started") or answer.get("duplicate") for answer in answers)
    # And one of each resource
    assert items_of(local, client) == dict.fromkeys(SERVICES, 1)
