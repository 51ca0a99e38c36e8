"""The one component that runs Lambda invocations offline: in-process, with the real handler code.

Seam: moto would run a function in Docker inside the private method
``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``.
``LambdaRouter.install()`` replaces that method; everything that invokes a function in moto
(Step Functions tasks, EventBridge rule targets, ``lambda.invoke``) goes through it. moto is
pinned in pyproject.toml and ``tests/integration/test_moto_canary.py`` fails if the seam moves.

For each invocation the router:

* finds the function's code: the folder of the cloud-assembly asset whose S3 key the function
  was created from (the same folder ``cdk deploy`` uploads), and imports ``Handler`` from it;
* applies the function's environment variables, plus the variables Lambda itself sets, for the
  duration of the call (moto does not apply them to ``os.environ``);
* turns an exception into Lambda's error payload (``errorType`` is the class name, which is what
  a Catch matches), and a result that is not JSON into ``Runtime.MarshalError``, as on AWS;
* captures what the handler prints (Powertools' JSON logs) as the invocation's log;
* applies injected faults (``Fault``), for the failure matrix and ``--fail-at``.

Handlers run one at a time (a re-entrant lock): the environment is process-wide, and two
functions of different services must never see each other's ``TABLE_NAME``.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = ["Fault", "FaultKind", "Invocation", "LambdaRouter"]


class FaultKind(StrEnum):
    """What an injected fault does to one invocation."""

    BUSINESS = "business"
    """The handler is not called; the invocation fails with the named business error."""
    TRANSIENT = "transient"
    """The handler is not called; the invocation fails with ``TransientError`` (retried)."""
    TIMEOUT = "timeout"
    """The handler is not called; the function times out (``Sandbox.Timedout``, as Lambda reports
    a function that ran out of time)."""
    CRASH_AFTER_WRITE = "crash_after_write"
    """The handler runs and its write lands, then the reply is lost (``Lambda.Unknown``)."""


@dataclass
class Fault:
    """A fault injected into the next ``times`` invocations of ``command``."""

    command: str
    kind: FaultKind
    error: str = "InjectedFailure"
    times: int = 1


@dataclass
class Invocation:
    """One routed invocation, for traces and assertions."""

    function_name: str
    command: str
    started: float
    duration_ms: float
    errored: bool
    error_type: str | None
    fault: FaultKind | None
    logs: str
    version: str = "$LATEST"
    """The function version that ran: a number when invoked through an alias or a version ARN."""
    saga_id: str | None = None
    """The saga the event names (a task's command, a lifecycle or choreography event), if any."""


class _LambdaContext:
    """The attributes of ``LambdaContext`` that Powertools reads."""

    def __init__(self, fn: Any, deadline: float) -> None:
        self.function_name = fn.function_name
        self.function_version = _version_of(fn)
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        remaining: float = self._deadline - time.monotonic()
        return max(0, round(remaining * 1000))


class _ThreadStdout(io.TextIOBase):
    """``sys.stdout`` that a handler's thread writes to a buffer of its own."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.local = threading.local()

    def write(self, text: str) -> int:
        buffer = getattr(self.local, "buffer", None)
        target = buffer if buffer is not None else self.original
        written: int = target.write(text)
        return written

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.original.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.original, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


@dataclass
class LambdaRouter:
    """Routes moto's Lambda invocations to in-process Python handlers.

    Parameters
    ----------
    assets:
        Asset folder per S3 key (``<hash>.zip``), filled by the deployment.
    """

    assets: dict[str, Path] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    observers: list[Callable[[Invocation], None]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _original: Any = None
    _stdout: _ThreadStdout | None = None

    # -- installation ------------------------------------------------------------------------

    def install(self) -> None:
        """Patch moto's invoke seam and ``sys.stdout``; idempotent."""
        from moto.awslambda.models import LambdaFunction

        if self._original is not None:
            return
        self._original = LambdaFunction._invoke_lambda
        router = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return router.invoke(fn, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]
        if not isinstance(sys.stdout, _ThreadStdout):
            self._stdout = _ThreadStdout(sys.stdout)
            sys.stdout = self._stdout

    def uninstall(self) -> None:
        """Put moto and ``sys.stdout`` back."""
        from moto.awslambda.models import LambdaFunction

        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign,assignment]
            self._original = None
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = self._stdout.original
            self._stdout = None

    # -- faults ------------------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue ``faults``; each applies to its command's next invocations."""
        for fault in faults:
            self.faults[fault.command].append(fault)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self.faults.clear()

    def _take_fault(self, command: str) -> Fault | None:
        queue = self.faults.get(command)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    # -- invocation --------------------------------------------------------------------------

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        """Run ``fn``'s handler on ``event``; return moto's ``(payload, errored, logs)``."""
        if isinstance(event, str):
            event = json.loads(event) if event else {}
        command = _command_of(fn)
        started = time.monotonic()
        fault = self._take_fault(command)
        payload: Any
        logs = ""
        if fault is not None and fault.kind is not FaultKind.CRASH_AFTER_WRITE and _choreographed(event):
            # In choreography the adapter has claimed the step before the handler fails: a
            # business error it reports, a transient error it raises for Lambda to retry, and a
            # timeout kills the invocation (Lambda retries it too).
            payload, errored, logs = self._run_handler(fn, event, raising=fault)
        elif fault is not None and fault.kind is not FaultKind.CRASH_AFTER_WRITE:
            payload, errored = _fault_payload(fault), True
        else:
            payload, errored, logs = self._run_handler(fn, event)
            if fault is not None and not errored:
                payload, errored = _fault_payload(fault), True
        body = _to_json(payload)
        if body is None:
            body = json.dumps({"errorType": "Runtime.MarshalError", "errorMessage": "result is not JSON"})
            errored = True
        error_type = json.loads(body).get("errorType") if errored else None
        record = Invocation(
            function_name=fn.function_name,
            command=command,
            started=started,
            duration_ms=(time.monotonic() - started) * 1000,
            errored=errored,
            error_type=error_type,
            fault=fault.kind if fault else None,
            logs=logs,
            version=_version_of(fn),
            saga_id=_saga_of(event),
        )
        self.invocations.append(record)
        for observer in self.observers:
            observer(record)
        return body, errored, logs

    def _run_handler(self, fn: Any, event: Any, *, raising: Fault | None = None) -> tuple[Any, bool, str]:
        asset = self._asset_of(fn)
        module_name, _, attribute = str(fn.handler).rpartition(".")
        buffer = io.StringIO()
        timeout = float(fn.timeout or 3)
        with self._lock, self._environment(fn), self._captured(buffer):
            try:
                _mount(asset)
                handler = getattr(importlib.import_module(module_name), attribute)
                if raising is not None:
                    handler = _choreographed_failure(raising)
                context = _LambdaContext(fn, time.monotonic() + timeout)
                return handler(event, context), False, buffer.getvalue()
            except _FunctionTimedOut as timed_out:  # the invocation ran out of time mid-handler
                return {"errorType": "Sandbox.Timedout", "errorMessage": str(timed_out)}, True, buffer.getvalue()
            except Exception as error:  # every handler failure becomes Lambda's error payload
                payload = {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_tb(error.__traceback__)[-5:],
                }
                return payload, True, buffer.getvalue()

    def _asset_of(self, fn: Any) -> Path:
        key = (getattr(fn, "code", None) or {}).get("S3Key")
        if key in self.assets:
            return self.assets[key]
        raise LookupError(
            f"function {fn.function_name}: no local asset for code {key!r}; "
            "was it deployed by sagakit.local from a cloud assembly?"
        )

    @contextmanager
    def _environment(self, fn: Any) -> Iterator[None]:
        applied = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": _version_of(fn),
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "_HANDLER": fn.handler,
            # No X-Ray daemon offline: Powertools Tracer would only log send failures.
            "POWERTOOLS_TRACE_DISABLED": "true",
            **{k: str(v) for k, v in (fn.environment_vars or {}).items()},
        }
        # Only the applied keys change, and they are put back one by one: other threads (the
        # Step Functions interpreter) read the environment meanwhile and must never see it empty.
        saved = {key: os.environ.get(key) for key in applied}
        os.environ.update(applied)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @contextmanager
    def _captured(self, buffer: io.StringIO) -> Iterator[None]:
        stdout = self._stdout
        previous = getattr(stdout.local, "buffer", None) if stdout else None
        if stdout is not None:
            stdout.local.buffer = buffer
        try:
            yield
        finally:
            if stdout is not None:
                stdout.local.buffer = previous


def _mount(asset: Path) -> None:
    """Make ``asset``'s packages importable in this process.

    Every service's asset has its own ``functions/`` with only its service in it. Python binds a
    package to the first folder it was imported from, so after ``functions`` came from the
    billing asset, ``functions.clients`` would not be found in the clients asset. Each package
    already imported gets the asset's folder added to its ``__path__``, the way a namespace
    package spans folders.
    """
    if str(asset) not in sys.path:
        sys.path.insert(0, str(asset))
    for name, folder in _packages(asset):
        package = sys.modules.get(name)
        search = getattr(package, "__path__", None)
        if search is not None and folder not in search:
            search.append(folder)


@functools.lru_cache(maxsize=256)
def _packages(asset: Path) -> tuple[tuple[str, str], ...]:
    """``asset``'s packages, as (dotted name, folder): an asset folder never changes once staged,
    and walking it at every invocation cost a few milliseconds each."""
    return tuple(
        (".".join(init.parent.relative_to(asset).parts), str(init.parent))
        for init in sorted(asset.rglob("__init__.py"))
    )


def _saga_of(event: Any) -> str | None:
    """The saga a state machine's command (``sagaId``) or an EventBridge event (``detail.sagaId``)
    names; None for anything else (a trigger, a choreography rule's wrapped input)."""
    if not isinstance(event, dict):
        return None
    detail = event.get("detail")
    for holder in (event, detail if isinstance(detail, dict) else {}):
        if isinstance(holder.get("sagaId"), str):
            return str(holder["sagaId"])
    return None


def _version_of(fn: Any) -> str:
    """The version ``fn`` is: ``$LATEST``, or a number when invoked through an alias or version."""
    return str(getattr(fn, "version", "$LATEST"))


def _command_of(fn: Any) -> str:
    """The command a function runs: the last part of its name (``sagakit-dev-SetupBilling``)."""
    return str(fn.function_name).rsplit("-", 1)[-1]


def _choreographed(event: Any) -> bool:
    from sagakit.runtime.choreography import is_choreographed

    return is_choreographed(event)


class _FunctionTimedOut(BaseException):
    """Lambda stops a function that runs out of time wherever it is: nothing in the handler (the
    choreography adapter included) catches it, so it is not an ``Exception``."""


def _choreographed_failure(fault: Fault) -> Callable[[Any, Any], Any]:
    """A handler whose logic fails as ``fault`` says, run by the choreography adapter, which has
    claimed the step by then: a business error the adapter reports (it is not the platform's
    failure that a state machine's Catch sees), a ``TransientError`` it raises for Lambda's
    retries, a timeout that stops the invocation."""
    from sagakit.runtime.choreography import handle
    from sagakit.runtime.errors import TransientError

    message = f"injected {fault.kind.value} fault in {fault.command}"
    error: type[BaseException] = {
        FaultKind.BUSINESS: type(fault.error, (Exception,), {}),
        FaultKind.TRANSIENT: TransientError,
        FaultKind.TIMEOUT: _FunctionTimedOut,
    }[fault.kind]

    def logic(command: Any, context: Any) -> Any:
        raise error(message)

    return lambda event, context: handle(event, context, logic)


def _fault_payload(fault: Fault) -> dict[str, Any]:
    error = {
        FaultKind.BUSINESS: fault.error,
        FaultKind.TRANSIENT: "TransientError",
        FaultKind.TIMEOUT: "Sandbox.Timedout",
        FaultKind.CRASH_AFTER_WRITE: "Lambda.Unknown",
    }[fault.kind]
    return {"errorType": error, "errorMessage": f"injected {fault.kind.value} fault in {fault.command}"}


def _to_json(payload: Any) -> str | None:
    try:
        return json.dumps(payload)
    except (TypeError, ValueError):
        return None
