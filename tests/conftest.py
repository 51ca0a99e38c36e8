"""Fixtures shared by every test: fake AWS credentials, a Lambda context, and the services'
tables (plus an event bus) in moto, built from the same key schema as the CDK stack."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from events import load_sample
from functions.ai_workspace import dal as ai_workspace_dal
from functions.billing import dal as billing_dal
from functions.clients import dal as clients_dal
from functions.notifications import dal as notifications_dal

if TYPE_CHECKING:
    from sagakit.local.deploy import Assembly

# Set at import, before any test creates a client: every call must reach moto, never an
# account, whatever the developer's shell holds.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Sagas",
    }
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

#: Each service's table key, imported from its dal as the CDK stack does.
PARTITION_KEYS: dict[str, str] = {
    "clients": clients_dal.PARTITION_KEY,
    "ai-workspace": ai_workspace_dal.PARTITION_KEY,
    "billing": billing_dal.PARTITION_KEY,
    "notifications": notifications_dal.PARTITION_KEY,
}
SENDER_ADDRESS = "welcome@aic.example"
EVENT_BUS_NAME = "sagakit-test"
SAGA_ID = "onboard-acme-001"

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "sagakit-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:sagakit-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        """Plenty of time left."""
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context for calling handlers directly."""
    return FakeLambdaContext()


@dataclass
class ServiceTables:
    """The services' tables and event bus in moto, and the environment of each service.

    Every handler reads ``TABLE_NAME``, so ``invoke`` first sets the environment of the
    handler's service, as its Lambda function's configuration would.
    """

    monkeypatch: pytest.MonkeyPatch
    context: FakeLambdaContext
    queue_url: str

    @staticmethod
    def table_name(service: str) -> str:
        """The test table of ``service``."""
        return f"{service}-test"

    def use(self, service: str) -> None:
        """Set the environment of ``service``'s handlers."""
        self.monkeypatch.setenv("TABLE_NAME", self.table_name(service))
        self.monkeypatch.setenv("SENDER_ADDRESS", SENDER_ADDRESS)
        self.monkeypatch.setenv("EVENT_BUS_NAME", EVENT_BUS_NAME)

    def invoke(self, service: str, handler: LambdaHandler, event: dict[str, Any]) -> dict[str, Any]:
        """Call ``handler`` as ``service``'s Lambda function would run it."""
        self.use(service)
        return handler(event, self.context)

    def items(self, service: str) -> list[dict[str, Any]]:
        """Every item in ``service``'s table, as plain Python values."""
        client = boto3.client("dynamodb")
        items = client.scan(TableName=self.table_name(service), ConsistentRead=True)["Items"]
        deserializer = TypeDeserializer()
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in items]

    def put_item(self, service: str, item: dict[str, str]) -> None:
        """Store ``item`` directly, as another saga would have."""
        boto3.client("dynamodb").put_item(
            TableName=self.table_name(service), Item={k: {"S": v} for k, v in item.items()}
        )

    def published(self) -> list[dict[str, Any]]:
        """The events delivered from the bus so far (whole EventBridge envelopes)."""
        sqs = boto3.client("sqs")
        events: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return events
            for message in batch:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def service_tables(monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext) -> Iterator[ServiceTables]:
    """The four service tables and an event bus whose every event lands in an SQS queue."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for service, key in PARTITION_KEYS.items():
            dynamodb.create_table(
                TableName=ServiceTables.table_name(service),
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        # moto's EventBridge delivers rule matches to SQS (not to Lambda), which is enough to
        # see exactly what was published.
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="published-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.create_event_bus(Name=EVENT_BUS_NAME)
        events.put_rule(
            Name="everything",
            EventBusName=EVENT_BUS_NAME,
            EventPattern=json.dumps({"account": ["123456789012"]}),
        )
        events.put_targets(Rule="everything", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield ServiceTables(monkeypatch=monkeypatch, context=lambda_context, queue_url=queue_url)


@pytest.fixture
def onboarded_detail() -> dict[str, Any]:
    """The ``ClientOnboarded`` detail of the sample (client ``acme-001``), camelCase."""
    return dict(load_sample("ClientOnboarded").detail)


CommandFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def saga_command(onboarded_detail: dict[str, Any]) -> CommandFactory:
    """Build a step's input as the state machine sends it.

    ``saga_command("SetupBilling", results={...}, paymentMethod="pm_card_declined")``: keyword
    arguments in camelCase override fields of the sample detail.
    """

    def build(
        step: str,
        *,
        saga_id: str = SAGA_ID,
        results: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
        **detail: Any,
    ) -> dict[str, Any]:
        return {
            "sagaId": saga_id,
            "sagaName": "OnboardClientSaga",
            "step": step,
            "detail": {**onboarded_detail, **detail},
            "results": results or {},
            "error": error,
        }

    return build


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The real cloud assembly (what `cdk synth` writes), synthesized once for the session and
    deployed by every package's ``local`` fixture."""
    from sagakit.local.deploy import synthesize

    return synthesize("dev", Path(tmp_path_factory.mktemp("cdk.out")))
