"""Redrive offline: resume a failed execution from the state that failed, as Step Functions'
``RedriveExecution`` does on AWS.

moto 5.2.5 has no ``RedriveExecution`` (it raises ``NotImplementedError``). The equivalent here
uses only public Step Functions APIs, so it works in-process and against ``saga local serve``:

1. read the execution's history and find the state it failed in: the last state entered and
   never exited, with the input it was entered with;
2. register a derived state machine, ``<machine>-from-<State>``: the same definition, role and
   states, with ``StartAt`` set to that state;
3. start it with that state's input, named ``<execution>-redrive-<n>``.

Nothing is dropped: the failed state runs again with exactly its input (its ``results`` and
``error`` included), then everything that would have followed it. What differs from AWS: the
resumed run is a second execution rather than the same one with ``redriveCount`` 1, and a state
that failed inside a Parallel or Map branch resumes at the enclosing state, not in the branch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["FailedState", "RedriveError", "Redriven", "failed_state", "redrive_in_place", "redrive_offline"]

#: Tags a machine derived for an offline redrive with the ARN of the machine it resumes.
REDRIVE_OF_TAG = "sagakit:redrive-of"

#: Step Functions names (state machines and executions) hold at most 80 characters.
_NAME_LIMIT = 80
_REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


class RedriveError(RuntimeError):
    """The execution cannot be resumed; the message says why."""


@dataclass(frozen=True)
class FailedState:
    """Where an execution stopped: the state's name and the input it was entered with."""

    name: str
    input: str
    type: str


@dataclass(frozen=True)
class Redriven:
    """The resumed run: its execution ARN, and the state it resumed from."""

    execution_arn: str
    state_machine_arn: str
    resumed_from: str


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return sorted(events, key=lambda event: int(event["id"]))


def failed_state(history: list[dict[str, Any]]) -> FailedState | None:
    """The state an execution stopped in: entered, never exited. ``None`` if every state it
    entered was exited (nothing to resume)."""
    open_states: dict[str, FailedState] = {}
    for event in history:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            open_states[details["name"]] = FailedState(details["name"], details.get("input") or "{}", kind)
        elif kind.endswith("StateExited"):
            open_states.pop(event["stateExitedEventDetails"]["name"], None)
    if not open_states:
        return None
    return list(open_states.values())[-1]


def _fit(base: str, room: int) -> str:
    """``base``, or when it is longer than ``room``, its start and a hash of it in ``room``."""
    if len(base) <= room:
        return base
    return f"{base[: room - 9]}-{hashlib.sha256(base.encode()).hexdigest()[:8]}"


def redrive_offline(sfn: Any, execution_arn: str) -> Redriven:
    """Resume ``execution_arn`` from the state it failed in; return the resumed execution.

    Parameters
    ----------
    sfn:
        A boto3 Step Functions client (the local runtime's, or one with an ``endpoint_url``).
    execution_arn:
        A FAILED, TIMED_OUT or ABORTED execution.

    Raises
    ------
    RedriveError
        The execution is still running or succeeded, or it ended in a ``Fail`` state (a saga that
        failed cleanly, every step compensated: there is nothing to resume).
    """
    described = sfn.describe_execution(executionArn=execution_arn)
    if described["status"] not in _REDRIVABLE:
        raise RedriveError(f"{execution_arn} is {described['status']}: only a failed, timed-out or aborted run resumes")
    state = failed_state(_history(sfn, execution_arn))
    if state is None:
        raise RedriveError(f"{execution_arn}: no state was left unfinished, so there is nothing to resume")
    if state.type == "FailStateEntered":
        raise RedriveError(
            f"{execution_arn} ended in its Fail state {state.name}: every step was compensated, nothing to resume"
        )

    machine = sfn.describe_state_machine_for_execution(executionArn=execution_arn)
    definition = json.loads(machine["definition"])
    definition["StartAt"] = state.name
    suffix = f"-from-{state.name}"
    derived_name = _fit(machine["name"], _NAME_LIMIT - len(suffix)) + suffix
    derived_arn = machine["stateMachineArn"].rsplit(":", 1)[0] + f":{derived_name}"
    body = json.dumps(definition)
    try:
        sfn.describe_state_machine(stateMachineArn=derived_arn)
        sfn.update_state_machine(stateMachineArn=derived_arn, definition=body, roleArn=machine["roleArn"])
    except sfn.exceptions.StateMachineDoesNotExist:
        derived_arn = sfn.create_state_machine(
            name=derived_name,
            definition=body,
            roleArn=machine["roleArn"],
            # AWS resumes the same execution of the same machine: the offline status-change
            # events name this one's machine so (sagakit.local.status_events), so the lifecycle
            # rule, which matches the stack's machines, follows the resumed run.
            tags=[{"key": REDRIVE_OF_TAG, "value": machine["stateMachineArn"]}],
        )["stateMachineArn"]

    prefix = _fit(described["name"], _NAME_LIMIT - len("-redrive-9999")) + "-redrive-"
    earlier = [
        execution
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=derived_arn)
        for execution in page["executions"]
        if execution["name"].startswith(prefix)
    ]
    started = sfn.start_execution(stateMachineArn=derived_arn, name=f"{prefix}{len(earlier) + 1}", input=state.input)
    return Redriven(execution_arn=started["executionArn"], state_machine_arn=derived_arn, resumed_from=state.name)


def redrive_in_place(sfn: Any, execution_arn: str) -> Redriven:
    """Resume ``execution_arn`` with Step Functions' own ``RedriveExecution`` (AWS): the same
    execution continues from the state it failed in. Errors are Step Functions' own, e.g.
    ``ExecutionNotRedrivable`` past the 14 days or for an Express workflow."""
    state = failed_state(_history(sfn, execution_arn))
    sfn.redrive_execution(executionArn=execution_arn)
    machine = execution_arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    return Redriven(execution_arn=execution_arn, state_machine_arn=machine, resumed_from=state.name if state else "")
