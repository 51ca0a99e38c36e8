"""Services: one DynamoDB table each, and one Lambda function per command handler.

A service is found from the sagas that name it; ``SERVICE_EXTRAS`` adds what a saga definition
cannot say (handlers outside any saga, which commands publish events, settings).

Every function has a role of its own that starts empty: it may write to its own log group,
and the stack grants the rest where the pieces meet (its table, the bus, a state machine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag
from infra.assets import service_code
from infra.config import StageConfig
from sagakit.definition import Command, service_package

__all__ = [
    "LIVE_ALIAS",
    "SERVICE_EXTRAS",
    "TABLE_ACTIONS",
    "LambdaSettings",
    "ServiceExtras",
    "ServiceResources",
    "pascal",
]

PARTITION_KEY = "clientId"
#: Everything ``functions.shared.dal.SagaRecords`` does to a service's table: ``claim``
#: (PutItem, conditional), ``release`` (DeleteItem, conditional) and ``get`` (GetItem).
#: tests/infra/test_least_privilege.py reads the dal's boto3 calls and fails if they differ.
TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem")
#: The alias sagas invoke when the stage turns SnapStart on (``StageConfig.snap_start``).
LIVE_ALIAS = "live"


def saga_table(
    scope: Construct, construct_id: str, *, config: StageConfig, name: str, key: str, ttl: str | None = None
) -> dynamodb.Table:
    """A table of the stack, ``<prefix>-<name>``, keyed by the string ``key``: on demand,
    encrypted, with point-in-time recovery, retained where the stage keeps its data, and with
    ``ttl`` as its time-to-live attribute if given."""
    return dynamodb.Table(
        scope,
        construct_id,
        table_name=f"{config.prefix}-{name}",
        partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
        time_to_live_attribute=ttl,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
    )


@dataclass(frozen=True)
class ServiceExtras:
    """What the stack needs to know about a service beyond the sagas that use it."""

    commands: tuple[Command, ...] = ()
    publishers: frozenset[str] = frozenset()
    """Commands that put events on the bus: only they get ``EVENT_BUS_NAME`` and ``events:PutEvents``."""
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def publishes_events(self) -> bool:
        """Whether any of the service's commands publishes events."""
        return bool(self.publishers)


SERVICE_EXTRAS: dict[str, ServiceExtras] = {
    # The producer of ClientOnboarded: records the tenant, then publishes the event.
    "clients": ServiceExtras(
        commands=(Command("OnboardClient", service="clients"),), publishers=frozenset({"OnboardClient"})
    ),
}


def pascal(service: str) -> str:
    """``ai-workspace`` -> ``AiWorkspace`` (stable construct ids)."""
    return "".join(part.capitalize() for part in service.split("-"))


@dataclass(frozen=True)
class LambdaSettings:
    """Function settings shared by every handler of the stack (one instance per stack)."""

    config: StageConfig
    layer: lambda_.ILayerVersion
    runtime: lambda_.Runtime
    _codes: dict[tuple[str, ...], lambda_.Code] = field(default_factory=dict, compare=False, repr=False)

    def code(self, packages: Sequence[str]) -> lambda_.Code:
        """The stack's one ``Code`` holding ``packages`` (``infra.assets.service_code``).

        Shared by every function of the stack that runs the same packages (each saga's starter,
        the lifecycle function): the asset is bundled and staged once, not once per saga. The
        template is the same either way (the asset hash comes from the bundled output).
        A ``Code`` may only be used in the stack it was first bound in, hence one cache per
        ``LambdaSettings``, which is per stack.
        """
        key = tuple(packages)
        if key not in self._codes:
            self._codes[key] = service_code(list(key))
        return self._codes[key]

    # The same values for every function, made once: each is a jsii round trip to Node.
    @cached_property
    def _assumed_by(self) -> iam.IPrincipal:
        return iam.ServicePrincipal("lambda.amazonaws.com")

    @cached_property
    def _architecture(self) -> lambda_.Architecture:
        return lambda_.Architecture.ARM_64

    @cached_property
    def _timeout(self) -> Duration:
        return Duration.seconds(30)

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        handler: str,
        code: lambda_.Code,
        environment: Mapping[str, str],
        service: str,
        description: str,
        findings: Iterable[nag.Finding] = (),
        snap_start: bool = False,
    ) -> lambda_.Function:
        """A function with the stack's defaults: arm64, X-Ray active, JSON logs with retention,
        and a role of its own that may only write to its log group (and send traces). With
        ``snap_start``, Lambda SnapStart on its published versions.

        ``findings`` are the cdk-nag findings the caller acknowledges on the function; they are
        acknowledged with the runtime's in one call (each call is a jsii round trip to Node).
        """
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=retention(self.config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if self.config.retain_data else RemovalPolicy.DESTROY,
        )
        # Not the AWSLambdaBasicExecutionRole managed policy: it allows writing to every log
        # group in the account (logs:CreateLogGroup and PutLogEvents on *).
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=self._assumed_by,
            description=f"{self.config.prefix}-{name}: its own log group, then what the stack grants",
        )
        log_group.grant_write(role)
        nag.acknowledge(role, nag.XRAY_TRACES)
        function = lambda_.Function(
            scope,
            construct_id,
            function_name=f"{self.config.prefix}-{name}",
            description=description,
            role=role,
            runtime=self.runtime,
            architecture=self._architecture,
            handler=handler,
            code=code,
            layers=[self.layer],
            memory_size=self.config.memory_mb,
            timeout=self._timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=self.config.reserved_concurrency,
            # Applies to published versions only: ServiceResources.invoked is the alias to call.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": "Sagas",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "SAGAKIT_STAGE": self.config.stage,
                **environment,
            },
        )
        nag.acknowledge(function, *nag.previous_runtime(self.config.runtime), *findings)
        return function


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch retention that keeps logs at least ``days`` days."""
    for limit in sorted(_RETENTION):
        if limit >= days:
            return _RETENTION[limit]
    return logs.RetentionDays.TEN_YEARS


class ServiceResources(Construct):
    """One service: its table and a function per command it handles.

    Attributes
    ----------
    table:
        The service's own table (partition key ``clientId``), encrypted, with PITR.
    functions:
        Function per command name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        commands: Iterable[Command],
        settings: LambdaSettings,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        config = settings.config
        self.service = service
        self.table = saga_table(self, "Table", config=config, name=service, key=PARTITION_KEY)
        code = settings.code([f"functions/{service_package(service)}", "functions/shared", "events", "sagakit/runtime"])
        # Read once: every read of a construct's attribute is a jsii round trip.
        table_name = self.table.table_name
        self.functions: dict[str, lambda_.Function] = {}
        for command in commands:
            self.functions[command.name] = settings.function(
                self,
                command.name,
                name=command.name,
                handler=command.handler,
                code=code,
                service=service,
                description=f"{service}: {command.name}",
                environment={"TABLE_NAME": table_name, **environment},
                findings=[nag.SYNCHRONOUS_INVOCATION],
                snap_start=settings.config.snap_start,
            )
        #: What a saga invokes, per command: the function, or with SnapStart its alias ``live``
        #: on the current version (SnapStart restores published versions only, never $LATEST).
        self.invoked: dict[str, lambda_.IFunction] = {
            name: function.add_alias(LIVE_ALIAS) if settings.config.snap_start else function
            for name, function in self.functions.items()
        }
