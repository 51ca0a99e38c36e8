"""Malformed and hostile ClientOnboarded events (``corpus/client_onboarded.json``), put on the
saga bus of the offline stack. Each one is stopped before any resource exists, where it is
stopped says why, and nothing crashes without an explanation:

* ``putevents``: EventBridge refuses the request itself (a detail that is not JSON, entries over
  the PutEvents size limit): the caller gets the error code and message;
* ``unrouted``: not this saga's trigger (source or detail-type differ), so the rule does not
  match and nothing is delivered: there is nothing to reject, and no saga starts;
* ``starter``: the starter validates the event against its model, starts nothing, and puts the
  event in the saga's dead-letter queue with a reason naming the field.

The same details are then handed to every step and compensation directly: each refuses them as
``InvalidCommand`` naming the field, never with an unexplained crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagakit.local import LocalRuntime
from sagakit.local.event_router import PUT_EVENTS_MAX_BYTES, put_events_entry_size
from sagakit.local.runtime import sample_event
from statemachines.onboard_client import OnboardClientSaga
from tests.reliability.conftest import fresh_client, task_payload

pytestmark = pytest.mark.e2e

CORPUS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "corpus" / "client_onboarded.json").read_text())
SAGA = OnboardClientSaga.name
SERVICES = ("clients", "ai-workspace", "billing", "notifications")


def build(case: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The PutEvents entry of ``case`` (from the sample, with a fresh client id) and that id."""
    sample = sample_event()
    detail: dict[str, Any] = dict(case["detail"]) if "detail" in case else dict(sample["detail"])
    if "detail" not in case:
        detail["clientId"] = fresh_client("bad")
    for name in case.get("remove", []):
        detail.pop(name, None)
    detail.update(case.get("set", {}))
    if "pad" in case:
        detail[case["pad"]["field"]] = "x" * case["pad"]["bytes"]
    if "nest" in case:
        nested: Any = "deep"
        for _ in range(case["nest"]["depth"]):
            nested = {"level": nested}
        detail[case["nest"]["field"]] = nested
    text = case.get("rawDetail") or json.dumps(detail)
    if "replace" in case:
        text = text.replace(*case["replace"])
    entry = {
        "Source": case.get("source", sample["source"]),
        "DetailType": case.get("detailType", sample["detail-type"]),
        "Detail": text,
    }
    client = detail.get("clientId")
    return entry, client if isinstance(client, str) else ""


def drain(local: LocalRuntime) -> list[dict[str, Any]]:
    """Take every message out of the saga's dead-letter queue."""
    url = next(url for name, url in local.deployed.queues.items() if name.endswith(f"{SAGA}-dlq"))
    sqs = local.client("sqs")
    taken: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            return taken
        for message in batch:
            taken.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def starter_answers(local: LocalRuntime, since: int) -> list[Any]:
    trigger = f"sagakit-dev-{SAGA}-trigger"
    return [d.response for d in local.events.deliveries[since:] if d.rule == trigger]


def test_the_corpus_has_at_least_thirty_cases_of_every_kind() -> None:
    names = [case["case"] for case in CORPUS]
    assert len(names) == len(set(names)) >= 30
    assert {case["expect"] for case in CORPUS} == {"putevents", "unrouted", "starter"}


@pytest.mark.parametrize("case", CORPUS, ids=[case["case"] for case in CORPUS])
def test_a_bad_event_starts_nothing_creates_nothing_and_says_why(local: LocalRuntime, case: dict[str, Any]) -> None:
    # Given a malformed or hostile ClientOnboarded
    entry, client = build(case)
    drain(local)
    executions = len(local.execution_arns(SAGA))
    deliveries = len(local.events.deliveries)

    # When it is put on the saga bus
    refusal = ""
    try:
        response = local.client("events").put_events(Entries=[{**entry, "EventBusName": local.deployed.bus_name}])
        failed = [e for e in response["Entries"] if "ErrorCode" in e]
        if failed:
            refusal = f"{failed[0]['ErrorCode']}: {failed[0]['ErrorMessage']}"
    except ClientError as error:
        refusal = f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"

    # Then no saga starts and no service holds anything for it
    assert len(local.execution_arns(SAGA)) == executions
    if client:
        for service in SERVICES:
            assert [i for i in local.table_items(service) if i.get("clientId") == client] == [], service
    # And where it was stopped says why
    answers = starter_answers(local, deliveries)
    if case["expect"] == "putevents":
        assert refusal == case["reason"]
        assert answers == []
    elif case["expect"] == "unrouted":
        assert (refusal, answers) == ("", [])
    else:
        assert refusal == ""
        [answer] = answers
        assert answer["started"] is False
        assert case["reason"] in answer["rejected"]
        [dead_letter] = drain(local)
        assert dead_letter["saga"] == SAGA
        assert dead_letter["reason"] == answer["rejected"]


def test_put_events_counts_the_entry_as_eventbridge_does_and_refuses_the_request_over_the_limit(
    local: LocalRuntime,
) -> None:
    # An entry of exactly the limit is accepted (and rejected by the starter, for its size);
    # one byte more and the whole request is refused before any rule sees it
    sample = sample_event()
    entry = {"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": ""}
    room = PUT_EVENTS_MAX_BYTES - put_events_entry_size(entry) - len(json.dumps({"notes": ""}))
    entry["Detail"] = json.dumps({"notes": "x" * room})
    assert put_events_entry_size(entry) == PUT_EVENTS_MAX_BYTES
    events = local.client("events")
    accepted = events.put_events(Entries=[{**entry, "EventBusName": local.deployed.bus_name}])
    assert accepted["FailedEntryCount"] == 0
    entry["Detail"] = json.dumps({"notes": "x" * (room + 1)})
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[{**entry, "EventBusName": local.deployed.bus_name}])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    drain(local)


@pytest.mark.parametrize(
    "misrouted",
    [{"source": "billing"}, {"detail-type": "WorkspaceCreated"}],
    ids=["another source", "another detail-type"],
)
def test_the_starter_itself_refuses_an_event_that_is_not_its_trigger(
    local: LocalRuntime, misrouted: dict[str, str]
) -> None:
    # Given a rule misconfigured to hand the starter another event (the bus never does)
    event = {**sample_event(), **misrouted, "id": "misrouted-1"}
    event["detail"] = {**event["detail"], "clientId": fresh_client("bad")}
    drain(local)
    starter = local.deployed.functions["starter"]
    payload = local.client("lambda").invoke(FunctionName=starter, Payload=json.dumps(event).encode())["Payload"]
    answer = json.loads(payload.read())
    # Then it starts nothing, and the dead-letter queue says which field was wrong
    assert answer["started"] is False
    assert next(iter(misrouted)) in answer["rejected"]
    assert [message["reason"] for message in drain(local)] == [answer["rejected"]]


DETAILS = [case for case in CORPUS if case["expect"] == "starter"]


@pytest.mark.parametrize("command", [c.name for c in OnboardClientSaga.commands()])
def test_every_step_and_compensation_refuses_every_bad_detail_naming_the_field(
    local: LocalRuntime, command: str
) -> None:
    for case in DETAILS:
        entry, _ = build(case)
        payload = task_payload(local, command, saga_id="onboard-corpus", detail=json.loads(entry["Detail"]))
        with pytest.raises(RuntimeError) as refused:
            local.invoke(command, payload)
        message = str(refused.value)
        assert message.startswith(f"{command} failed: InvalidCommand: {command}: "), (case["case"], message)
        assert "detail." in message, (case["case"], message)
