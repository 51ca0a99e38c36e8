"""The choreographed part of ``saga demo``: the onboarding saga run as EventBridge rules, and what
one happy saga costs in each style."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from sagakit.local import LocalRuntime, SagaRun
    from sagakit.local.choreography import Cost

__all__ = ["cost_table", "demo_choreography"]


def cost_table(orchestrated: Cost, choreographed: Cost) -> Table:
    """What one happy saga cost in each style (the producer's own call left out: it is the same)."""
    table = Table(title="cost of one happy saga, counted offline", show_edge=False)
    table.add_column("")
    table.add_column("orchestration", justify="right")
    table.add_column("choreography", justify="right")
    for label, counts in (
        ("Step Functions state transitions", (orchestrated.transitions, choreographed.transitions)),
        ("EventBridge events (billed)", (orchestrated.custom_events, choreographed.custom_events)),
        ("AWS service events (free)", (orchestrated.service_events, choreographed.service_events)),
        ("Lambda invocations", (orchestrated.lambda_invocations, choreographed.lambda_invocations)),
        ("saga-instances writes", (orchestrated.instance_writes, choreographed.instance_writes)),
    ):
        table.add_row(label, *(str(count) for count in counts))
    return table


def demo_choreography(console: Console, runtime: LocalRuntime, envelope: dict[str, Any], orchestrated: Cost) -> SagaRun:
    """Run ``envelope``'s onboarding choreographed for another client, print its trace and the
    cost of both styles' happy paths; return the run."""
    from sagakit.local.choreography import counting, restyle
    from sagakit.trace import print_run

    choreographed = restyle(copy.deepcopy(envelope), "choreography")
    choreographed["detail"].update(clientId="initech-003", companyName="Initech")
    console.print(
        "\n3. The same saga, choreographed: ClientOnboardedChoreography for [bold]initech-003[/] goes on the bus"
        " (no producer, so no tenant record), and EventBridge rules carry it from step to step: no state machine."
    )
    with console.status("running the choreographed saga..."), counting(runtime) as cost:
        run = runtime.run(choreographed)
    cost.transitions = run.transitions
    print_run(console, run, runtime.all_table_items(), "OnboardClientChoreographySaga · happy path, choreographed")
    console.print(cost_table(orchestrated, cost))
    return run
