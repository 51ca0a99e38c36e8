"""cdk-nag: the AwsSolutions and Serverless rule packs, and every finding the stack acknowledges.

cdk-nag 3 is a policy-validation plugin, not an Aspect: ``add_rule_packs(app)`` registers the
packs, and ``app.synth()`` (so ``cdk synth`` and ``cdk deploy``) fails on any finding that is not
acknowledged. A finding is acknowledged on the construct it is about, never on the stack, with
one of the reasons below. ``python -m infra.nag`` prints the README's "cdk-nag
acknowledgments" table, and a test fails when the README's copy is not current.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Validations

if TYPE_CHECKING:
    from aws_cdk import IPolicyValidationPlugin
    from aws_cdk.aws_lambda import IFunction
    from constructs import IConstruct

__all__ = [
    "ASYNC_FAILURES_TO_DESTINATION",
    "DLQ_HAS_NO_DLQ",
    "NOT_A_REDRIVE_DLQ",
    "PREVIOUS_RUNTIME",
    "STATE_MACHINE_DELIVERY_AND_TRACES",
    "SYNCHRONOUS_INVOCATION",
    "XRAY_TRACES",
    "Acknowledged",
    "Finding",
    "acknowledge",
    "acknowledged",
    "add_rule_packs",
    "invoke_qualified",
    "markdown_table",
    "newest_python_runtime",
    "previous_runtime",
    "rule_packs",
]


@dataclass(frozen=True)
class Finding:
    """One kind of acknowledged finding: the rule id cdk-nag reports, and why it stands."""

    rule: str
    reason: str

    def about(self, detail: str) -> Finding:
        """The same reason for a finding with a detail, ``AwsSolutions-IAM5[<detail>]``."""
        return Finding(f"{self.rule}[{detail}]", self.reason)


# Reasons are README table cells too: no "|", and code in backticks.
XRAY_TRACES = Finding(
    "AwsSolutions-IAM5[Resource::*]",
    "X-Ray active tracing: `xray:PutTraceSegments` and `xray:PutTelemetryRecords` support no "
    "resource-level permissions, so AWS requires `Resource: *` (Service Authorization Reference, "
    '"Actions, resources, and condition keys for AWS X-Ray"). '
    "Nothing else in the policy may use `*`: tests/infra/test_least_privilege.py enforces it.",
)
STATE_MACHINE_DELIVERY_AND_TRACES = Finding(
    "AwsSolutions-IAM5[Resource::*]",
    "X-Ray (`PutTraceSegments`, `PutTelemetryRecords`, `GetSamplingRules`, `GetSamplingTargets`) and "
    "CloudWatch Logs delivery (`logs:CreateLogDelivery` and the other log-delivery actions, "
    "`PutResourcePolicy`, `DescribeResourcePolicies`, `DescribeLogGroups`) support no resource-level "
    "permissions (Service Authorization Reference, for X-Ray and for CloudWatch Logs). "
    "tests/infra/test_least_privilege.py allows `*` for exactly these actions.",
)
QUALIFIED_INVOKE = Finding(
    "AwsSolutions-IAM5",
    "CDK's `LambdaInvoke` grants `lambda:InvokeFunction` on the function and on `<function ARN>:*`, "
    "its versions and aliases: still only this saga's own functions.",
)
PREVIOUS_RUNTIME = Finding(
    "AwsSolutions-L1",
    "The runtime is a config field (`infra/config.py`): `python3.13` with the public Powertools "
    "layer `AWSLambdaPowertoolsPythonV3-python313-arm64` until the 3.14 layer is confirmed in the "
    "target region. The acknowledgment is only made while the runtime is not the newest CDK knows.",
)
SYNCHRONOUS_INVOCATION = Finding(
    "Serverless-LambdaDLQ",
    "Invoked synchronously by a Step Functions `LambdaInvoke` task (or a direct `Invoke` of the "
    "producer), where failures return to the saga's Retry and Catch; where a choreography rule "
    "invokes the same function asynchronously, the rule target has its own SQS dead-letter queue "
    "(with an alarm) and the function an on-failure destination. A function DLQ would add nothing.",
)
ASYNC_FAILURES_TO_DESTINATION = Finding(
    "Serverless-LambdaDLQ",
    "Invoked asynchronously by EventBridge (a saga's starter, the lifecycle function); its failed "
    "invocations go to an SQS queue (the saga's, or the lifecycle's) through an on-failure "
    "destination (`AWS::Lambda::EventInvokeConfig`), which "
    "AWS recommends over a function DLQ and which keeps the request and the error. The rule reads "
    "only `DeadLetterConfig`.",
)
NOT_A_REDRIVE_DLQ = Finding(
    "AwsSolutions-SQS3",
    "This queue is the dead-letter queue: of the EventBridge rule target (`DeadLetterConfig`), of "
    "the starter's on-failure destination, and of rejected trigger events. The rule only "
    "recognises DLQs named in another queue's `RedrivePolicy`.",
)
DLQ_HAS_NO_DLQ = Finding(
    "Serverless-SQSRedrivePolicy",
    "A dead-letter queue has no dead-letter queue of its own: nothing consumes it automatically, "
    "so no message can fail processing and need redriving.",
)


def rule_packs() -> list[IPolicyValidationPlugin]:
    """The rule packs every synthesis runs: AwsSolutions and Serverless."""
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    return [AwsSolutionsChecks(), ServerlessChecks()]


def add_rule_packs(app: IConstruct) -> None:
    """Run the rule packs at synthesis: an unacknowledged finding fails ``app.synth()``."""
    Validations.of(app).add_plugins(*rule_packs())


def acknowledge(construct: IConstruct, *findings: Finding) -> None:
    """Acknowledge ``findings`` on ``construct`` (and what it contains) with their reasons."""
    if not findings:
        return
    Validations.of(construct).acknowledge(*(Acknowledgment(id=f.rule, reason=f.reason) for f in findings))


def invoke_qualified(function: IFunction) -> Finding:
    """``AwsSolutions-IAM5[Resource::<Logical.Arn>:*]``: invoking ``function``'s versions. Only a
    ``Function`` is granted ``<arn>:*``; an alias (SnapStart's ``live``) is granted its own ARN
    alone, so there is nothing to acknowledge for one."""
    # The ARN of a function of this stack resolves to {"Fn::GetAtt": [<logical id>, "Arn"]}, which
    # is what cdk-nag spells <Logical.Arn>: three jsii round trips, where walking the construct
    # tree to the logical id took five (per function of every saga).
    arn = function.stack.resolve(function.function_arn)
    match arn:
        case {"Fn::GetAtt": [str(logical), "Arn"]}:
            return QUALIFIED_INVOKE.about(f"Resource::<{logical}.Arn>:*")
    raise ValueError(f"{function.node.path}: not a function of this stack (its ARN resolves to {arn!r})")


def previous_runtime(runtime: str) -> tuple[Finding, ...]:
    """The runtime findings (AwsSolutions-L1, Serverless-LambdaLatestVersion) for ``runtime``,
    or none when it is the newest Python runtime CDK knows (what both rules compare with)."""
    if runtime == newest_python_runtime():
        return ()
    return (PREVIOUS_RUNTIME, Finding("Serverless-LambdaLatestVersion", PREVIOUS_RUNTIME.reason))


@functools.cache
def newest_python_runtime() -> str:
    """The newest ``pythonX.Y`` in ``aws_lambda.Runtime.ALL``.

    Cached: ``Runtime.ALL`` is fixed for the process, and reading each runtime's name is a jsii
    round trip to Node (about 100 runtimes). Uncached, this was a third of the stack's build time,
    asked once per function.
    """
    from aws_cdk import aws_lambda as lambda_

    names = [runtime.name for runtime in lambda_.Runtime.ALL]
    versions = [
        tuple(int(part) for part in name.removeprefix("python").split("."))
        for name in names
        if name.startswith("python")
    ]
    major, minor = max(versions)
    return f"python{major}.{minor}"


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledgment found in a construct tree: where, which finding, why."""

    path: str
    """Path of the construct it was made on (it covers that construct and its children)."""
    kind: str
    """CloudFormation type of that construct (``AWS::IAM::Role``)."""
    rule: str
    reason: str


def acknowledged(scope: IConstruct) -> list[Acknowledged]:
    """Every acknowledgment made in ``scope``'s tree, read back from construct metadata."""
    found: list[Acknowledged] = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                continue
            child = construct.node.default_child
            kind = child.cfn_resource_type if isinstance(child, CfnResource) else type(construct).__name__
            # An id without a known plugin prefix is stored as "Annotation::<id>"; cdk-nag
            # strips that prefix when it matches a finding.
            for key, reason in dict(entry.data).items():
                rule = re.sub(r"^annotation::", "", key, flags=re.IGNORECASE)
                found.append(Acknowledged(construct.node.path, kind, rule, reason))
    return found


def markdown_table(acknowledgments: list[Acknowledged]) -> str:
    """The README table: one row per finding and reason, with how many constructs it covers.

    Findings about one function's ARN (``Resource::<AiWorkspaceCreateWorkspaceBC7740EB.Arn>:*``)
    are counted together as ``Resource::<Function.Arn>:*``.
    """
    rows = Counter(
        (re.sub(r"<[A-Za-z0-9]+\.Arn>", "<Function.Arn>", a.rule), a.kind, a.reason) for a in acknowledgments
    )
    lines = ["| Finding | Count | Acknowledged on | Reason |", "|---|---|---|---|"]
    for (rule, kind, reason), count in sorted(rows.items()):
        lines.append(f"| `{rule}` | {count} | `{kind}` | {reason} |")
    return "\n".join(lines) + "\n"


def write_readme(readme: Path, table: str, count: int) -> bool:
    """Replace the table and the count in ``readme``'s "cdk-nag acknowledgments" section; True if
    it changed."""
    text = readme.read_text(encoding="utf-8")
    head, marker, rest = text.partition("### cdk-nag acknowledgments")
    if not marker:
        raise ValueError(f"{readme}: no '### cdk-nag acknowledgments' section")
    section, next_heading, tail = rest.partition("\n## ")
    lines = section.splitlines(keepends=True)
    rows = [index for index, line in enumerate(lines) if line.startswith("|")]
    if not rows:
        raise ValueError(f"{readme}: the cdk-nag acknowledgments section has no table")
    lines[rows[0] : rows[-1] + 1] = [table]
    section = re.sub(r"\b\d+ acknowledged findings\b", f"{count} acknowledged findings", "".join(lines))
    updated = head + marker + section + next_heading + tail
    if updated == text:
        return False
    readme.write_text(updated, encoding="utf-8")
    return True


def main(argv: list[str]) -> None:
    """``python -m infra.nag [stage] [--readme]``: print (or write into README.md) the
    acknowledgments table of ``stage``."""
    import argparse
    import tempfile

    from infra.app import build_app

    parser = argparse.ArgumentParser(
        prog="python -m infra.nag", description="The cdk-nag findings acknowledged at synthesis, as a table."
    )
    parser.add_argument("stage", nargs="?", default="dev", help="dev or prod (default: dev)")
    parser.add_argument("--readme", action="store_true", help="write the table and the count into README.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as outdir:
        _, stack = build_app(args.stage, outdir=outdir)
        found = acknowledged(stack)
    table = markdown_table(found)
    if args.readme:
        readme = Path(__file__).resolve().parent.parent / "README.md"
        changed = write_readme(readme, table, len(found))
        print(f"{readme.name}: {len(found)} acknowledged findings ({'updated' if changed else 'already current'})")
        return
    print(table, end="")
    print(f"\n{len(found)} acknowledged findings.")


if __name__ == "__main__":
    main(sys.argv[1:])
