"""``saga graph`` and ``saga trace``: a saga's picture from its definition, and a run's trace
read back from Step Functions (AWS, or ``saga local serve``).

Registered on the ``saga`` app in ``sagakit.cli``; errors exit 2, as every ``saga`` command's do.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["ImageFormat", "graph", "trace"]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LOCAL_ENDPOINT = "http://127.0.0.1:4566"


class ImageFormat(StrEnum):
    """What Graphviz renders next to the Mermaid file."""

    SVG = "svg"
    PNG = "png"


def graph(
    saga: Annotated[
        str | None, typer.Argument(help="Saga name, e.g. OnboardClientSaga (default: every saga).", show_default=False)
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for <saga>.mmd and the image.", show_default="docs/")] = DOCS,
    image_format: Annotated[ImageFormat, typer.Option("--format", help="Image Graphviz renders.")] = ImageFormat.SVG,
    readme: Annotated[
        bool, typer.Option("--readme", help="Also rewrite the saga's <!-- saga-graph:NAME --> block in README.md.")
    ] = False,
) -> None:
    """Draw a saga from its definition: docs/<saga>.mmd (Mermaid) and docs/<saga>.svg (Graphviz).

    Steps in order, parallel groups as clusters, the pivot and retriable steps marked, and the
    compensation paths dashed red, each ending in SagaFailed. Exits 1 when Graphviz's `dot` is
    missing (the Mermaid is still written).
    """
    from sagakit.cli import _fail, console, errors
    from sagakit.graph import GraphvizMissing, embed_in_readme, readme_blocks, saga_graph, to_mermaid, write_image
    from statemachines import all_sagas, saga_named

    if saga is None:
        sagas = all_sagas()
    else:
        try:
            sagas = [saga_named(saga)]
        except KeyError as unknown:
            raise _fail(str(unknown.args[0])) from None
    text = README.read_text() if readme else ""
    if readme and saga is not None and saga not in readme_blocks(text):
        raise _fail(f"--readme: README.md has no <!-- saga-graph:{saga} --> ... <!-- /saga-graph --> block")
    out.mkdir(parents=True, exist_ok=True)
    missing_dot = False
    for definition in sagas:
        drawn = saga_graph(definition)
        mermaid = out / f"{drawn.file_stem}.mmd"
        mermaid.write_text(to_mermaid(drawn))
        console.print(f"wrote {_shown(mermaid)}")
        if readme and definition.name in readme_blocks(text):
            text = embed_in_readme(text, drawn)
            console.print(f"updated the {definition.name} block in {_shown(README)}")
        try:
            console.print(f"wrote {_shown(write_image(drawn, out, image_format.value))}")
        except GraphvizMissing:
            missing_dot = True
    if readme:
        README.write_text(text)
    if missing_dot:
        errors.print(
            f"[bold red]error:[/] the {image_format.value.upper()} needs Graphviz: its `dot` program is not on the "
            "PATH. Install it (apt-get install graphviz, brew install graphviz), then run this again. "
            "The Mermaid files are written."
        )
        raise typer.Exit(code=1)


def trace(
    execution_arn: Annotated[str, typer.Argument(help="arn:aws:states:<region>:<account>:execution:<machine>:<name>")],
    local: Annotated[bool, typer.Option(help=f"Read from `saga local serve` ({LOCAL_ENDPOINT}).")] = False,
    endpoint_url: Annotated[str | None, typer.Option(help="Any other endpoint (implies fake credentials).")] = None,
) -> None:
    """Show a saga run: its states, their durations, where it failed, what was compensated.

    Reads DescribeExecution and GetExecutionHistory (AWS, or a local endpoint with throw-away
    credentials; the region is the ARN's), then draws the states and a timeline.
    """
    from sagakit.cli import _fail, console
    from sagakit.trace import read_run, render_run, render_timeline

    client, _, where = _execution_client(execution_arn, local=local, endpoint_url=endpoint_url)
    try:
        run = read_run(client, execution_arn)
    except (client.exceptions.ExecutionDoesNotExist, client.exceptions.InvalidArn):
        raise _fail(f"no execution {execution_arn} on {where}") from None
    except Exception as error:  # botocore's connection and credential errors share no base class
        raise _fail(f"reading {execution_arn} from {where} failed: {error}") from None
    console.print(render_run(run, title=f"{run.saga_name or 'saga'} · {run.saga_id}"))
    console.print(render_timeline(run, width=max(20, min(console.width, 140) - 50)))


def _execution_client(execution_arn: str, *, local: bool, endpoint_url: str | None) -> tuple[Any, str | None, str]:
    """A Step Functions client for ``execution_arn``'s region: the local endpoint, another
    endpoint, or AWS; and the endpoint and a name for it. Bad options or ARN exit 2, saying why."""
    from sagakit.cli import _fail

    if local and endpoint_url:
        raise _fail("give at most one of --local or --endpoint-url")
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "execution":
        raise _fail(f"{execution_arn!r} is not an execution ARN (arn:aws:states:<region>:<account>:execution:...)")
    url = LOCAL_ENDPOINT if local else endpoint_url
    return _stepfunctions(region=parts[3], endpoint_url=url), url, url or f"AWS ({parts[3]})"


def _stepfunctions(*, region: str, endpoint_url: str | None) -> Any:
    import boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs.update(endpoint_url=endpoint_url, aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client("stepfunctions", **kwargs)


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
