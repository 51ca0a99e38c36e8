"""Step Functions' "Execution Status Change" events, which moto does not emit.

On AWS, Step Functions puts an event on the account's default bus whenever an execution starts,
succeeds, fails, times out or is aborted. The saga lifecycle (``sagakit.runtime.lifecycle``)
is built on them, so the offline runtime emits them too, with the detail AWS documents
("Step Functions events", EventBridge): executionArn, stateMachineArn, name, status, startDate,
stopDate (epoch milliseconds), input, output, error, cause.

Seams: ``StepFunctionsParserBackend.start_execution`` (a new execution: RUNNING) and
``BaseExecutionWorkerCommunication.terminated`` (its final status).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["STATUS_CHANGE", "ExecutionStatusEvents"]

STATUS_CHANGE = "Step Functions Execution Status Change"


def _epoch_ms(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _resumed_machine(execution: Any) -> str | None:
    """For a run resumed offline (a machine ``sagakit.local.redrive`` derived), the machine it
    resumes: on AWS a redrive is the same execution of the same machine."""
    from moto.stepfunctions.responses import get_backend

    from sagakit.local.redrive import REDRIVE_OF_TAG

    try:
        tags = get_backend(execution.account_id, execution.region_name).get_tags_list_for_state_machine(
            execution.state_machine_arn
        )
    except Exception:  # a machine moto no longer knows: report it as it is
        return None
    return next((tag["value"] for tag in tags if tag.get("key") == REDRIVE_OF_TAG), None)


class ExecutionStatusEvents:
    """Emit an "Execution Status Change" event on moto's default bus for every status change."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        """Wrap moto's execution start and termination."""
        if self._saved:
            return
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        emit = self.emit
        start_execution = StepFunctionsParserBackend.start_execution
        terminated = BaseExecutionWorkerCommunication.terminated

        def start(backend: Any, *args: Any, **kwargs: Any) -> Any:
            known = {id(e) for sm in backend.state_machines for e in sm.executions}
            execution = start_execution(backend, *args, **kwargs)
            if id(execution) not in known:  # not the running execution returned for a duplicate name
                emit(execution)
            return execution

        def finish(worker: Any) -> None:
            terminated(worker)
            emit(worker.execution)

        self._saved = [
            (StepFunctionsParserBackend, "start_execution", start_execution),
            (BaseExecutionWorkerCommunication, "terminated", terminated),
        ]
        StepFunctionsParserBackend.start_execution = start  # type: ignore[method-assign,assignment]
        BaseExecutionWorkerCommunication.terminated = finish  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        """Put moto back."""
        for owner, attribute, original in self._saved:
            setattr(owner, attribute, original)
        self._saved = []

    @staticmethod
    def emit(execution: Any) -> None:
        """Put ``execution``'s current status on its account's default bus."""
        from moto.events.models import events_backends

        status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
        machine_arn = _resumed_machine(execution) or execution.state_machine_arn
        detail = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": machine_arn,
            "name": execution.name,
            "status": status,
            "startDate": _epoch_ms(execution.start_date),
            "stopDate": _epoch_ms(getattr(execution, "stop_date", None)),
            "input": json.dumps(execution.input_data),
            "output": json.dumps(execution.output) if getattr(execution, "output", None) is not None else None,
            "error": getattr(execution, "error", None),
            "cause": getattr(execution, "cause", None),
        }
        events_backends[execution.account_id][execution.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": STATUS_CHANGE,
                    "Detail": json.dumps(detail),
                    "Resources": [execution.exec_arn],
                    "EventBusName": "default",
                }
            ]
        )
