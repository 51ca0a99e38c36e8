"""``LocalRuntime``: the synthesized stack, deployed into moto, running sagas with real handlers.

    with LocalRuntime(fast=True) as local:
        run = local.run(sample_event, fail_at="SetupBilling")
        assert run.outcome == "FAILED"
        assert run.compensations == ["DeleteWorkspace", "DeleteTenant"]

Everything AWS-shaped goes through moto's API (boto3 in this process): put the event on the
bus, the rule starts the starter, the starter starts the named execution, the interpreter runs
the ASL from the template and invokes the functions, and ``LambdaRouter`` runs their code.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sagakit.local.clock import FastClock
from sagakit.local.deploy import Assembly, Deployment, deploy, synthesize
from sagakit.local.event_router import EventRouter
from sagakit.local.lambda_router import Fault, FaultKind, LambdaRouter
from sagakit.local.speedups import InterpreterSpeedups
from sagakit.local.status_events import ExecutionStatusEvents

__all__ = ["LocalRuntime", "SagaRun", "StateRecord", "run_from", "states_from_history"]

ACCOUNT = "123456789012"


@dataclass
class StateRecord:
    """One state of a run, from the execution history."""

    name: str
    kind: str  # "step", "compensation", "fail"
    status: str  # "succeeded", "failed", "caught"
    attempts: int
    duration_ms: float
    error: str | None = None
    cause: str | None = None
    output: Any = None


@dataclass
class SagaRun:
    """A finished (or still running) saga execution, read back from Step Functions."""

    saga_name: str
    saga_id: str
    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    states: list[StateRecord]
    history: list[dict[str, Any]]
    output: dict[str, Any] | None
    input: dict[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    stopped: datetime | None = None

    @property
    def outcome(self) -> str:
        """COMPLETED, FAILED (all compensated), COMPENSATION_FAILED, RUNNING or TIMED_OUT."""
        if self.status == "SUCCEEDED":
            return "COMPLETED"
        if self.status == "RUNNING":
            return "RUNNING"
        if self.status == "TIMED_OUT":
            return "TIMED_OUT"
        failed_compensation = [s for s in self.states if s.kind == "compensation" and s.status == "failed"]
        if failed_compensation:
            return "COMPENSATION_FAILED"
        return "FAILED"

    @property
    def steps_completed(self) -> list[str]:
        """Steps that succeeded, in order."""
        return [s.name for s in self.states if s.kind == "step" and s.status == "succeeded"]

    @property
    def compensations(self) -> list[str]:
        """Compensations that ran to success, in order."""
        return [s.name for s in self.states if s.kind == "compensation" and s.status == "succeeded"]

    @property
    def failed_step(self) -> str | None:
        """The step whose failure started compensation."""
        for state in self.states:
            if state.kind == "step" and state.status in ("failed", "caught"):
                return state.name
        return None

    @property
    def transitions(self) -> int:
        """State transitions, counted as Step Functions bills them: one per state entered."""
        return sum(1 for event in self.history if event["type"].endswith("StateEntered"))


class _Completions:
    """Wakes waiters when moto's interpreter has finished an execution *and* everything that
    hangs off its end (the status-change event and the lifecycle it drives): ``finished`` holds
    those execution ARNs. Waiting on the status alone would return while the lifecycle still runs.
    """

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.finished: set[str] = set()
        self._original: Any = None

    def install(self) -> None:
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        if self._original is not None:
            return
        self._original = BaseExecutionWorkerCommunication.terminated
        original, condition, finished = self._original, self.condition, self.finished

        def terminated(worker: Any) -> None:
            original(worker)
            with condition:
                finished.add(worker.execution.exec_arn)
                condition.notify_all()

        BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        if self._original is not None:
            BaseExecutionWorkerCommunication.terminated = self._original  # type: ignore[method-assign,assignment]
            self._original = None


@dataclass
class LocalRuntime:
    """The stack of ``assembly`` (synthesized for ``stage`` if not given), running in moto.

    Parameters
    ----------
    fast:
        Scale retry back-off sleeps down 1000x (tests, the failure matrix). Off by default:
        the demo shows real back-off.
    """

    stage: str = "dev"
    assembly: Assembly | None = None
    fast: bool = False
    region: str = "eu-west-1"
    router: LambdaRouter = field(default_factory=LambdaRouter)
    events: EventRouter = field(default_factory=EventRouter)
    clock: FastClock = field(default_factory=FastClock)
    deployment: Deployment | None = None
    _mock: Any = None
    _server: Any = None
    _completions: _Completions = field(default_factory=_Completions)
    _speedups: InterpreterSpeedups = field(default_factory=InterpreterSpeedups)
    _status_events: ExecutionStatusEvents = field(default_factory=ExecutionStatusEvents)
    _clients: dict[str, Any] = field(default_factory=dict)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Deployment:
        """Start moto, install the routers, deploy the assembly."""
        from moto import mock_aws

        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }.items():
            os.environ.setdefault(key, value)
        os.environ.pop("AWS_PROFILE", None)
        # moto logs every caught task failure and every resource type its CloudFormation skips
        # (EventInvokeConfig, QueuePolicy); the trace reports failures, so keep the console clean.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", module="moto.cloudformation.parsing")
        assembly = self.assembly or synthesize(self.stage)
        self.assembly = assembly
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self.router.assets.update(assembly.assets)
        self.router.install()
        self.events.install()
        # Status events first: waiters are woken after the lifecycle has seen the final status.
        self._status_events.install()
        self._completions.install()
        self._speedups.install()
        if self.fast:
            self.clock.install()
        self.deployment = deploy(assembly, account=ACCOUNT, region=self.region)
        return self.deployment

    def serve(self, port: int = 4566) -> str:
        """Serve the deployed backends over HTTP on 127.0.0.1 (moto server mode), so that the
        AWS CLI and boto3 in other processes can reach them; return the endpoint URL."""
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Tear everything down and put moto back as it was."""
        from moto.stepfunctions.parser.utils import TMP_THREADS

        if self._server is not None:
            self._server.stop()
            self._server = None
        self._end_running_executions()
        self.clock.uninstall()
        self._speedups.uninstall()
        self._clients.clear()
        self._completions.uninstall()
        self._status_events.uninstall()
        self.events.uninstall()
        self.router.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        TMP_THREADS.clear()  # one finished thread per execution is left there (ENVIRONMENT.md)

    def _end_running_executions(self, budget_s: float = 5.0) -> None:
        """Abort the executions still running and wait (up to ``budget_s`` in all) for their
        threads: moto's backends and its request hook are process-wide, so an execution left
        running would go on invoking functions of the same name in the next runtime."""
        from moto.stepfunctions.parser.api import ExecutionStatus
        from moto.stepfunctions.parser.utils import TMP_THREADS
        from moto.stepfunctions.responses import get_backend

        backend: Any = get_backend(ACCOUNT, self.region)  # the parser backend (execute_state_machine)
        for execution in backend._get_executions(ExecutionStatus.RUNNING):
            execution.stop(
                stop_date=datetime.now(UTC), error="sagakit.LocalRuntimeStopped", cause="the runtime stopped"
            )
        deadline = time.monotonic() + budget_s
        for thread in list(TMP_THREADS):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- clients -----------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for the local backends (one per service, reused)."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def deployed(self) -> Deployment:
        """What ``start`` deployed; an error if the runtime is not started."""
        if self.deployment is None:
            raise RuntimeError("the local runtime is not started")
        return self.deployment

    # -- driving sagas -----------------------------------------------------------------------

    def put_event(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Put one EventBridge event (``source``, ``detail-type``, ``detail``) on the saga bus."""
        entry = {
            "Source": envelope["source"],
            "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope["detail"]),
            "EventBusName": self.deployed.bus_name,
        }
        response: dict[str, Any] = self.client("events").put_events(Entries=[entry])
        return response

    def invoke(self, command: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Invoke the deployed function of ``command`` synchronously; raise on a function error."""
        name = self.deployed.functions[command]
        response = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{command} failed: {body.get('errorType')}: {body.get('errorMessage')}")
        return body  # type: ignore[no-any-return]

    def fail(self, command: str, kind: FaultKind = FaultKind.BUSINESS, *, error: str = "", times: int = 1) -> None:
        """Inject a fault into ``command``'s next ``times`` invocations."""
        self.router.inject(Fault(command=command, kind=kind, error=error or "InjectedFailure", times=times))

    def run(
        self,
        envelope: dict[str, Any],
        *,
        saga: str | None = None,
        via_producer: bool = True,
        timeout: float = 120.0,
    ) -> SagaRun:
        """Trigger a saga with ``envelope`` and wait for it to finish.

        With ``via_producer`` the trigger's detail goes to its producer's function
        (``OnboardClient`` for ``ClientOnboarded``), which records the tenant and publishes the
        event, as in production; otherwise the event is put on the bus as it is. A choreographed
        saga has no execution: its run is read from its instance record and the events its rules
        delivered (``sagakit.local.choreography``).
        """
        saga_name = saga or self.saga_for(envelope["detail-type"])
        from sagakit.local import choreography

        if choreography.is_choreographed_saga(saga_name):
            return choreography.run(self, envelope, saga_name, timeout=timeout)
        before = set(self.execution_arns(saga_name))
        producer = _PRODUCERS.get(envelope["detail-type"])
        if via_producer and producer is not None and producer in self.deployed.functions:
            self.invoke(producer, envelope["detail"])
        else:
            self.put_event(envelope)
        started = [arn for arn in self.execution_arns(saga_name) if arn not in before]
        if not started:
            raise RuntimeError(f"{envelope['detail-type']} started no {saga_name} execution: {self.last_rejection()}")
        return self.wait(started[0], timeout=timeout)

    def saga_for(self, detail_type: str) -> str:
        """The saga that ``detail_type`` triggers."""
        from statemachines import all_sagas

        for saga in all_sagas():
            if saga.trigger == detail_type:
                return saga.name
        raise KeyError(f"no saga is triggered by {detail_type!r}")

    def last_rejection(self) -> str:
        """Why the last delivered trigger did not start a saga (from the starter's answer)."""
        for delivery in reversed(self.events.deliveries):
            response = delivery.response
            if isinstance(response, dict) and "handled" in response:
                continue  # the lifecycle function's answer, not a starter's
            if isinstance(response, dict) and response.get("rejected"):
                return str(response["rejected"])
            if isinstance(response, dict) and response.get("duplicate"):
                return f"duplicate of saga {response.get('sagaId')}"
            if not delivery.ok:
                return f"starter failed: {response}"
            if isinstance(response, dict) and response.get("started"):
                return f"not rejected: started saga {response.get('sagaId')}"
        return "no rule matched the event"

    def execution_arn(self, saga: str, saga_id: str) -> str:
        """The ARN an execution of ``saga`` named ``saga_id`` has (or will have)."""
        machine = self.deployed.state_machines[saga]
        return machine.replace(":stateMachine:", ":execution:") + f":{saga_id}"

    def execution_arns(self, saga: str) -> list[str]:
        """Every execution ARN of ``saga``, oldest first."""
        arn = self.deployed.state_machines[saga]
        pages = self.client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=arn)
        executions = [e for page in pages for e in page["executions"]]
        return [e["executionArn"] for e in sorted(executions, key=lambda e: e["startDate"])]

    def wait(self, execution_arn: str, *, timeout: float = 120.0) -> SagaRun:
        """Block until ``execution_arn`` stops (or ``timeout``), then read it back."""
        deadline = time.monotonic() + timeout
        self._execution(execution_arn)  # an unknown ARN fails here, not after the timeout
        with self._completions.condition:
            while execution_arn not in self._completions.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._completions.condition.wait(min(remaining, 0.5))
        return self.describe(execution_arn)

    def _execution(self, execution_arn: str) -> Any:
        from moto.stepfunctions.responses import get_backend

        return get_backend(ACCOUNT, self.region).describe_execution(execution_arn)

    def describe(self, execution_arn: str) -> SagaRun:
        """The saga run of ``execution_arn`` as it stands.

        Read from moto's backend objects, normalised to the shape of ``DescribeExecution`` and
        ``GetExecutionHistory``: going through the API would serialise the whole history (every
        state's input and output) and parse it back, which cost more than running the saga.
        """
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(ACCOUNT, self.region)
        execution: Any = backend.describe_execution(execution_arn)  # the parser backend's Execution
        described = _api_shape(execution.to_describe_output())
        history = [_api_shape(event) for event in backend.get_execution_history(execution_arn)["events"]]
        return run_from(described, history, execution_arn)

    # -- service state -----------------------------------------------------------------------

    def table_items(self, service: str) -> list[dict[str, Any]]:
        """Every item in ``service``'s table, as plain JSON values."""
        from boto3.dynamodb.types import TypeDeserializer

        deserialize = TypeDeserializer().deserialize
        table = self.deployed.tables[service]
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=table)
        return [
            {key: _plain(deserialize(value)) for key, value in item.items()} for page in pages for item in page["Items"]
        ]

    def all_table_items(self) -> dict[str, list[dict[str, Any]]]:
        """Every service's table items, by service name (not the kit's own tables)."""
        return {
            service: self.table_items(service) for service in sorted(self.deployed.tables) if service not in KIT_TABLES
        }

    def dead_letters(self, saga: str) -> list[dict[str, Any]]:
        """Messages waiting in ``saga``'s dead-letter queue (left in place)."""
        url = next(url for name, url in self.deployed.queues.items() if name.endswith(f"{saga}-dlq"))
        sqs = self.client("sqs")
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


_PRODUCERS = {"ClientOnboarded": "OnboardClient"}
#: Tables of the kit, not of a service: Powertools idempotency records and saga instances.
KIT_TABLES = ("idempotency", "saga-instances")


def _api_shape(record: Mapping[str, Any]) -> dict[str, Any]:
    """moto's internal execution records, as the API returns them: enums as their values,
    timestamps as aware datetimes."""
    shaped: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Enum):
            value = value.value
        elif key == "timestamp" and isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        shaped[key] = value
    return shaped


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_TASK_ERRORS = (
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
)


def run_from(
    described: dict[str, Any], history: list[dict[str, Any]], execution_arn: str, *, unnamed: str = ""
) -> SagaRun:
    """A ``SagaRun`` from DescribeExecution's answer and the execution's history (API shapes);
    ``unnamed`` is the saga name for an execution whose input names none."""
    saga_input = json.loads(described.get("input") or "{}")
    return SagaRun(
        saga_name=saga_input.get("saga", {}).get("name") or unnamed,
        saga_id=described["name"],
        execution_arn=execution_arn,
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        states=states_from_history(history),
        history=history,
        output=json.loads(described["output"]) if described.get("output") else None,
        input=saga_input,
        started=described.get("startDate"),
        stopped=described.get("stopDate"),
    )


def states_from_history(history: list[dict[str, Any]]) -> list[StateRecord]:
    """Fold an execution history into one record per state entered, in order."""
    records: list[StateRecord] = []
    open_records: dict[str, tuple[StateRecord, datetime]] = {}
    last_task: str | None = None
    for event in history:
        kind = event["type"]
        stamp = event["timestamp"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            state_kind = "fail" if kind == "FailStateEntered" else "step"
            record = StateRecord(name=name, kind=state_kind, status="running", attempts=0, duration_ms=0.0)
            records.append(record)
            open_records[name] = (record, stamp)
            last_task = name
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled") and last_task in open_records:
            open_records[last_task][0].attempts += 1
        elif kind in _TASK_ERRORS and last_task in open_records:
            details = event.get(kind[0].lower() + kind[1:] + "EventDetails", {})
            record = open_records[last_task][0]
            record.error = details.get("error") or ("States.Timeout" if "TimedOut" in kind else kind)
            record.cause = details.get("cause")
        elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded") and last_task in open_records:
            # A retry that succeeded: the attempt's earlier error is history, not the outcome.
            open_records[last_task][0].error = None
            open_records[last_task][0].cause = None
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_records:
                record, entered = open_records.pop(name)
                record.duration_ms = (stamp - entered).total_seconds() * 1000
                record.status = "caught" if record.error else "succeeded"
                output = event["stateExitedEventDetails"].get("output")
                record.output = json.loads(output) if output else None
        elif kind == "ExecutionFailed":
            for record, entered in open_records.values():
                record.status = "failed"
                record.duration_ms = (stamp - entered).total_seconds() * 1000
                details = event.get("executionFailedEventDetails", {})
                record.error = record.error or details.get("error")
                record.cause = record.cause or details.get("cause")
            open_records.clear()
    comments = _compensation_names()
    for record in records:
        if record.name in comments:
            record.kind = "compensation"
    return records


def _compensation_names() -> set[str]:
    from statemachines import all_sagas

    names: set[str] = set()
    for saga in all_sagas():
        for element in saga.steps:
            names.update(c.name for c in element.compensations())
    return names


def sample_event(name: str = "client_onboarded") -> dict[str, Any]:
    """A sample envelope from ``events/samples``."""
    path = Path(__file__).resolve().parents[2] / "events" / "samples" / f"{name}.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]
