"""Offline throughput: sagas per second through the local runtime, against the same handlers
called directly in order on the same moto backend, measured in one run.

    .venv/bin/python -m bench.offline_throughput [--sagas 100] [--concurrent 50] [--assembly DIR]
    .venv/bin/python -m bench.offline_throughput --profile 20   # yappi, every thread, then exit

The runtime path is the whole thing a user runs: ``put_events`` on the bus, the rule, the
starter, the named execution, moto's ASL interpreter, three Lambda invocations through the
router. The direct path calls the three step handlers' code in order with the same commands.

The floor is what moto alone costs for one saga's storage and event requests: the DynamoDB and
EventBridge requests one saga made (recorded with a botocore hook), replayed with boto3 for new
clients and new idempotency keys, without the handlers, the interpreter or the rule routing.
No path that makes the same requests on moto can run faster than the floor.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import io
import json
import os
import re
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from botocore import xform_name

from bench.assembly import cloud_assembly
from bench.report import Row, emit, parser, progress
from sagakit.local import LocalRuntime
from sagakit.local.runtime import sample_event

SAGA = "OnboardClientSaga"
STEPS = [
    ("CreateWorkspace", "WorkspaceCreated"),
    ("SetupBilling", "BillingProfileCreated"),
    ("SendWelcomeEmail", "NotificationSent"),
]


def _event(prefix: str, index: int) -> dict[str, Any]:
    envelope = copy.deepcopy(sample_event())
    envelope["detail"]["clientId"] = f"{prefix}-{index:05d}"
    return envelope


def through_runtime(local: LocalRuntime, count: int, prefix: str) -> float:
    """Seconds for ``count`` sequential sagas, trigger to COMPLETED."""
    started = time.perf_counter()
    for index in range(count):
        envelope = _event(prefix, index)
        local.put_event(envelope)
        run = local.wait(local.execution_arn(SAGA, f"onboard-{envelope['detail']['clientId']}"))
        assert run.status == "SUCCEEDED", run.error
    return time.perf_counter() - started


def concurrently(local: LocalRuntime, count: int, prefix: str) -> float:
    """Seconds for ``count`` sagas started at once from ``count`` threads, until all finish."""
    envelopes = [_event(prefix, index) for index in range(count)]
    started = time.perf_counter()
    threads = [threading.Thread(target=local.put_event, args=(e,)) for e in envelopes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for envelope in envelopes:
        run = local.wait(local.execution_arn(SAGA, f"onboard-{envelope['detail']['clientId']}"))
        assert run.status == "SUCCEEDED", run.error
    return time.perf_counter() - started


class _Context:
    function_name = "direct"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:direct"
    memory_limit_in_mb = 256
    aws_request_id = "direct"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def direct_chain(local: LocalRuntime, count: int, prefix: str) -> float:
    """Seconds for ``count`` sagas as the three handlers called in order, with each function's
    deployed environment, on the same moto backend."""
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends["123456789012"][local.region]
    deployment = local.deployed
    handlers = []
    for command, event_name in STEPS:
        function = backend.get_function(deployment.functions[command])
        module, _, attribute = str(function.handler).rpartition(".")
        handlers.append(
            (getattr(importlib.import_module(module), attribute), dict(function.environment_vars), event_name)
        )
    # The handlers' JSON logs go to a buffer, as the router does for the runtime path.
    stdout = local.router._stdout
    if stdout is not None:
        stdout.local.buffer = io.StringIO()
    started = time.perf_counter()
    for index in range(count):
        detail = _event(prefix, index)["detail"]
        results: dict[str, Any] = {}
        for (handler, environment, event_name), (command, _) in zip(handlers, STEPS, strict=True):
            os.environ.update(environment)
            payload = {
                "sagaId": f"onboard-{detail['clientId']}",
                "sagaName": SAGA,
                "step": command,
                "detail": detail,
                "results": results,
            }
            results = {**results, event_name: json.loads(json.dumps(handler(payload, _Context())))}
    elapsed = time.perf_counter() - started
    if stdout is not None:
        stdout.local.buffer = None
    return elapsed


#: What the replay leaves out: the requests that run handler code (and are the saga itself).
_RUNS_HANDLERS = {"Invoke", "StartExecution"}
#: A Powertools idempotency key: the function's name, then the MD5 of the saga's key fields.
_IDEMPOTENCY_HASH = re.compile(r"#([0-9a-f]{32})")


def _salted(match: re.Match[str], salt: str) -> str:
    """A new idempotency key per replay, as a new saga would have."""
    return "#" + hashlib.md5((match[1] + salt).encode(), usedforsecurity=False).hexdigest()


def record_requests(local: LocalRuntime, prefix: str) -> list[tuple[Any, str, str]]:
    """Every AWS request one saga makes through the runtime, as (client, operation, params
    JSON), in order; the client is one per service, made here for the replay."""
    import boto3
    from botocore.client import BaseClient

    seen: list[tuple[str, str, str]] = []
    original = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        kept = "" if operation in _RUNS_HANDLERS else json.dumps(params)  # an Invoke's payload is bytes
        seen.append((client.meta.service_model.service_name, operation, kept))
        return original(client, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        through_runtime(local, 1, prefix)
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
    clients = {service: boto3.client(service, region_name=local.region) for service, _, _ in seen}
    return [(clients[service], operation, params) for service, operation, params in seen]


def request_floor(local: LocalRuntime, count: int, prefix: str) -> tuple[float, int, int]:
    """Seconds for ``count`` replays of one saga's DynamoDB and EventBridge requests, bare: the
    same operations and parameters through boto3 on the same moto, for a new client each time,
    with no handler code, no Step Functions and no rule routing (the events go to a bus with no
    rules). Returns (seconds, requests replayed per saga, requests per saga in all)."""
    recorded = record_requests(local, f"{prefix}-rec")
    replayed = [(client, op, params) for client, op, params in recorded if op not in _RUNS_HANDLERS]
    floor_bus = f"{prefix}-floor-bus"
    local.client("events").create_event_bus(Name=floor_bus)
    template = f"{prefix}-rec-00000"
    started = time.perf_counter()
    for index in range(count):
        salt = str(index)
        for client, operation, params in replayed:
            text = params.replace(template, f"{prefix}-{index:05d}")
            text = _IDEMPOTENCY_HASH.sub(functools.partial(_salted, salt=salt), text)
            body = json.loads(text)
            if operation == "PutEvents":
                for entry in body["Entries"]:
                    entry["EventBusName"] = floor_bus
            response = getattr(client, xform_name(operation))(**body)
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"replayed {operation} was refused: {response}")
    return time.perf_counter() - started, len(replayed), len(recorded)


def measure(sagas: int, concurrent: int, repeats: int = 3, assembly_dir: Path | None = None) -> dict[str, float]:
    """Run every measurement; return the figures."""
    with cloud_assembly(assembly_dir) as assembly, LocalRuntime(assembly=assembly, fast=True) as local:
        progress("offline throughput: warm-up")
        through_runtime(local, 5, "warm")  # imports, first-call caches
        direct_chain(local, 5, "warmd")
        runtime_runs, direct_runs, floor_runs = [], [], []
        for repeat in range(repeats):  # interleaved, so every path sees the same load
            progress(f"offline throughput: repeat {repeat + 1} of {repeats} ({sagas} sagas each way)")
            runtime_runs.append(through_runtime(local, sagas, f"rt{repeat}"))
            direct_runs.append(direct_chain(local, sagas, f"dc{repeat}"))
            floor_s, replayed, requests = request_floor(local, sagas, f"fl{repeat}")
            floor_runs.append(floor_s)
        runtime_s, direct_s = statistics.median(runtime_runs), statistics.median(direct_runs)
        progress(f"offline throughput: {concurrent} concurrent sagas")
        concurrent_s = concurrently(local, concurrent, "cc")
    return {
        "sagas": sagas,
        "repeats": repeats,
        "runtime_per_s": sagas / runtime_s,
        "direct_per_s": sagas / direct_s,
        "ratio": runtime_s / direct_s,
        "floor_per_s": sagas / statistics.median(floor_runs),
        "floor_requests": replayed,
        "requests": requests,
        "concurrent": concurrent,
        "concurrent_per_s": concurrent / concurrent_s,
        "concurrent_wall_s": concurrent_s,
    }


BENCH = "offline throughput"


def profile(sagas: int, assembly_dir: Path | None, top: int = 45) -> str:
    """``sagas`` sequential sagas through the runtime under yappi (wall clock, every thread:
    the interpreter runs each execution in a thread of its own); the top functions by
    cumulative and by own time, per saga."""
    import yappi

    lines: list[str] = []
    with cloud_assembly(assembly_dir) as assembly, LocalRuntime(assembly=assembly, fast=True) as local:
        through_runtime(local, 5, "warm")
        yappi.set_clock_type("wall")
        yappi.start(builtins=False)
        elapsed = through_runtime(local, sagas, "prof")
        yappi.stop()
    stats = yappi.get_func_stats()
    lines.append(f"{sagas} sagas in {elapsed:.2f} s under yappi; ms per saga, cumulative then own:")
    for key in ("ttot", "tsub"):
        stats.sort(key, "desc")
        lines.append(f"-- by {'cumulative' if key == 'ttot' else 'own'} time --")
        for stat in list(stats)[:top]:
            where = str(stat.module).split("site-packages/")[-1]
            lines.append(
                f"{stat.ttot / sagas * 1000:9.2f} {stat.tsub / sagas * 1000:9.2f} {stat.ncall / sagas:7.1f}  "
                f"{where}:{stat.lineno} {stat.name}"
            )
    yappi.clear_stats()
    return "\n".join(lines)


def rows(figures: dict[str, float]) -> list[Row]:
    """The figures as table rows, with their goals."""
    runs = f"{figures['sagas']:.0f} sequential sagas, median of {figures['repeats']:.0f}"
    return [
        Row(
            BENCH,
            f"through the runtime ({runs})",
            f"{figures['runtime_per_s']:.1f} sagas/s",
            ">= 50 sagas/s",
            figures["runtime_per_s"] >= 50,
        ),
        Row(BENCH, "direct handler chain (same handlers, same moto)", f"{figures['direct_per_s']:.1f} sagas/s"),
        Row(BENCH, "runtime / direct", f"{figures['ratio']:.2f} x", "<= 2 x", figures["ratio"] <= 2),
        Row(
            BENCH,
            f"floor: a saga's {figures['floor_requests']:.0f} DynamoDB + EventBridge requests "
            f"(of {figures['requests']:.0f}) replayed bare",
            f"{figures['floor_per_s']:.1f} sagas/s",
        ),
        Row(
            BENCH,
            f"{figures['concurrent']:.0f} concurrent sagas",
            f"{figures['concurrent_per_s']:.1f} sagas/s ({figures['concurrent_wall_s']:.2f} s wall)",
        ),
    ]


def main() -> None:
    """Measure and print (or ``--json``) the rows."""
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--sagas", type=int, default=100, help="sequential sagas per measurement")
    arguments.add_argument("--concurrent", type=int, default=50, help="sagas started at once")
    arguments.add_argument("--repeats", type=int, default=3, help="measurements of each path (median)")
    arguments.add_argument("--assembly", type=Path, help="a cloud assembly folder to reuse (synthesized if empty)")
    arguments.add_argument("--profile", type=int, metavar="SAGAS", help="profile SAGAS sagas with yappi instead")
    args = arguments.parse_args()
    if args.profile:
        print(profile(args.profile, args.assembly))
        return
    figures = measure(args.sagas, args.concurrent, args.repeats, args.assembly)
    emit(
        rows(figures),
        json_path=args.json,
        command=f"python -m bench.offline_throughput --sagas {args.sagas} --concurrent {args.concurrent}",
    )


if __name__ == "__main__":
    main()
