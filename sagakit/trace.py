"""Readable traces of saga runs, for the terminal (rich): a table of states, a timeline, and
``read_run`` to read a run back from Step Functions (AWS, or ``saga local serve``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sagakit.local.runtime import SagaRun, StateRecord, run_from

__all__ = ["read_run", "render_run", "render_tables", "render_timeline"]

_OUTCOME_STYLE = {
    "COMPLETED": "bold green",
    "FAILED": "bold yellow",
    "COMPENSATION_FAILED": "bold red",
    "TIMED_OUT": "bold red",
    "RUNNING": "bold blue",
}


def _result(state: StateRecord) -> Text:
    if state.kind == "fail":
        return Text("saga failed", style="yellow")
    if state.status == "succeeded":
        label = "undone" if state.kind == "compensation" else "ok"
        return Text(label, style="green")
    if state.status == "caught":
        return Text(f"{state.error} -> compensate", style="yellow")
    return Text(f"{state.error}", style="red")


def _summary(state: StateRecord) -> str:
    output = state.output
    if not isinstance(output, dict) or state.status != "succeeded":
        return ""
    if state.kind == "step":
        results = output.get("results", {})
        events = [name for name, value in results.items() if value]
        return events[-1] if events else ""
    if state.kind == "compensation":
        done = output.get("compensations", {}).get(state.name, {})
        flags = {k: v for k, v in done.items() if isinstance(v, bool)}
        return ", ".join(f"{k}={v}" for k, v in flags.items())
    return ""


def render_run(run: SagaRun, *, title: str = "") -> Panel:
    """One panel: the states in order, then the outcome."""
    table = Table(show_edge=False, expand=False, pad_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("state")
    table.add_column("kind", style="dim")
    table.add_column("result")
    table.add_column("tries", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("event / effect", style="cyan")
    for index, state in enumerate(run.states, start=1):
        name_style = "magenta" if state.kind == "compensation" else ""
        table.add_row(
            str(index),
            Text(state.name, style=name_style),
            state.kind,
            _result(state),
            str(state.attempts or ""),
            f"{state.duration_ms:.0f}",
            _summary(state),
        )
    outcome = run.outcome
    lines = [Text.assemble(("outcome ", "bold"), (outcome, _OUTCOME_STYLE.get(outcome, "bold")))]
    lines.append(Text(f"saga id {run.saga_id}  ·  status {run.status}  ·  transitions {run.transitions}"))
    if run.failed_step:
        lines.append(Text(f"failed at {run.failed_step}: {run.error or ''}", style="yellow"))
    if run.compensations:
        lines.append(Text("compensated: " + " -> ".join(run.compensations), style="magenta"))
    return Panel(Group(table, Text(""), *lines), title=title or run.saga_name, expand=False)


def read_run(client: Any, execution_arn: str) -> SagaRun:
    """Read one execution back through the Step Functions API: ``DescribeExecution`` and every
    page of ``GetExecutionHistory``.

    ``client`` is a boto3 ``stepfunctions`` client (for AWS or a local endpoint); its errors
    (``ExecutionDoesNotExist``, ``InvalidArn``, connection errors) propagate.

    Examples
    --------
    >>> client = boto3.client("stepfunctions", region_name="eu-west-1")  # doctest: +SKIP
    >>> read_run(client, arn).compensations  # doctest: +SKIP
    ['DeleteWorkspace', 'DeleteTenant']
    """
    described = client.describe_execution(executionArn=execution_arn)
    pages = client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    history = [event for page in pages for event in page["events"]]
    machine = described.get("stateMachineArn", "").rsplit(":", 1)[-1]
    return run_from(described, history, execution_arn, unnamed=machine)


_BAR_STYLE = {"step": "green", "compensation": "magenta", "fail": "red"}


def _bar_style(state: StateRecord) -> str:
    if state.status == "caught":
        return "yellow"
    if state.status == "failed":
        return "red"
    if state.status == "running":
        return "blue"
    return _BAR_STYLE.get(state.kind, "green")


def _offsets_ms(run: SagaRun) -> list[float]:
    """When each state was entered, in ms after the execution started.

    ``states_from_history`` makes one record per ``*StateEntered`` event, in history order, so
    the n-th such event is the n-th state's start.
    """
    entered: list[datetime] = [e["timestamp"] for e in run.history if e["type"].endswith("StateEntered")]
    if not run.history or len(entered) != len(run.states):
        offsets, elapsed = [], 0.0  # not from a history: lay the states end to end
        for state in run.states:
            offsets.append(elapsed)
            elapsed += state.duration_ms
        return offsets
    start: datetime = run.history[0]["timestamp"]
    return [(stamp - start).total_seconds() * 1000 for stamp in entered]


def render_timeline(run: SagaRun, *, width: int = 60) -> Panel:
    """A bar per state, placed at the time it was entered and as long as it took.

    The scale is the whole run: ``width`` characters span the time from the start of the
    execution to the end of its last state. A task's bar includes its retries and their back-off.
    """
    offsets = _offsets_ms(run)
    total = max((offset + state.duration_ms for offset, state in zip(offsets, run.states, strict=True)), default=0.0)
    scale = width / total if total > 0 else 0.0
    table = Table(show_edge=False, expand=False, pad_edge=False, box=None)
    table.add_column("state")
    table.add_column("start", justify="right", style="dim")
    table.add_column("ms", justify="right")
    table.add_column(f"0 … {total:.0f} ms", no_wrap=True)
    for offset, state in zip(offsets, run.states, strict=True):
        lead = min(int(offset * scale), width - 1)
        length = max(1, min(round(state.duration_ms * scale), width - lead))
        bar = Text(" " * lead) + Text("█" * length, style=_bar_style(state))
        name_style = "magenta" if state.kind == "compensation" else ""
        table.add_row(Text(state.name, style=name_style), f"+{offset:.0f}", f"{state.duration_ms:.0f}", bar)
    legend = Text.assemble(
        ("█ ", "green"),
        "step  ",
        ("█ ", "yellow"),
        "failed, then compensated  ",
        ("█ ", "magenta"),
        "compensation  ",
        ("█ ", "red"),
        "failed",
    )
    return Panel(Group(table, Text(""), legend), title=f"timeline · {run.saga_id}", expand=False)


def render_tables(items: Mapping[str, list[dict[str, Any]]], *, client_id: str | None = None) -> Table:
    """The items left in each service's table (for ``client_id``, if given)."""
    table = Table(title="items left in each service's table", show_edge=False)
    table.add_column("service")
    table.add_column("items", justify="right")
    table.add_column("content", style="dim")
    for service, rows in items.items():
        if client_id is not None:
            rows = [row for row in rows if row.get("clientId") == client_id]
        shown = "; ".join(json.dumps({k: v for k, v in row.items() if k != "clientId"})[:90] for row in rows)
        table.add_row(service, str(len(rows)), shown or "(empty)")
    return table


def print_run(console: Console, run: SagaRun, items: Mapping[str, list[dict[str, Any]]], title: str) -> None:
    """Print a run and the table contents of its client."""
    console.print(render_run(run, title=title))
    client_id = run.input.get("input", {}).get("clientId")
    console.print(render_tables(items, client_id=client_id))
