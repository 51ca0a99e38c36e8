"""``cdk synth`` time for the app with its one saga, and with 20 sagas.

    .venv/bin/python -m bench.synth_scaling [--runs 3] [--sagas 20]

Each synthesis is a fresh interpreter running ``infra.app.build_app("dev").synth()`` in-process,
as ``cdk synth`` runs the app (``cdk.json``). ``statemachines.all_sagas`` is replaced in that
process: by the onboarding saga alone, or by ``--sagas`` copies of it with distinct saga names
and distinct commands (``CreateWorkspaceAlpha``...), so that every copy brings its own six
functions, as a new saga with new commands would. The copies are built without the
``handler_exists`` and ``event_exists`` checks: synthesis never opens a handler file.

Reported: build + synth time (the app's own work) and the whole process (with Python, CDK and
jsii start-up), medians of ``--runs`` interleaved runs, and what grows: functions, resources.

Also the whole command a user runs, ``npx --no-install cdk synth`` (the pinned CLI, with
``cdk.json``'s context), for the one saga and for ``--sagas`` copies with their own commands. The
CLI runs this module as the app (``--app "python -m bench.synth_scaling --app N"``), which swaps
the sagas in exactly as the in-process runs do and then runs ``infra.app.main``; nothing in
``infra`` knows about the copies.

About half the one-saga time, and 40 % of what each added saga adds, is CDK's built-in CloudFormation
validation (a WASM engine that starts once per synthesis, then checks every resource). To see
its share, run with ``CDK_VALIDATION=false`` in the environment: the children and the CLI
inherit it (as ``cdk synth --no-validation`` would set it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Row, emit, median, parser, progress

__all__ = ["copies", "measure", "rows"]

BENCH = "synth scaling"
#: Label prefix of the CLI samples in ``measure``'s results (followed by the saga count).
CLI = "cli:"
GOAL = 2.0
#: CloudFormation's quota of resources per stack (AWS docs, "CloudFormation quotas").
RESOURCE_QUOTA = 500
#: Suffixes of the copies' saga and command names (PascalCase, so no digits needed).
_WORDS: tuple[str, ...] = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett")
_WORDS += ("Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo", "Sierra", "Tango")
_WORDS += ("Uniform", "Victor", "Whiskey", "Xray", "Yankee", "Zulu")


def copies(count: int, *, shared: bool = False) -> list[Any]:
    """``count`` sagas: the onboarding saga alone for 1, else copies with distinct names and
    distinct commands (each copy's commands carry its suffix), or with the onboarding saga's
    own commands when ``shared``."""
    from sagakit.definition import Command, ParallelGroup, Saga, SagaStep
    from statemachines.onboard_client import OnboardClientSaga

    if count == 1:
        return [OnboardClientSaga]
    if count > len(_WORDS):
        raise ValueError(f"at most {len(_WORDS)} copies")

    def renamed(command: Command | None, suffix: str) -> Command | None:
        if command is None or shared:
            return command
        return Command(f"{command.name}{suffix}", service=command.service)

    def step(element: SagaStep, suffix: str) -> SagaStep:
        command = renamed(element.command, suffix)
        assert command is not None
        return dataclasses.replace(
            element,
            command=command,
            on_failure=renamed(element.on_failure, suffix),
            undo=renamed(element.undo, suffix),
        )

    sagas = []
    for suffix in _WORDS[:count]:
        elements: list[SagaStep | ParallelGroup] = []
        for element in OnboardClientSaga.steps:
            if isinstance(element, ParallelGroup):
                elements.append(
                    dataclasses.replace(
                        element,
                        name=f"{element.name}{suffix}",
                        branches=tuple(step(branch, suffix) for branch in element.branches),
                        on_failure=renamed(element.on_failure, suffix),
                    )
                )
            else:
                elements.append(step(element, suffix))
        sagas.append(
            Saga(
                name=f"OnboardClient{suffix}Saga",
                trigger=OnboardClientSaga.trigger,
                steps=tuple(elements),
                saga_id=OnboardClientSaga.saga_id,
                version=OnboardClientSaga.version,
                deadline_seconds=OnboardClientSaga.deadline_seconds,
                description=OnboardClientSaga.description,
            )
        )
    return sagas


#: 20 sagas with their own functions pass CloudFormation's 500-resource quota, which CDK enforces
#: at synth; this context lifts CDK's check to time the synthesis anyway (the count is reported).
NO_RESOURCE_LIMIT = {"@aws-cdk/core:stackResourceLimit": 0}
ROOT = Path(__file__).resolve().parent.parent


def _use_sagas(count: int, *, shared: bool) -> None:
    """Make the app build ``copies(count, shared=shared)`` instead of ``statemachines.all_sagas()``."""
    import infra.app
    import statemachines

    sagas = copies(count, shared=shared)
    statemachines.all_sagas = lambda: sagas  # type: ignore[assignment]
    infra.app.all_sagas = lambda: sagas  # type: ignore[attr-defined]


def child(count: int, *, shared: bool) -> dict[str, Any]:
    """In a fresh process: synthesize the app with ``count`` sagas; time it and count what it made."""
    # Context, as the CLI passes it.
    os.environ["CDK_CONTEXT_JSON"] = json.dumps(NO_RESOURCE_LIMIT)
    started = time.perf_counter()
    import infra.app

    imported = time.perf_counter()
    _use_sagas(count, shared=shared)
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        built = time.perf_counter()
        app, stack = infra.app.build_app("dev", outdir=outdir)
        app.synth()
        synthesized = time.perf_counter()
        template = json.loads((Path(outdir) / f"{stack.stack_name}.template.json").read_text(encoding="utf-8"))
    resources = template["Resources"].values()
    return {
        "import_s": imported - started,
        "synth_s": synthesized - built,
        "functions": sum(1 for r in resources if r["Type"] == "AWS::Lambda::Function"),
        "state_machines": sum(1 for r in resources if r["Type"] == "AWS::StepFunctions::StateMachine"),
        "resources": len(template["Resources"]),
    }


def sizes(sagas: int) -> dict[str, tuple[int, bool]]:
    """The three apps: the one saga, ``sagas`` copies with their own commands, and with shared ones."""
    return {
        "1 saga": (1, False),
        f"{sagas} sagas, own commands": (sagas, False),
        f"{sagas} sagas, shared commands": (sagas, True),
    }


def app(count: int) -> None:
    """The CDK app with ``count`` sagas (own commands): what ``cdk synth --app`` runs."""
    _use_sagas(count, shared=False)
    import infra.app

    infra.app.main()


def cli_synth(count: int) -> float:
    """Seconds of ``npx --no-install cdk synth`` (the pinned CLI, ``cdk.json``'s context) of the
    app with ``count`` sagas, into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-cdk-") as outdir:
        command = ["npx", "--no-install", "cdk", "synth", "--quiet", "-o", outdir]
        command += ["--app", f"{sys.executable} -m bench.synth_scaling --app {count}"]
        for key, value in NO_RESOURCE_LIMIT.items():
            command += ["-c", f"{key}={value}"]
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"cdk synth of {count} sagas failed:\n{completed.stderr[-3000:]}")
    return elapsed


def measure(runs: int, sagas: int) -> dict[str, list[dict[str, Any]]]:
    """``runs`` syntheses of each app, interleaved, each in a fresh process; then, in the same
    rounds, ``cdk synth`` of the one saga and of ``sagas`` copies (own commands)."""
    apps = sizes(sagas)
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in apps}
    cli = {f"{CLI}1": 1, f"{CLI}{sagas}": sagas}
    results.update({label: [] for label in cli})
    for run in range(runs):
        for label, count in cli.items():
            progress(f"synth scaling: run {run + 1} of {runs}, npx cdk synth, {count} saga(s)")
            results[label].append({"cli_s": cli_synth(count)})
        for label, (count, shared) in apps.items():
            progress(f"synth scaling: run {run + 1} of {runs}, {label}")
            command = [sys.executable, "-m", "bench.synth_scaling", "--child", str(count)]
            started = time.perf_counter()
            completed = subprocess.run(
                [*command, *(["--shared"] if shared else [])], capture_output=True, text=True, check=False
            )
            wall = time.perf_counter() - started
            if completed.returncode != 0:
                raise RuntimeError(f"synthesis of {label} failed:\n{completed.stderr[-3000:]}")
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            result["process_s"] = wall
            results[label].append(result)
    return results


def rows(results: dict[str, list[dict[str, Any]]], runs: int) -> list[Row]:
    """One row per app, then each large app against the one-saga app (own commands: the goal),
    then the CLI's ``cdk synth`` of the one saga and of the large app (context, no goal)."""
    found: list[Row] = []
    cli = {label: median(r["cli_s"] for r in samples) for label, samples in results.items() if label.startswith(CLI)}
    results = {label: samples for label, samples in results.items() if label not in cli}
    synth = {label: median(r["synth_s"] for r in samples) for label, samples in results.items()}
    process = {label: median(r["process_s"] for r in samples) for label, samples in results.items()}
    for label, samples in results.items():
        sample = samples[0]
        quota = f" (over the {RESOURCE_QUOTA} quota)" if sample["resources"] > RESOURCE_QUOTA else ""
        found.append(
            Row(
                BENCH,
                f"{label}: build + synth (median of {runs})",
                f"{synth[label]:.1f} s (process {process[label]:.1f} s); {sample['functions']} functions, "
                f"{sample['resources']} resources{quota}",
            )
        )
    (one, *larger) = results
    for label in larger:
        ratio = synth[label] / synth[one]
        functions = results[label][0]["functions"] / results[one][0]["functions"]
        own = "own commands" in label
        found.append(
            Row(
                BENCH,
                f"{label} / 1 saga",
                f"{ratio:.2f} x build + synth ({process[label] / process[one]:.2f} x process) "
                f"for {functions:.1f} x functions",
                f"<= {GOAL} x" if own else "",
                ratio <= GOAL if own else None,
            )
        )
    if cli:
        (one_cli, large_cli) = sorted(cli, key=lambda label: int(label.removeprefix(CLI)))
        large = int(large_cli.removeprefix(CLI))
        found.append(
            Row(
                BENCH,
                f"npx cdk synth (whole command, median of {runs}): 1 saga; {large} sagas, own commands",
                f"{cli[one_cli]:.1f} s; {cli[large_cli]:.1f} s = {cli[large_cli] / cli[one_cli]:.2f} x",
            )
        )
    return found


def main() -> None:
    """Measure and print (or ``--json``) the rows; ``--child N`` is one synthesis (internal)."""
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--runs", type=int, default=3, help="syntheses per size")
    arguments.add_argument("--sagas", type=int, default=20, help="sagas in the large app")
    arguments.add_argument("--child", type=int, help=argparse.SUPPRESS)
    arguments.add_argument("--shared", action="store_true", help=argparse.SUPPRESS)
    arguments.add_argument("--app", type=int, help=argparse.SUPPRESS)
    args = arguments.parse_args()
    if args.app is not None:
        app(args.app)
        return
    if args.child is not None:
        print(json.dumps(child(args.child, shared=args.shared)))
        return
    emit(
        rows(measure(args.runs, args.sagas), args.runs),
        json_path=args.json,
        command=f"python -m bench.synth_scaling --runs {args.runs} --sagas {args.sagas}",
    )


if __name__ == "__main__":
    main()
