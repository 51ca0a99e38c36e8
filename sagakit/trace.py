"""Readable traces of saga runs, for the terminal (rich)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sagakit.local.runtime import SagaRun, StateRecord

__all__ = ["render_run", "render_tables"]

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
