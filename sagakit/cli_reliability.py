"""``saga matrix`` and ``saga redrive``: the failure-injection matrix of a saga, run offline, and
resuming a saga parked in a failed compensation once its cause is fixed.

Registered on the ``saga`` app in ``sagakit.cli``; errors exit 2, as every ``saga`` command's do.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sagakit.cli_graph import LOCAL_ENDPOINT

if TYPE_CHECKING:
    from rich.table import Table

    from sagakit.matrix import MatrixReport

__all__ = ["matrix", "redrive"]


def matrix(
    saga: Annotated[str, typer.Argument(help="Saga name.")] = "OnboardClientSaga",
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print only the Markdown table (the README's Failure semantics).")
    ] = False,
    stage: Annotated[str, typer.Option(help="Stage to synthesize.")] = "dev",
) -> None:
    """Run SAGA's failure-injection matrix offline and check every run.

    The scenarios come from the definition: every step and compensation, in every failure mode.

    Modes: a business error, transient errors then success, a timeout, a crash after the write, failing for good.

    Each run must end as the compiled machine says, and keep the invariant (exits 1 if one does not).

    The invariant: COMPLETED with each record once, FAILED with nothing left, COMPENSATION_FAILED with leftovers listed.
    """
    from sagakit.cli import _fail, console
    from sagakit.local import LocalRuntime
    from sagakit.matrix import markdown as render_markdown
    from sagakit.matrix import run_matrix
    from statemachines import saga_named

    try:
        definition = saga_named(saga)
    except KeyError as error:
        raise _fail(str(error.args[0])) from None
    with console.status("synthesizing the CDK app and deploying it into moto...", spinner="dots"):
        runtime = LocalRuntime(stage=stage, fast=True)
        runtime.start()
    try:
        if saga not in runtime.deployed.state_machines:
            raise _fail(f"{saga} has no state machine to inject failures into (only orchestrated sagas do)")
        with console.status(f"running {saga}'s failure matrix..."):
            report = run_matrix(runtime, definition)
    finally:
        runtime.stop()
    if markdown:
        console.print(render_markdown(report), end="", markup=False, soft_wrap=True)
    else:
        console.print(_table(report))
        console.print(
            f"{len(report.results)} scenarios in {report.seconds:.1f} s wall "
            f"(fast time: {report.slept:.0f} s of retry back-off slept at 1/1000)"
        )
    if not report.ok:
        raise typer.Exit(code=1)


def _table(report: MatrixReport) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{report.saga}: failure matrix", show_edge=False)
    for column in ("fails", "how", "outcome", "compensated", "left", "check", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    for result in report.results:
        observed = result.observed
        left = ", ".join(f"{service} {count}" for service, count in observed.leftovers.items())
        problems = [str(v) for v in result.violations] + ([] if result.agrees else ["not as the machine says"])
        table.add_row(
            result.scenario.target,
            result.scenario.mode.value,
            observed.outcome,
            " → ".join(observed.compensations),
            left if observed.outcome != "COMPLETED" else "",
            Text("ok", style="green") if result.ok else Text("; ".join(problems), style="red"),
            f"{result.seconds * 1000:.0f}",
        )
    return table


def redrive(
    execution_arn: Annotated[str, typer.Argument(help="arn:aws:states:<region>:<account>:execution:<machine>:<name>")],
    local: Annotated[bool, typer.Option(help=f"Resume it on `saga local serve` ({LOCAL_ENDPOINT}).")] = False,
    endpoint_url: Annotated[str | None, typer.Option(help="Any other endpoint (implies fake credentials).")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the resumed run to end, and show it.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 300.0,
) -> None:
    """Resume a failed saga from the state it failed in, once the cause is fixed.

    For a saga parked in a compensation that kept failing (COMPENSATION_FAILED).

    On AWS: Step Functions' RedriveExecution, the same execution resumes (Standard, within 14 days).

    With --local or --endpoint-url (moto has no RedriveExecution), the offline equivalent runs.

    It starts the same definition at the failed state with that state's input: <machine>-from-<State>.

    The resumed execution is named <name>-redrive-<n>.

    Exits 1 unless the resumed run ends COMPLETED or FAILED (every step compensated).
    """
    from sagakit.cli import _fail, console
    from sagakit.cli_graph import _execution_client
    from sagakit.local.redrive import RedriveError, redrive_in_place, redrive_offline

    client, url, where = _execution_client(execution_arn, local=local, endpoint_url=endpoint_url)
    try:
        resumed = redrive_offline(client, execution_arn) if url else redrive_in_place(client, execution_arn)
    except RedriveError as error:
        raise _fail(str(error)) from None
    except client.exceptions.ExecutionDoesNotExist:
        raise _fail(f"no execution {execution_arn} on {where}") from None
    except Exception as error:  # botocore's service, connection and credential errors share no base class
        raise _fail(f"redriving {execution_arn} on {where} failed: {error}") from None
    console.print(f"resumed from [bold]{resumed.resumed_from}[/]: {resumed.execution_arn}")
    if not wait:
        return
    outcome = _wait(client, resumed.execution_arn, timeout)
    if outcome not in ("COMPLETED", "FAILED"):
        raise typer.Exit(code=1)


def _wait(client: Any, execution_arn: str, timeout: float) -> str:
    from sagakit.cli import console
    from sagakit.trace import read_run, render_run

    deadline = time.monotonic() + timeout
    with console.status("waiting for the resumed run..."):
        while client.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
            if time.monotonic() > deadline:
                console.print(f"still running after {timeout:.0f} s: {execution_arn}")
                return "RUNNING"
            time.sleep(0.25)
    run = read_run(client, execution_arn)
    console.print(render_run(run, title=f"{run.saga_name or 'saga'} · {run.saga_id} · resumed"))
    return str(run.outcome)
