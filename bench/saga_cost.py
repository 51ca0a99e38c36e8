"""State transitions per saga, and what a million sagas cost at AWS list prices.

    .venv/bin/python -m bench.saga_cost [--assembly DIR] [--billed-ms 100]

Two onboarding runs through ``LocalRuntime(fast=True)``, each triggered as in production (the
clients service's ``OnboardClient`` records the tenant and publishes ``ClientOnboarded``):

* the happy path;
* a real declined card (``paymentMethod: pm_card_declined``): SetupBilling raises
  ``BillingDeclined`` (a clean refusal), then DeleteWorkspace and DeleteTenant run.

From each run it counts the billed units: state transitions from the execution history (one
per state entered, as Step Functions bills them), Lambda invocations (``local.router``), custom
events put on EventBridge (AWS service events, ``aws.*``, are free) and DynamoDB writes and reads
(moto's backend, wrapped for the run: every table, including the idempotency and saga-instances
tables). The invocations' offline durations are not Lambda durations: compute is priced at the
configured memory (``infra/config.py``) and an assumed billed duration per invocation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.assembly import cloud_assembly
from bench.report import Row, emit, parser, progress

__all__ = ["PRICES", "Usage", "cost_per_million", "measure", "rows"]

BENCH = "transitions, cost"
HAPPY = "happy path"
DECLINED = "declined at SetupBilling"

#: Public list prices, us-east-1, on-demand, free tiers ignored. Checked on 2026-11-29 against
#: stored copies of public pages (no live access from here): Step Functions on
#: aws.amazon.com/step-functions/pricing ($0.0250 per 1,000 transitions in us-east-1); Lambda arm64
#: ($0.20 per million requests, $0.0000133334 per GB-second, first tier), EventBridge custom events
#: ($1.00 per million) and DynamoDB on demand ($0.625 per million WRU, $0.125 per million RRU, the
#: prices since the halving of 2024-11-01) on pricing guides dated 2024-2026 that quote the AWS pages.
PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "as_of": "checked 2026-11-29 against stored copies of the pricing pages; verify before quoting",
    "stepfunctions_standard_per_transition": 0.025 / 1_000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "eventbridge_per_custom_event": 1.00 / 1_000_000,
    "dynamodb_on_demand_per_wru": 0.625 / 1_000_000,
    "dynamodb_on_demand_per_rru": 0.125 / 1_000_000,
}


@dataclass
class Usage:
    """The billed units of one saga run."""

    transitions: int = 0
    tasks: int = 0
    states: list[str] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    custom_events: Counter[str] = field(default_factory=Counter)
    service_events: int = 0
    writes: Counter[str] = field(default_factory=Counter)
    write_units: int = 0
    reads: Counter[str] = field(default_factory=Counter)
    read_units: int = 0
    largest_item_bytes: int = 0


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@contextmanager
def _counted(usage: Usage) -> Iterator[None]:
    """Count EventBridge entries and DynamoDB requests in moto's backends while the block runs."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.events.models import EventsBackend

    saved: list[tuple[type, str, Any]] = []

    def wrap(owner: type, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        saved.append((owner, name, original))
        setattr(owner, name, make(original))

    def put_events(original: Any) -> Any:
        def counted(backend: Any, entries: list[dict[str, Any]]) -> Any:
            for entry in entries:
                if str(entry.get("Source", "")).startswith("aws."):
                    usage.service_events += 1
                else:
                    usage.custom_events[str(entry.get("DetailType"))] += 1
            return original(backend, entries)

        return counted

    def write(original: Any) -> Any:
        def counted(backend: Any, *args: Any, **kwargs: Any) -> Any:
            usage.writes[str(kwargs.get("table_name", args[0] if args else "?"))] += 1
            # A write costs one WRU per started KiB of the item, at least one, and a failed
            # condition check costs one too (DynamoDB docs, "DynamoDB throughput capacity").
            try:
                item = original(backend, *args, **kwargs)
            except Exception:
                usage.write_units += 1
                raise
            size = int(item.size()) if item is not None and hasattr(item, "size") else 0
            usage.largest_item_bytes = max(usage.largest_item_bytes, size)
            usage.write_units += _units(size, 1024)
            return item

        return counted

    def read(original: Any) -> Any:
        def counted(backend: Any, *args: Any, **kwargs: Any) -> Any:
            usage.reads[str(kwargs.get("table_name", args[0] if args else "?"))] += 1
            usage.read_units += 1  # strongly consistent, items < 4 KiB: one RRU
            return original(backend, *args, **kwargs)

        return counted

    wrap(EventsBackend, "put_events", put_events)
    for name in ("put_item", "update_item", "delete_item"):
        wrap(DynamoDBBackend, name, write)
    wrap(DynamoDBBackend, "get_item", read)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def _run(local: Any, envelope: dict[str, Any]) -> tuple[Any, Usage]:
    usage = Usage()
    before = len(local.router.invocations)
    with _counted(usage):
        run = local.run(envelope)
    for invocation in local.router.invocations[before:]:
        usage.invocations[invocation.command] += 1
    usage.transitions = run.transitions
    usage.states = [state.name for state in run.states]
    usage.tasks = sum(1 for state in run.states if state.kind in ("step", "compensation"))
    return run, usage


def measure(assembly_dir: Path | None) -> dict[str, tuple[Any, Usage]]:
    """Run the two scenarios; return each one's run and usage."""
    from sagakit.local import LocalRuntime
    from sagakit.local.runtime import sample_event

    results: dict[str, tuple[Any, Usage]] = {}
    with cloud_assembly(assembly_dir) as assembly, LocalRuntime(assembly=assembly, fast=True) as local:
        progress("saga cost: happy path")
        happy = sample_event()
        happy["detail"]["clientId"] = "cost-happy-001"
        results[HAPPY] = _run(local, happy)
        progress("saga cost: SetupBilling declined")
        declined = sample_event()
        declined["detail"]["clientId"] = "cost-declined-002"
        declined["detail"]["paymentMethod"] = "pm_card_declined"
        results[DECLINED] = _run(local, declined)
    happy_run = results[HAPPY][0]
    if happy_run.status != "SUCCEEDED":
        raise RuntimeError(f"happy path ended {happy_run.status}: {happy_run.error}")
    declined_run = results[DECLINED][0]
    if declined_run.failed_step != "SetupBilling" or declined_run.compensations != ["DeleteWorkspace", "DeleteTenant"]:
        raise RuntimeError(
            f"declined run: failed at {declined_run.failed_step}, compensated {declined_run.compensations}"
        )
    return results


def cost_per_million(usage: Usage, *, memory_mb: int, billed_ms: float) -> dict[str, float]:
    """USD per million sagas with ``usage``, by service."""
    invocations = sum(usage.invocations.values())
    gb_seconds = invocations * (memory_mb / 1024) * (billed_ms / 1000)
    million = 1_000_000
    return {
        "Step Functions": usage.transitions * PRICES["stepfunctions_standard_per_transition"] * million,
        "Lambda": (invocations * PRICES["lambda_per_request"] + gb_seconds * PRICES["lambda_arm64_per_gb_second"])
        * million,
        "EventBridge": sum(usage.custom_events.values()) * PRICES["eventbridge_per_custom_event"] * million,
        "DynamoDB": (
            usage.write_units * PRICES["dynamodb_on_demand_per_wru"]
            + usage.read_units * PRICES["dynamodb_on_demand_per_rru"]
        )
        * million,
    }


def _roles(invocations: Counter[str], tasks: set[str]) -> str:
    groups = Counter[str]()
    for command, count in invocations.items():
        groups["saga tasks" if command in tasks else command] += count
    return " + ".join(f"{count} {name}" for name, count in sorted(groups.items(), key=lambda kv: -kv[1]))


def rows(results: dict[str, tuple[Any, Usage]], *, memory_mb: int, billed_ms: float) -> list[Row]:
    """Per scenario: transitions against the minimum, the billed units, USD per million sagas."""
    from statemachines import saga_named

    commands = {command.name for command in saga_named("OnboardClientSaga").commands()}
    found: list[Row] = []
    for scenario, (_, usage) in results.items():
        others = [name for name in usage.states if name not in commands]
        if scenario == HAPPY:
            found.append(
                Row(
                    BENCH,
                    f"{scenario}: state transitions",
                    f"{usage.transitions} (minimum {usage.tasks}: one per task)",
                    "= one per task",
                    usage.transitions == usage.tasks,
                )
            )
        else:
            found.append(
                Row(
                    BENCH,
                    f"{scenario}: state transitions",
                    f"{usage.transitions} = {usage.tasks} tasks + {usage.transitions - usage.tasks} "
                    f"({', '.join(others) or 'none'}: the Fail state that ends it FAILED)",
                )
            )
        invocations = sum(usage.invocations.values())
        found.append(
            Row(BENCH, f"{scenario}: Lambda invocations", f"{invocations} = {_roles(usage.invocations, commands)}")
        )
        found.append(
            Row(
                BENCH,
                f"{scenario}: EventBridge events",
                f"{sum(usage.custom_events.values())} custom ({usage.service_events} aws.states status changes, free)",
            )
        )
        found.append(
            Row(
                BENCH,
                f"{scenario}: DynamoDB requests",
                f"{sum(usage.writes.values())} writes = {usage.write_units} WRU, "
                f"{sum(usage.reads.values())} reads = {usage.read_units} RRU",
            )
        )
        costs = cost_per_million(usage, memory_mb=memory_mb, billed_ms=billed_ms)
        parts = " + ".join(f"{name} {value:.2f}" for name, value in costs.items())
        found.append(Row(BENCH, f"{scenario}: USD per million sagas", f"{sum(costs.values()):.2f} = {parts}"))
    return found


def main() -> None:
    """Measure and print (or ``--json``) the rows."""
    from infra.config import stage_config

    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--assembly", type=Path, help="a cloud assembly folder to reuse (synthesized if empty)")
    arguments.add_argument(
        "--billed-ms", type=float, default=100.0, help="assumed billed Lambda duration per invocation (ms)"
    )
    args = arguments.parse_args()
    results = measure(args.assembly)
    memory_mb = stage_config("dev").memory_mb
    for scenario, (_, usage) in results.items():
        progress(
            f"{scenario}: states {usage.states}; invocations {dict(usage.invocations)}; "
            f"events {dict(usage.custom_events)}; writes {dict(usage.writes)}; reads {dict(usage.reads)}; "
            f"largest item written {usage.largest_item_bytes} B"
        )
    emit(
        rows(results, memory_mb=memory_mb, billed_ms=args.billed_ms),
        json_path=args.json,
        command=f"python -m bench.saga_cost (memory {memory_mb} MB, {args.billed_ms:.0f} ms billed per invocation)",
    )


if __name__ == "__main__":
    main()
