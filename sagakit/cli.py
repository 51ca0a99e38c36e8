"""The ``saga`` command: run sagas offline, put events, write ASL snapshots.

Every command has ``--help``. Errors name the bad option or field and exit with status 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sagakit.cli_graph import LOCAL_ENDPOINT, graph, trace
from sagakit.cli_reliability import matrix, redrive
from sagakit.definition import SagaStyle
from sagakit.scaffold.cli import scaffold_app

__all__ = ["app"]

app = typer.Typer(
    name="saga",
    help="sagakit: sagas on AWS Step Functions, compiled by CDK, runnable offline with moto.",
    no_args_is_help=True,
    add_completion=False,
)
local_app = typer.Typer(help="Run the synthesized stack offline, in moto.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(scaffold_app, name="scaffold")

# Piped or captured (CI logs, `make demo | tee`), rich would assume 80 columns and cut the
# trace's state names short; a terminal keeps its own width, and COLUMNS still wins.
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120
console = Console(highlight=False, width=_PIPED_WIDTH)
errors = Console(stderr=True, highlight=False, width=_PIPED_WIDTH)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVENT = ROOT / "events" / "samples" / "client_onboarded.json"


def _endpoint(local: bool, endpoint_url: str | None) -> str | None:
    return LOCAL_ENDPOINT if local else endpoint_url


def aws_client(service: str, *, local: bool = False, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client for AWS, or for `saga local serve` (``--local``) or any ``--endpoint-url``
    (with throw-away credentials: a local endpoint accepts any)."""
    import boto3

    url = _endpoint(local, endpoint_url)
    kwargs: dict[str, Any] = {"region_name": region or ("eu-west-1" if url else None)}
    if url:
        kwargs.update(endpoint_url=url, aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client(service, **kwargs)  # type: ignore[call-overload]


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _load_event(path: Path) -> dict[str, Any]:
    try:
        envelope = json.loads(path.read_text())
    except FileNotFoundError:
        raise _fail(f"--event: {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise _fail(f"--event: {path} is not JSON ({error})") from None
    from events import EventEnvelope

    try:
        EventEnvelope.model_validate(envelope).parse_detail()
    except ValueError as error:
        raise _fail(f"--event: {path}: {error}") from None
    return envelope  # type: ignore[no-any-return]


def _restyled(envelope: dict[str, Any], style: SagaStyle) -> dict[str, Any]:
    from sagakit.local.choreography import restyle

    try:
        return envelope if style is SagaStyle.ORCHESTRATION else restyle(envelope, style)
    except KeyError as missing:
        raise _fail(f"--style: {missing.args[0]}") from None


def _fault_for(saga_name: str, step: str, error: str | None) -> tuple[str, str]:
    from statemachines import saga_named

    saga = saga_named(saga_name)
    try:
        definition = saga.step(step)
    except KeyError as missing:
        raise _fail(f"--fail-at: {missing.args[0]}") from None
    chosen = error or (definition.business_errors[0] if definition.business_errors else "InjectedFailure")
    return definition.name, chosen


@local_app.command("run")
def local_run(
    event: Annotated[
        Path, typer.Option(help="EventBridge event (source, detail-type, detail) as JSON.")
    ] = DEFAULT_EVENT,
    fail_at: Annotated[str | None, typer.Option(help="Inject a failure into this step, e.g. SetupBilling.")] = None,
    fail_with: Annotated[
        str | None, typer.Option(help="Error name to inject (default: the step's first business error).")
    ] = None,
    direct: Annotated[
        bool, typer.Option(help="Put the event on the bus as is, instead of through its producer.")
    ] = False,
    fast: Annotated[bool, typer.Option(help="Scale retry back-off down 1000x.")] = False,
    stage: Annotated[str, typer.Option(help="Stage to synthesize.")] = "dev",
    style: Annotated[
        SagaStyle, typer.Option(help="Run the saga of this style that EVENT (or its choreography twin) triggers.")
    ] = SagaStyle.ORCHESTRATION,
) -> None:
    """Deploy the stack into moto, trigger a saga with EVENT, and print its trace."""
    envelope = _restyled(_load_event(event), style)
    from sagakit.local import FaultKind, LocalRuntime
    from sagakit.trace import print_run

    with console.status("synthesizing the CDK app and deploying it into moto..."):
        runtime = LocalRuntime(stage=stage, fast=fast)
        runtime.start()
    try:
        saga_name = runtime.saga_for(envelope["detail-type"])
        if fail_at:
            step, error = _fault_for(saga_name, fail_at, fail_with)
            runtime.fail(step, FaultKind.BUSINESS, error=error)
        with console.status(f"running {saga_name}..."):
            try:
                run = runtime.run(envelope, via_producer=not direct)
            except RuntimeError as error:
                raise _fail(str(error)) from None
        items = runtime.all_table_items()
        title = f"{saga_name}" + (f" · failure injected at {fail_at}" if fail_at else " · happy path")
        print_run(console, run, items, title)
    finally:
        runtime.stop()
    if run.outcome not in ("COMPLETED", "FAILED"):
        raise typer.Exit(code=1)


@local_app.command("serve")
def local_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 4566,
    stage: Annotated[str, typer.Option(help="Stage to synthesize.")] = "dev",
    assembly: Annotated[Path | None, typer.Option(help="Use this synthesized cdk.out instead of synthesizing.")] = None,
    fast: Annotated[bool, typer.Option(help="Scale retry back-off down 1000x.")] = False,
) -> None:
    """Deploy the stack into moto and serve it on 127.0.0.1 until Ctrl-C.

    Point the AWS CLI or boto3 at it with --endpoint-url (any credentials, region eu-west-1).
    """
    import signal
    import threading

    from sagakit.local import LocalRuntime
    from sagakit.local.deploy import load_assembly

    loaded = None
    if assembly is not None:
        from infra.config import stage_config

        loaded = load_assembly(assembly, f"SagaKit-{stage_config(stage).stage}")
    with console.status("synthesizing the CDK app and deploying it into moto..."):
        runtime = LocalRuntime(stage=stage, fast=fast, assembly=loaded)
        deployment = runtime.start()
        try:
            endpoint = runtime.serve(port)
        except OSError as error:
            runtime.stop()
            raise _fail(f"--port: cannot listen on 127.0.0.1:{port} ({error})") from None
    console.print(f"[bold green]serving[/] {endpoint}  (region {runtime.region}, account 123456789012)")
    console.print(f"  event bus      {deployment.bus_name}")
    for saga, arn in deployment.state_machines.items():
        console.print(f"  state machine  {saga}: {arn}")
    console.print(
        "  try: aws --endpoint-url "
        f"{endpoint} events put-events --entries file://events/aws-cli/client_onboarded.entries.json"
    )
    stop = threading.Event()
    # Handle Ctrl-C (and SIGTERM) explicitly: a process started from a background job inherits
    # SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        console.print("ready (Ctrl-C to stop)", markup=False)
        while not stop.wait(0.5):
            pass
    finally:
        # Ctrl-C must end the server promptly even when moto is busy (an execution mid-flight,
        # a request in progress): tear down for at most 10 s, then leave anyway.
        stopper = threading.Thread(target=runtime.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=10)
        console.print("stopped" if not stopper.is_alive() else "stopped (moto was still shutting down)")
        if stopper.is_alive():
            os._exit(0)


@app.command("put-event")
def put_event(
    file: Annotated[
        Path | None, typer.Option("--file", help="Event envelope JSON (source, detail-type, detail).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="Build a ClientOnboarded from flags: the client id.")] = None,
    company_name: Annotated[str, typer.Option(help="Company name (with --client-id).")] = "Example Ltd",
    contact_email: Annotated[str, typer.Option(help="Contact email (with --client-id).")] = "ops@example.com",
    plan: Annotated[str, typer.Option(help="starter, growth or enterprise (with --client-id).")] = "starter",
    payment_method: Annotated[str, typer.Option(help="Payment method token (with --client-id).")] = "pm_card_visa",
    local: Annotated[bool, typer.Option(help="Put it on `saga local serve` (http://127.0.0.1:4566).")] = False,
    endpoint_url: Annotated[str | None, typer.Option(help="Any other endpoint (implies fake credentials).")] = None,
    stage: Annotated[str, typer.Option(help="Stage whose bus receives the event.")] = "dev",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration).")] = None,
) -> None:
    """Validate a ClientOnboarded event and put it on the saga bus (AWS, or the local endpoint)."""
    from datetime import UTC, datetime

    from events import EventEnvelope
    from infra.config import stage_config

    if (file is None) == (client_id is None):
        raise _fail("give exactly one of --file or --client-id")
    if file is not None:
        envelope = _load_event(file)
    else:
        envelope = {
            "source": "clients",
            "detail-type": "ClientOnboarded",
            "detail": {
                "clientId": client_id,
                "companyName": company_name,
                "contactEmail": contact_email,
                "plan": plan,
                "paymentMethod": payment_method,
                "onboardedAt": datetime.now(UTC).isoformat(),
            },
        }
        try:
            EventEnvelope.model_validate(envelope).parse_detail()
        except ValueError as error:
            raise _fail(str(error)) from None
    try:
        config = stage_config(stage)
    except ValueError as error:
        raise _fail(str(error)) from None
    url = _endpoint(local, endpoint_url)
    client = aws_client("events", local=local, endpoint_url=endpoint_url, region=region)
    entry = {
        "Source": envelope["source"],
        "DetailType": envelope["detail-type"],
        "Detail": json.dumps(envelope["detail"]),
        "EventBusName": f"{config.prefix}-bus",
    }
    try:
        response = client.put_events(Entries=[entry])
    except Exception as error:  # botocore's connection and credential errors share no base class
        raise _fail(f"put-events on {url or 'AWS'} failed: {error}") from None
    result = response["Entries"][0]
    if "EventId" not in result:
        raise _fail(f"put-events rejected the event: {result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    console.print(f"put {envelope['detail-type']} on {entry['EventBusName']} ({url or 'AWS'}): {result['EventId']}")


LocalOption = Annotated[bool, typer.Option(help=f"Read from `saga local serve` ({LOCAL_ENDPOINT}).")]
EndpointOption = Annotated[str | None, typer.Option(help="Any other endpoint (implies fake credentials).")]
StageOption = Annotated[str, typer.Option(help="Stage whose instances table to read.")]


def _instances_table(stage: str) -> str:
    from sagakit.instances import instances_table

    try:
        return instances_table(stage)
    except ValueError as error:
        raise _fail(str(error)) from None


@app.command()
def status(
    saga_id: Annotated[str, typer.Argument(help="The saga id (the execution name), e.g. onboard-acme-001.")],
    local: LocalOption = False,
    endpoint_url: EndpointOption = None,
    stage: StageOption = "dev",
    region: Annotated[str | None, typer.Option(help="AWS region.")] = None,
) -> None:
    """Show one saga instance: status, steps completed and compensated, times, error."""
    from rich.table import Table

    from sagakit.instances import get_instance

    dynamodb = aws_client("dynamodb", local=local, endpoint_url=endpoint_url, region=region)
    try:
        instance = get_instance(dynamodb, _instances_table(stage), saga_id)
    except Exception as error:  # botocore's connection and credential errors share no base class
        raise _fail(f"cannot read the instances table: {error}") from None
    if instance is None:
        raise _fail(f"saga id: no saga {saga_id!r} in {_instances_table(stage)}")
    table = Table(show_header=False, show_edge=False, title=f"{instance.saga_name} · {instance.saga_id}")
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("status", instance.status),
        ("version", instance.version),
        ("current step", instance.current_step),
        ("steps completed", ", ".join(instance.steps_completed) or "-"),
        ("steps compensated", ", ".join(instance.steps_compensated) or "-"),
        ("started", instance.started_at),
        ("ended", instance.ended_at),
        ("failed at", instance.failed_step),
        ("error", instance.error),
        ("reason", (instance.reason or "")[:300] or None),
        ("execution", instance.execution_arn),
    ):
        if value:
            table.add_row(label, str(value))
    console.print(table)


@app.command("list")
def list_(
    status_: Annotated[str | None, typer.Option("--status", help="Only this status, e.g. FAILED.")] = None,
    saga: Annotated[str | None, typer.Option(help="Only this saga, e.g. OnboardClientSaga.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 50,
    local: LocalOption = False,
    endpoint_url: EndpointOption = None,
    stage: StageOption = "dev",
    region: Annotated[str | None, typer.Option(help="AWS region.")] = None,
) -> None:
    """List saga instances, newest first."""
    from rich.table import Table

    from sagakit.instances import STATUSES, list_instances

    if status_ is not None and status_ not in STATUSES:
        raise _fail(f"--status: {status_!r} is not one of {', '.join(STATUSES)}")
    dynamodb = aws_client("dynamodb", local=local, endpoint_url=endpoint_url, region=region)
    try:
        found = list_instances(dynamodb, _instances_table(stage), status=status_, saga=saga, limit=limit)
    except Exception as error:  # botocore's connection and credential errors share no base class
        raise _fail(f"cannot read the instances table: {error}") from None
    table = Table(title=f"{len(found)} saga instance(s)", show_edge=False)
    # The id and the status never fold: they are what a reader copies and filters on.
    table.add_column("saga id", no_wrap=True)
    table.add_column("saga", overflow="fold")
    table.add_column("status", no_wrap=True)
    for column in ("step", "started", "failed at", "error"):
        table.add_column(column, overflow="fold")
    for instance in found:
        table.add_row(
            instance.saga_id,
            instance.saga_name,
            instance.status,
            instance.current_step or "",
            instance.started_at or "",
            instance.failed_step or "",
            instance.error or "",
        )
    console.print(table)


@app.command()
def demo() -> None:
    """The onboarding saga offline: a happy path, SetupBilling failing and compensated, and the
    same saga choreographed."""
    envelope = json.loads(DEFAULT_EVENT.read_text())
    from sagakit.cli_choreography import demo_choreography
    from sagakit.local import FaultKind, LocalRuntime
    from sagakit.local.choreography import counting
    from sagakit.trace import print_run

    console.rule("[bold]sagakit demo: OnboardClientSaga, offline (moto)")
    with console.status("synthesizing the CDK app and deploying cdk.out into moto..."):
        runtime = LocalRuntime()
        runtime.start()
    try:
        console.print(
            "1. ClientOnboarded for [bold]acme-001[/]: clients records the tenant and publishes the event;"
            " the rule starts the saga."
        )
        with console.status("running the happy path..."), counting(runtime) as orchestrated:
            happy = runtime.run(envelope)
        orchestrated.transitions = happy.transitions
        items = runtime.all_table_items()
        print_run(console, happy, items, "OnboardClientSaga · happy path")

        failing = json.loads(json.dumps(envelope))
        failing["detail"]["clientId"] = "globex-002"
        failing["detail"]["companyName"] = "Globex Corporation"
        console.print(
            "\n2. ClientOnboarded for [bold]globex-002[/], with SetupBilling made to fail (BillingDeclined):"
            " expect DeleteWorkspace, then DeleteTenant, then FAILED."
        )
        runtime.fail("SetupBilling", FaultKind.BUSINESS, error="BillingDeclined")
        with console.status("running the failure..."):
            failed = runtime.run(failing)
        items = runtime.all_table_items()
        print_run(console, failed, items, "OnboardClientSaga · SetupBilling fails")
        choreographed = demo_choreography(console, runtime, envelope, orchestrated)
    finally:
        runtime.stop()
    ok = happy.outcome == "COMPLETED" and failed.outcome == "FAILED" and choreographed.outcome == "COMPLETED"
    console.rule("[green]demo finished" if ok else "[red]demo did not end as expected")
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def asl(
    out: Annotated[Path, typer.Option(help="Folder for <saga>.asl.json.")] = ROOT / "statemachines",
    stage: Annotated[str, typer.Option(help="Stage to synthesize.")] = "dev",
) -> None:
    """Write each saga's synthesized ASL to statemachines/<saga>.asl.json."""
    import tempfile

    from sagakit.asl import write_snapshots
    from sagakit.local.deploy import synthesize

    with tempfile.TemporaryDirectory() as outdir, console.status("synthesizing..."):
        assembly = synthesize(stage, Path(outdir))
        written = write_snapshots(assembly.template, out)
    for path in written:
        console.print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


app.command("graph")(graph)
app.command("trace")(trace)

app.command("matrix")(matrix)
app.command("redrive")(redrive)


def main() -> None:
    """Entry point for ``python -m sagakit.cli``."""
    app()


if __name__ == "__main__":
    main()
