"""What goes wrong with events, and what the choreographed saga does about it: duplicates, events
out of order or late, a poison event, the same client onboarded twice at once, a saga that stops
making progress, and a step that succeeds after its saga ended."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from typer.testing import CliRunner

from sagakit.cli import app
from sagakit.local import FaultKind, LocalRuntime
from sagakit.local.choreography import describe, sweep
from sagakit.local.event_router import QueuedDelivery
from sagakit.runtime import choreography
from tests.choreography.conftest import CHOREOGRAPHED, SERVICES, items_of, record_tenant, saga_id, trigger

pytestmark = pytest.mark.e2e

#: Past any saga's deadline and grace: what the deadline sweep sees an hour and a bit later.
LATER = timedelta(seconds=3600 + 3600)


def counts(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {service: len(found) for service, found in items_of(local, client_id).items()}


def held_for(saga: str, detail_type: str) -> Any:
    """A hold on ``detail_type`` deliveries of one saga instance."""

    def matches(job: QueuedDelivery) -> bool:
        detail = job.event.get("detail") or {}
        return job.event["detail-type"] == detail_type and detail.get("saga", {}).get("id") == saga

    return matches


def test_a_success_event_delivered_twice_moves_the_saga_on_once(local: LocalRuntime) -> None:
    # Given WorkspaceCreated delivered twice, same event (EventBridge delivers at least once)
    envelope = trigger()
    saga = saga_id(envelope)
    local.events.hold(held_for(saga, "WorkspaceCreated"))
    local.put_event(envelope)
    (delivery,) = local.events.held
    local.events.held.append(delivery)
    # When both deliveries run
    local.events.release()
    run = describe(local, CHOREOGRAPHED, saga)
    # Then SetupBilling replayed idempotently, its second success event was refused downstream,
    # and the client has one of each
    assert run.outcome == "COMPLETED"
    assert [s.name for s in run.states if s.status == "succeeded"] == [
        "CreateWorkspace",
        "SetupBilling",
        "SetupBilling",
        "SendWelcomeEmail",
    ]
    (refused,) = [s for s in run.states if s.status == "skipped"]
    assert refused.name == "SendWelcomeEmail"
    assert refused.error is not None and refused.error.startswith("refused: duplicate")
    assert counts(local, envelope["detail"]["clientId"]) == {
        "clients": 0,
        "ai-workspace": 1,
        "billing": 1,
        "notifications": 1,
    }


def test_a_crash_after_the_write_is_retried_into_the_same_record(local: LocalRuntime) -> None:
    # Given SetupBilling writes, publishes, and then its reply is lost (the platform retries it)
    envelope = trigger()
    local.fail("SetupBilling", FaultKind.CRASH_AFTER_WRITE)
    run = local.run(envelope)
    # Then one billing profile, one welcome mail, and the saga completed
    assert run.outcome == "COMPLETED"
    billing = next(s for s in run.states if s.name == "SetupBilling")
    assert billing.attempts == 2
    assert counts(local, envelope["detail"]["clientId"])["billing"] == 1
    assert counts(local, envelope["detail"]["clientId"])["notifications"] == 1


def test_a_success_that_arrives_after_the_saga_timed_out_is_not_applied(local: LocalRuntime) -> None:
    # Given WorkspaceCreated is held up until the saga's deadline has passed
    envelope = trigger()
    record_tenant(local, envelope)
    saga = saga_id(envelope)
    local.events.hold(held_for(saga, "WorkspaceCreated"))
    local.put_event(envelope)
    assert describe(local, CHOREOGRAPHED, saga).status == "RUNNING"
    # When the deadline sweep runs, then the late event arrives
    swept = sweep(local, CHOREOGRAPHED, now=datetime.now(UTC) + LATER)
    local.events.release()
    # Then the saga timed out at the step that never started, compensated as for an uncertain
    # failure there (the workspace the late event announces is deleted), and SetupBilling never ran
    assert {"sagaId": saga, "status": "TIMED_OUT", "step": "SetupBilling"} in swept["swept"]
    run = describe(local, CHOREOGRAPHED, saga)
    assert run.outcome == "TIMED_OUT"
    assert run.failed_step == "SetupBilling"
    assert run.error == "States.TimedOut"
    assert run.compensations == ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]
    (late,) = [s for s in run.states if s.name == "SetupBilling" and s.status == "skipped"]
    assert late.error == "refused: not applied: the saga is TIMED_OUT"
    assert counts(local, envelope["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)


def test_a_step_that_succeeds_after_its_saga_timed_out_is_compensated_not_applied(
    local: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SetupBilling has started, and while it runs (before its write lands) the deadline
    # sweep gives up on the saga: it is timed out at SetupBilling and compensated, RevertBilling
    # first, which finds no profile yet
    envelope = trigger()
    record_tenant(local, envelope)
    saga = saga_id(envelope)
    client = envelope["detail"]["clientId"]
    billing_dal = importlib.import_module("functions.billing.dal")
    write = billing_dal.create_billing_profile
    chain_before_the_write: list[list[str]] = []
    later = datetime.now(UTC) + LATER

    def slow_write(record: Any) -> Any:
        if record.saga_id == saga and not chain_before_the_write:
            # Elsewhere, at the same time, the sweep runs and the chain it starts runs to its end
            with local.events.apart():
                sweep(local, CHOREOGRAPHED, now=later)
            chain_before_the_write.append(describe(local, CHOREOGRAPHED, saga).compensations)
        return write(record)

    monkeypatch.setattr(billing_dal, "create_billing_profile", slow_write)
    # When the step's write then lands and the step succeeds
    local.put_event(envelope)
    run = describe(local, CHOREOGRAPHED, saga)

    # Then the whole compensation chain had run before the write (so it undid nothing of billing)
    assert chain_before_the_write == [["RevertBilling", "DeleteWorkspace", "DeleteTenant"]]
    # and the late success moved nothing on: it was undone by billing's own undo, run again as a
    # late undo (its own idempotency record: the chain's RevertBilling answer predates the write)
    assert run.outcome == "TIMED_OUT"
    assert run.compensations == ["RevertBilling", "DeleteWorkspace", "DeleteTenant", "RevertBilling"]
    (late,) = [s for s in run.states if s.name == "SetupBilling" and s.status == "skipped"]
    assert late.error is not None and late.error.startswith("late:")
    undo = [s for s in run.states if s.name == "RevertBilling"][-1]
    assert undo.output == {
        "compensations": {"RevertBilling": {"clientId": client, "billingProfileId": ANY, "reverted": True}},
        "lateUndoOf": "SetupBilling",
    }
    # and nothing is left for the client, nothing sent
    assert counts(local, client) == dict.fromkeys(SERVICES, 0)
    # and the instance records the late step as undone
    instances = local.deployed.tables["saga-instances"]
    item = local.client("dynamodb").get_item(TableName=instances, Key={"sagaId": {"S": saga}})["Item"]
    assert item["lateSteps"] == {"SS": ["SetupBilling"]}
    assert item["lateUndone"] == {"SS": ["SetupBilling"]}
    # and a second delivery of the late event does not run the undo again
    assert "late:RevertBilling" in item["claims"]["M"]


def test_a_saga_with_no_progress_is_timed_out_compensated_and_shown_by_saga_status(local: LocalRuntime) -> None:
    # Given SetupBilling times out on every attempt (Lambda's retries too): its event ends up in the
    # dead-letter queue and nothing moves the saga on
    envelope = trigger()
    record_tenant(local, envelope)
    saga = saga_id(envelope)
    local.fail("SetupBilling", FaultKind.TIMEOUT, times=3)
    local.put_event(envelope)
    assert describe(local, CHOREOGRAPHED, saga).status == "RUNNING"
    # When the sweep runs within the deadline, nothing happens; past it, the saga is given up
    assert saga not in json.dumps(sweep(local, CHOREOGRAPHED))
    sweep(local, CHOREOGRAPHED, now=datetime.now(UTC) + LATER)
    # Then it is TIMED_OUT, compensated, and `saga status` says so
    run = describe(local, CHOREOGRAPHED, saga)
    assert run.outcome == "TIMED_OUT"
    assert run.compensations == ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]
    assert counts(local, envelope["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)
    shown = CliRunner().invoke(app, ["status", saga])
    assert shown.exit_code == 0, shown.output
    assert "TIMED_OUT" in shown.output
    assert "SetupBilling" in shown.output
    assert "States.TimedOut" in shown.output


def test_a_poison_event_lands_in_the_dead_letter_queue_with_the_reason(local: LocalRuntime) -> None:
    # Given a trigger without a client id
    envelope = trigger()
    del envelope["detail"]["clientId"]
    # When it is put on the bus
    with pytest.raises(RuntimeError, match=r"detail\.clientId: Field required"):
        local.run(envelope)
    # Then no saga started, and the dead-letter queue (which has an alarm) holds it with the reason
    parked = [m for m in local.dead_letters(CHOREOGRAPHED) if "clientId" in json.dumps(m["error"])]
    assert parked
    assert parked[-1]["error"]["errorType"] == "PoisonEvent"
    assert parked[-1]["event"]["detail-type"] == "ClientOnboardedChoreography"


def test_the_same_client_onboarded_twice_at_once_is_one_saga(local: LocalRuntime) -> None:
    # Given two onboardings of one client whose triggers are delivered together
    envelope = trigger()
    again = {**envelope, "detail": {**envelope["detail"], "onboardedAt": "2026-11-29T09:15:01Z"}}
    saga = saga_id(envelope)
    local.events.hold(lambda job: job.event["detail-type"] == "ClientOnboardedChoreography")
    local.put_event(envelope)
    local.put_event(again)
    assert len(local.events.held) == 2
    # When both run
    local.events.release()
    # Then the first started the saga and the second was refused: one saga, one workspace
    run = describe(local, CHOREOGRAPHED, saga)
    assert run.outcome == "COMPLETED"
    started = [s for s in run.states if s.name == "CreateWorkspace"]
    assert [s.status for s in started] == ["succeeded", "skipped"]
    assert started[1].error is not None and "duplicate" in started[1].error
    assert counts(local, envelope["detail"]["clientId"])["ai-workspace"] == 1


def test_a_step_that_succeeds_after_its_saga_ended_is_reported_not_carried_on(
    local: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SetupBilling's input, as its rule delivers it
    envelope = trigger()
    saga = saga_id(envelope)
    local.events.hold(held_for(saga, "WorkspaceCreated"))
    local.put_event(envelope)
    (delivery,) = local.events.held
    local.events.held.clear()
    instances = local.deployed.tables["saga-instances"]
    monkeypatch.setenv("SAGA_EVENT_BUS_NAME", local.deployed.bus_name)
    monkeypatch.setenv("SAGA_INSTANCES_TABLE", instances)

    def billing_while_the_saga_times_out(command: dict[str, Any], context: Any) -> dict[str, Any]:
        # the sweep gives up on the saga while the step runs
        local.client("dynamodb").update_item(
            TableName=instances,
            Key={"sagaId": {"S": saga}},
            UpdateExpression="SET #s = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":t": {"S": "TIMED_OUT"}},
        )
        return {"clientId": envelope["detail"]["clientId"], "billingProfileId": "bp-1", "plan": "growth"}

    # When the step finishes after that
    answer = choreography.handle(json.loads(delivery.payload), None, billing_while_the_saga_times_out)  # type: ignore[arg-type]
    # Then its success is not published (SendWelcomeEmail never runs), and the instance records
    # the late step (billing's undo removes what it wrote: see the next test)
    assert answer["outcome"] == "late"
    item = local.client("dynamodb").get_item(TableName=instances, Key={"sagaId": {"S": saga}})["Item"]
    assert item["lateSteps"] == {"SS": ["SetupBilling"]}
    assert counts(local, envelope["detail"]["clientId"])["notifications"] == 0


@pytest.mark.parametrize(("step", "alarmed"), [("SendWelcomeEmail", True), ("SetupBilling", False)])
def test_only_a_late_step_with_no_undo_raises_the_late_success_alarm(
    local: LocalRuntime, step: str, alarmed: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a late success reaching the lifecycle function through its rule
    from sagakit.choreography import LIFECYCLE, plan
    from statemachines import saga_named

    (rule,) = [
        r
        for r in plan(saga_named(CHOREOGRAPHED), trigger_source="clients")
        if r.target == LIFECYCLE and r.route.kind == "late"
    ]
    envelope = trigger()
    detail = {
        "saga": {"id": saga_id(envelope), "name": CHOREOGRAPHED, "version": "1"},
        "step": step,
        "trigger": {"detailType": envelope["detail-type"], "detail": envelope["detail"]},
        "error": {"Error": choreography.LATE, "Cause": "{}"},
        "late": True,
    }
    capsys.readouterr()
    answer = local.invoke(
        "lifecycle",
        {"choreography": rule.route.model_dump(mode="json", by_alias=True), "event": {"detail": detail}},
    )
    # Then it is recorded either way; the alarm's metric only for the step nothing can undo
    assert answer == {"handled": True, "sagaId": saga_id(envelope), "late": step, "undone": not alarmed}
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    raised = {m["Name"] for emf in metrics for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert ("SagaLateSuccess" in raised) is alarmed
