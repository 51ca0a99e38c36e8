"""The benchmarks run outside ``make test``; what they need from the saga is checked here, so a
change to the definition breaks a test, not the next ``make bench``."""

from __future__ import annotations

import pytest

from bench.cold_start import task_inputs
from sagakit.local import LocalRuntime
from statemachines import saga_named

pytestmark = pytest.mark.e2e


def test_the_cold_start_bench_finds_a_real_input_for_every_command(local: LocalRuntime) -> None:
    # Given the inputs the cold-start benchmark reads from real runs' histories
    inputs = task_inputs(local)
    # Then every step and compensation of the onboarding saga has one, addressed to it
    saga = saga_named("OnboardClientSaga")
    assert set(inputs) == {command.name for command in saga.commands()}
    for command, payload in inputs.items():
        assert payload["step"] == command
        assert payload["sagaName"] == saga.name


def test_the_throughput_floor_replays_one_sagas_storage_and_event_requests(local: LocalRuntime) -> None:
    from bench.offline_throughput import request_floor

    # When one saga's requests are recorded and replayed twice
    seconds, replayed, requests = request_floor(local, 2, "floortest")
    # Then the replay holds every DynamoDB and EventBridge request of the saga, not the
    # invocations (Step Functions' three Lambda tasks and the starter's StartExecution)
    assert requests == replayed + 4
    assert replayed >= 14
    assert seconds > 0
    # and the replayed writes landed as new items: each replay wrote the workspace, the billing
    # profile and the notification afresh (the clients table is written by compensation only)
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=local.region)
    for index in range(2):
        for service in ("ai-workspace", "billing", "notifications"):
            key = {"clientId": {"S": f"floortest-{index:05d}"}}
            assert "Item" in dynamodb.get_item(TableName=local.deployed.tables[service], Key=key), (service, index)
