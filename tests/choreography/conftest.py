"""Choreography fixtures: the real cloud assembly (both onboarding sagas, one per style) deployed
into moto once for the package, and triggers for either style."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from functions.clients.models import TenantRecord
from sagakit.local import LocalRuntime
from sagakit.local.choreography import restyle
from sagakit.local.deploy import Assembly
from sagakit.local.runtime import sample_event

ORCHESTRATED = "OnboardClientSaga"
CHOREOGRAPHED = "OnboardClientChoreographySaga"
SERVICES = ("clients", "ai-workspace", "billing", "notifications")

_ids = itertools.count(1)


@pytest.fixture(scope="package")
def local(assembly: Assembly) -> Iterator[LocalRuntime]:
    """The stack deployed into moto, with fast retries."""
    with LocalRuntime(assembly=assembly, fast=True) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def _no_leftover_faults_or_holds(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "local" in request.fixturenames:
        runtime: LocalRuntime = request.getfixturevalue("local")
        runtime.router.clear_faults()
        runtime.events.held.clear()
        runtime.events.release()


def trigger(style: str = "choreography", **detail: Any) -> dict[str, Any]:
    """The sample onboarding for a fresh client, as the trigger of the saga of ``style``."""
    envelope = copy.deepcopy(sample_event())
    envelope["detail"]["clientId"] = f"chor-{next(_ids):04d}"
    envelope["detail"].update(detail)
    return envelope if style == "orchestration" else restyle(envelope, style)


def saga_id(envelope: dict[str, Any]) -> str:
    """The saga id the trigger's saga takes (``Saga.saga_id`` of either onboarding saga)."""
    client = envelope["detail"]["clientId"]
    return f"onboard-{client}" if envelope["detail-type"] == "ClientOnboarded" else f"choreo-onboard-{client}"


def record_tenant(local: LocalRuntime, envelope: dict[str, Any]) -> None:
    """What the clients service does before it publishes the trigger: store the tenant."""
    from boto3.dynamodb.types import TypeSerializer

    detail = envelope["detail"]
    record = TenantRecord(
        client_id=detail["clientId"],
        company_name=detail["companyName"],
        contact_email=detail["contactEmail"],
        plan=detail["plan"],
        onboarded_at=detail["onboardedAt"],
    ).model_dump(mode="json", by_alias=True)
    serialize = TypeSerializer().serialize
    local.client("dynamodb").put_item(
        TableName=local.deployed.tables["clients"], Item={key: serialize(value) for key, value in record.items()}
    )


def items_of(local: LocalRuntime, client_id: str) -> dict[str, list[dict[str, Any]]]:
    """What each service keeps for ``client_id``."""
    return {
        service: [item for item in local.table_items(service) if item["clientId"] == client_id] for service in SERVICES
    }
