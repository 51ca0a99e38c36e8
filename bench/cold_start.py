"""Cold start of every step and compensation handler of the onboarding saga, against a handler
that imports boto3 and creates one DynamoDB client (``bench/baseline_handler.py``), and a
Powertools docs-style handler (``bench/powertools_handler.py``) for context.

    .venv/bin/python -m bench.cold_start [--runs 7] [--assembly DIR]
    .venv/bin/python -m bench.cold_start --profile SetupBilling      # pyinstrument, one cold start
    .venv/bin/python -m bench.cold_start --importtime SetupBilling   # python -X importtime, slowest

One measurement is a fresh interpreter (``python -I -B bench/coldstart_probe.py``) started in
the function's own asset folder from the synthesized cloud assembly, with the function's
deployed environment plus what Lambda sets (``LAMBDA_TASK_ROOT``, ``_X_AMZN_TRACE_ID``...), so
Powertools Tracer is on, as in the deployed stack (X-Ray active). The asset holds ``.py`` files
only and ``-B`` writes no bytecode: the project's modules are compiled at every cold start, as
on Lambda, while third-party packages load from their ``.pyc``, as the runtime and the layer
ship them. The probe invokes the handler twice, with two different sagas, against moto served
over HTTP on 127.0.0.1 (``LocalRuntime.serve``: real DynamoDB and EventBridge calls, no moto in
the probe's process).

* import: the handler module's import (what Lambda's INIT phase runs);
* init: import + (1st invocation - 2nd invocation). The handler builds Powertools Logger,
  Tracer and Metrics, the parser and the idempotency layer on its first call, and boto3 makes
  its clients and first connections then; the 2nd invocation does the same business work with
  all of that made, so the difference is the one-time set-up. The yardsticks are measured the
  same way (the baseline's first call pays for its first request).

Each figure is the median of ``--runs`` probes per function and tracing mode, interleaved with
the yardsticks', and every ratio is against the baseline measured in the same run. Wall time is
the figure; CPU time of the probe process is shown beside it because it is steadier when other
processes share the cores. The probe hides ``requests``, which this virtualenv has (moto needs
it) but the Lambda runtime and the public Powertools layer do not: the X-Ray SDK patches it when
it can import it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.assembly import cloud_assembly
from bench.report import Row, emit, median, parser, progress

__all__ = ["Target", "measure", "rows"]

BENCH = "cold start"
GOAL = 1.25
PROBE = Path(__file__).with_name("coldstart_probe.py")
#: Importable here (moto needs it) but shipped by neither the Lambda Python runtime nor the
#: Powertools layer; the X-Ray SDK's patch_all imports it when it can.
HIDDEN = ("requests",)
#: A syntactically valid X-Ray trace header, as Lambda sets it for a sampled invocation.
TRACE_HEADER = "Root=1-6756d3a0-4b3d6f0e5e2f4b1c9a8d7e6f;Parent=53995c3f42cd8ad8;Sampled=1"


@dataclass(frozen=True)
class Target:
    """One function to cold-start: its command, handler, asset folder and environment."""

    command: str
    handler: str
    asset: Path
    environment: dict[str, str]
    function_name: str
    memory_mb: int
    event: dict[str, Any]
    """A real task input of this function (from an execution history), the template of both events."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _variant(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` for another saga: the client id (and the saga id made from it) replaced, so the
    invocation does the same work again instead of an idempotent replay."""
    client_id = event["detail"]["clientId"]
    fresh = f"cs-{uuid.uuid4().hex[:12]}"
    return json.loads(json.dumps(event).replace(client_id, fresh))  # type: ignore[no-any-return]


def task_inputs(local: Any) -> dict[str, dict[str, Any]]:
    """The input each function of the onboarding saga received, read from the histories of a
    happy run, of a run whose SetupBilling crashes after its write (RevertBilling,
    DeleteWorkspace, DeleteTenant run) and of one whose CreateWorkspace does (DiscardWorkspace)."""
    from sagakit.local.lambda_router import FaultKind
    from sagakit.local.runtime import sample_event

    by_function = {name: command for command, name in local.deployed.functions.items()}
    inputs: dict[str, dict[str, Any]] = {}
    happy = local.run(sample_event())
    failing = sample_event()
    failing["detail"]["clientId"] = "bench-crash"
    # Lambda.Unknown is retried (a transient error): crash every attempt, so the saga compensates.
    local.fail("SetupBilling", FaultKind.CRASH_AFTER_WRITE, times=100)
    crashed = local.run(failing)
    local.router.clear_faults()
    if crashed.compensations != ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]:
        raise RuntimeError(f"expected every compensation to run, got {crashed.compensations}")
    failing = sample_event()
    failing["detail"]["clientId"] = "bench-crash-first"
    local.fail("CreateWorkspace", FaultKind.CRASH_AFTER_WRITE, times=100)
    crashed_first = local.run(failing)
    local.router.clear_faults()
    if crashed_first.compensations != ["DiscardWorkspace", "DeleteTenant"]:
        raise RuntimeError(f"expected CreateWorkspace's undo to run, got {crashed_first.compensations}")
    for run in (happy, crashed, crashed_first):
        for event in run.history:
            details = event.get("lambdaFunctionScheduledEventDetails")
            if details:
                command = by_function[details["resource"].rsplit(":", 1)[-1]]
                inputs.setdefault(command, json.loads(details["input"]))
    return inputs


#: The yardsticks: module file in bench/, and the figure's label.
YARDSTICKS = {
    "baseline": ("baseline_handler.py", "baseline: boto3 + 1 DynamoDB client"),
    "powertools": ("powertools_handler.py", "Powertools reference handler"),
}


def targets(local: Any, scratch: Path) -> list[Target]:
    """The two yardsticks, then every step and compensation of the onboarding saga."""
    from moto.awslambda.models import lambda_backends

    from statemachines import saga_named

    saga = saga_named("OnboardClientSaga")
    inputs = task_inputs(local)
    backend = lambda_backends["123456789012"][local.region]
    found: list[Target] = []
    for command in saga.commands():
        function = backend.get_function(local.deployed.functions[command.name])
        if function.handler != command.handler:
            raise RuntimeError(f"{command.name}: deployed handler {function.handler} is not {command.handler}")
        found.append(
            Target(
                command=command.name,
                handler=command.handler,
                asset=local.router.assets[function.code["S3Key"]],
                environment={k: str(v) for k, v in (function.environment_vars or {}).items()},
                function_name=function.function_name,
                memory_mb=int(function.memory_size),
                event=inputs[command.name],
            )
        )
    billing = next(t for t in found if t.command == "SetupBilling")
    yardsticks: list[Target] = []
    for name, (file_name, _) in YARDSTICKS.items():
        asset = scratch / f"{name}-asset"  # a folder holding the one module, as its zip would
        asset.mkdir()
        shutil.copyfile(Path(__file__).with_name(file_name), asset / file_name)
        yardsticks.append(
            Target(
                command=name,
                handler=f"{Path(file_name).stem}.handler",
                asset=asset,
                environment={
                    "TABLE_NAME": billing.environment["TABLE_NAME"],
                    "POWERTOOLS_SERVICE_NAME": "bench",
                    "POWERTOOLS_METRICS_NAMESPACE": "Sagas",
                },
                function_name=f"sagakit-dev-{name}",
                memory_mb=billing.memory_mb,
                event=billing.event,
            )
        )
    return [*yardsticks, *found]


def _environment(target: Target, *, endpoint: str, traced: bool, scratch: Path) -> dict[str, str]:
    """What Lambda gives the process, then the function's own variables (as LambdaRouter does)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(scratch),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(scratch / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-credentials"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": target.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(target.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": str(target.asset),
        "_HANDLER": target.handler,
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        # No daemon listens there: the X-Ray SDK sends its UDP segments to nobody, as it would
        # cost nothing more on Lambda (the daemon is local there too).
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        **target.environment,
    }
    if not traced:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    return environment


def probe(
    target: Target, *, endpoint: str, traced: bool, scratch: Path, profile: bool = False, importtime: bool = False
) -> dict[str, Any] | str:
    """Cold-start ``target`` once in a fresh interpreter; the probe's times, or its pyinstrument
    profile (``profile``), or its ``-X importtime`` report (``importtime``)."""
    out = scratch / f"out-{uuid.uuid4().hex}.json"
    spec = {
        "asset": str(target.asset),
        "handler": target.handler,
        "function_name": target.function_name,
        "memory_mb": target.memory_mb,
        "events": [_variant(target.event), _variant(target.event)],
        "hide": list(HIDDEN),
        "out": str(out),
        "profile": profile,
    }
    spec_file = scratch / f"spec-{uuid.uuid4().hex}.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-I", "-B", *(["-X", "importtime"] if importtime else []), str(PROBE), str(spec_file)],
        cwd=target.asset,
        env=_environment(target, endpoint=endpoint, traced=traced, scratch=scratch),
        stdout=subprocess.DEVNULL,  # the handlers' JSON logs and EMF metrics (CloudWatch on Lambda)
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"cold start of {target.command} failed:\n{completed.stderr[-3000:]}")
    text = out.read_text(encoding="utf-8")
    out.unlink()
    spec_file.unlink()
    if profile:
        return text
    if importtime:
        return completed.stderr
    result: dict[str, Any] = json.loads(text)
    return result


def _slowest_imports(report: str, limit: int = 40) -> str:
    """The ``-X importtime`` lines with the largest cumulative times, slowest first."""
    lines = [line for line in report.splitlines() if line.startswith("import time:") and "|" in line]
    timed = []
    for line in lines[1:]:  # the first line is the header
        _, self_us, cumulative_us, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        timed.append((int(cumulative_us), int(self_us), name))
    timed.sort(reverse=True)
    return "\n".join(f"{c / 1000:8.1f} ms cumulative {s / 1000:7.1f} ms self  {n}" for c, s, n in timed[:limit])


@dataclass
class Samples:
    """Per-run times (ms) of one target in one tracing mode: wall and CPU, import and init."""

    imports: list[float] = field(default_factory=list)
    inits: list[float] = field(default_factory=list)
    imports_cpu: list[float] = field(default_factory=list)
    inits_cpu: list[float] = field(default_factory=list)

    def add(self, result: dict[str, Any]) -> None:
        """One probe's result: init is import + (1st invocation - 2nd invocation)."""
        first, second = result["calls_ms"]
        first_cpu, second_cpu = result["calls_cpu_ms"]
        self.imports.append(result["import_ms"])
        self.inits.append(result["import_ms"] + first - second)
        self.imports_cpu.append(result["import_cpu_ms"])
        self.inits_cpu.append(result["import_cpu_ms"] + first_cpu - second_cpu)

    def merged(self, other: Samples) -> Samples:
        """Both sets of samples together."""
        return Samples(
            self.imports + other.imports,
            self.inits + other.inits,
            self.imports_cpu + other.imports_cpu,
            self.inits_cpu + other.inits_cpu,
        )


def measure(
    runs: int, assembly_dir: Path | None, *, profile: str | None = None, importtime: str | None = None
) -> dict[tuple[str, bool], Samples]:
    """Probe every target ``runs`` times in each tracing mode, interleaved; return the samples
    keyed by (command, traced). With ``profile`` (or ``importtime``), print instead one cold
    start of that command under pyinstrument (or ``python -X importtime``, slowest first)."""
    from sagakit.local import LocalRuntime

    samples: dict[tuple[str, bool], Samples] = {}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp, cloud_assembly(assembly_dir) as assembly:
        scratch = Path(tmp)
        with LocalRuntime(assembly=assembly, fast=True) as local:
            found = targets(local, scratch)
            endpoint = local.serve(_free_port())
            if profile is not None or importtime is not None:
                target = next(t for t in found if t.command in (profile, importtime))
                report = probe(
                    target,
                    endpoint=endpoint,
                    traced=True,
                    scratch=scratch,
                    profile=profile is not None,
                    importtime=importtime is not None,
                )
                print(report if profile is not None else _slowest_imports(str(report)))
                return samples
            for run in range(runs):
                progress(f"cold start: run {run + 1} of {runs} ({len(found)} functions x 2 tracing modes)")
                # Rotate the order each run, so that a burst of load elsewhere on the machine
                # does not always land on the same function.
                order = found[run % len(found) :] + found[: run % len(found)]
                for target in order:
                    for traced in (True, False):
                        result = probe(target, endpoint=endpoint, traced=traced, scratch=scratch)
                        assert isinstance(result, dict)
                        samples.setdefault((target.command, traced), Samples()).add(result)
    return samples


def rows(samples: dict[tuple[str, bool], Samples], runs: int) -> list[Row]:
    """The table rows: the yardsticks, then each handler with tracing on (held to the goal)
    and off. Ratios are of medians, against the baseline measured in the same run."""
    # The baseline imports no Powertools, so both tracing modes measure the same thing.
    base = samples[("baseline", True)].merged(samples[("baseline", False)])
    base_init, base_import, base_cpu = median(base.inits), median(base.imports), median(base.inits_cpu)
    found: list[Row] = [
        Row(
            BENCH,
            f"{YARDSTICKS['baseline'][1]} (median of {len(base.inits)})",
            f"init {base_init:.0f} ms, CPU {base_cpu:.0f} ms (import {base_import:.0f} ms)",
        )
    ]
    names = [command for command, traced in samples if traced and command != "baseline"]
    for traced in (True, False):
        for name in names:
            entry = samples[(name, traced)]
            init, ratio = median(entry.inits), median(entry.inits) / base_init
            label = YARDSTICKS[name][1] if name in YARDSTICKS else name
            mode = "X-Ray on" if traced else "tracing off"
            goal = traced and name not in YARDSTICKS
            found.append(
                Row(
                    BENCH,
                    f"{label} init, {mode}",
                    f"{init:.0f} ms = {ratio:.2f} x (CPU {median(entry.inits_cpu) / base_cpu:.2f} x); "
                    f"import {median(entry.imports) / base_import:.2f} x",
                    f"<= {GOAL} x baseline" if goal else "",
                    ratio <= GOAL if goal else None,
                )
            )
    return found


def main() -> None:
    """Measure and print (or ``--json``) the rows."""
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--runs", type=int, default=7, help="cold starts per function and tracing mode")
    arguments.add_argument("--assembly", type=Path, help="a cloud assembly folder to reuse (synthesized if empty)")
    arguments.add_argument("--profile", metavar="COMMAND", help="print one profiled cold start of COMMAND instead")
    arguments.add_argument("--importtime", metavar="COMMAND", help="print the slowest imports of COMMAND instead")
    args = arguments.parse_args()
    samples = measure(args.runs, args.assembly, profile=args.profile, importtime=args.importtime)
    if args.profile is None and args.importtime is None:
        emit(rows(samples, args.runs), json_path=args.json, command="python -m bench.cold_start")


if __name__ == "__main__":
    main()
