"""Deploy a synthesized cloud assembly (``cdk.out``) into moto.

This is the offline equivalent of ``cdk deploy``: the same template and the same asset folders.

1. The template's bootstrap check (``BootstrapVersion`` parameter and ``CheckBootstrapVersion``
   rule) is removed: there is no bootstrap stack offline.
2. Each file asset is zipped into the bootstrap bucket under its object key, where the
   template's ``AWS::Lambda::Function`` resources look for it; ``LambdaRouter`` maps the key
   back to the asset folder.
3. moto's CloudFormation creates the stack: roles, policies, tables, queues, functions, bus,
   rules, log groups.
4. moto's CloudFormation does not register state machines with the backend that executes ASL,
   so each ``AWS::StepFunctions::StateMachine`` is created again there, with its
   ``DefinitionString`` resolved against the stack's physical resources.
5. moto's CloudFormation cannot create ``AWS::StepFunctions::StateMachineVersion`` or
   ``StateMachineAlias``: they are left out of the template, every reference to an alias
   becomes its ARN (``<state machine ARN>:<name>``), and the version and alias are made through
   the Step Functions backend's own API (``publish=True``, ``create_state_machine_alias``).
   moto 5.2.5 resolves a version ARN in ``StartExecution`` but not an alias ARN, so the
   backend's ``start_execution`` is told to run an alias's executions on its state machine
   (the published version is that machine's current definition); they are listed under it,
   as the offline runtime and ``saga local serve`` users look for them.
6. With SnapStart on (``StageConfig.snap_start``), every step function has a published version
   and an ``AWS::Lambda::Alias`` ``live``, which moto's CloudFormation cannot create either: it
   is left out, every ``Ref`` to it becomes ``<function ARN>:live``, and the alias is made
   through the Lambda API on the version moto published, then the invoke permissions and the
   asynchronous-invocation configurations on it, which need the alias to exist. (moto runs no
   snapshots: offline, a SnapStart stack runs as one without, through the same aliases.)
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Assembly", "Deployment", "deploy", "load_assembly", "synthesize"]

BOOTSTRAP_QUALIFIER = "hnb659fds"


@dataclass(frozen=True)
class Assembly:
    """One stack of a cloud assembly: its template and its file assets."""

    directory: Path
    stack_name: str
    template: dict[str, Any]
    assets: dict[str, Path]
    """Asset folder per S3 object key (``<hash>.zip``)."""


@dataclass
class Deployment:
    """What ``deploy`` created, by logical id and by role."""

    stack_name: str
    stack_id: str
    physical: dict[str, str]
    state_machines: dict[str, str] = field(default_factory=dict)
    """State machine ARN per saga name."""
    tables: dict[str, str] = field(default_factory=dict)
    """Table name per service."""
    functions: dict[str, str] = field(default_factory=dict)
    """Function name per command."""
    queues: dict[str, str] = field(default_factory=dict)
    """Queue URL per queue name."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Alias ARN (what the starter starts executions on) per saga name."""
    bus_name: str = ""


def synthesize(stage: str = "dev", outdir: Path | None = None) -> Assembly:
    """Run the CDK app in-process (the same ``build_app`` as ``cdk synth``) and load its stack."""
    from infra.app import build_app

    directory = Path(outdir) if outdir else Path("cdk.out")
    app, stack = build_app(stage, outdir=str(directory))
    app.synth()
    return load_assembly(directory, stack.stack_name)


def load_assembly(directory: Path, stack_name: str) -> Assembly:
    """Read ``<stack>.template.json`` and ``<stack>.assets.json`` from ``directory``."""
    directory = Path(directory)
    template_file = directory / f"{stack_name}.template.json"
    if not template_file.exists():
        raise FileNotFoundError(f"{template_file} not found: run `npx cdk synth` or `make synth` first")
    template = json.loads(template_file.read_text())
    manifest = json.loads((directory / f"{stack_name}.assets.json").read_text())
    assets: dict[str, Path] = {}
    for entry in manifest.get("files", {}).values():
        source = entry["source"]
        if source.get("packaging") != "zip":
            continue
        for destination in entry["destinations"].values():
            assets[destination["objectKey"]] = (directory / source["path"]).resolve()
    return Assembly(directory=directory, stack_name=stack_name, template=template, assets=assets)


_VERSION = "AWS::StepFunctions::StateMachineVersion"
_ALIAS = "AWS::StepFunctions::StateMachineAlias"
_FUNCTION_ALIAS = "AWS::Lambda::Alias"


def _function_aliases(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every ``AWS::Lambda::Alias`` (SnapStart's ``live``) by logical id: (function logical id,
    alias name)."""
    return {
        logical: (_logical_of(resource["Properties"]["FunctionName"]), resource["Properties"]["Name"])
        for logical, resource in template["Resources"].items()
        if resource["Type"] == _FUNCTION_ALIAS
    }


@dataclass(frozen=True)
class _Alias:
    """A state-machine alias of the template, and the version it routes to."""

    machine: str
    """Logical id of the state machine."""
    name: str
    description: str | None
    version_description: str | None


def _aliases(template: dict[str, Any]) -> dict[str, _Alias]:
    """Every ``StateMachineAlias`` by logical id (one version at 100%, as the compiler makes)."""
    resources = template["Resources"]
    found: dict[str, _Alias] = {}
    for logical, resource in resources.items():
        if resource["Type"] != _ALIAS:
            continue
        properties = resource["Properties"]
        (route,) = properties["RoutingConfiguration"]
        version = resources[_logical_of(route["StateMachineVersionArn"])]["Properties"]
        found[logical] = _Alias(
            machine=_logical_of(version["StateMachineArn"]),
            name=properties["Name"],
            description=properties.get("Description"),
            version_description=version.get("Description"),
        )
    return found


def _alias_arn(function: str, name: str) -> dict[str, Any]:
    """The ARN of alias ``name`` of the function with logical id ``function``, as CloudFormation
    resolves a ``Ref`` to the alias."""
    return {"Fn::Join": ["", [{"Fn::GetAtt": [function, "Arn"]}, f":{name}"]]}


def _on_function_aliases(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The resources moto's CloudFormation cannot make before the function aliases exist, which
    it cannot make at all: invoke permissions on an alias, and asynchronous-invocation
    configurations of an alias (by its qualifier). By logical id."""
    aliases = _function_aliases(template)
    qualified = {(function, name) for function, name in aliases.values()}
    found = {}
    for logical, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        function = properties.get("FunctionName")
        if not isinstance(function, dict):
            continue
        on_alias = resource["Type"] == "AWS::Lambda::Permission" and function.get("Ref") in aliases
        on_qualifier = (
            resource["Type"] == "AWS::Lambda::EventInvokeConfig"
            and (function.get("Ref"), properties.get("Qualifier")) in qualified
        )
        if on_alias or on_qualifier:
            found[logical] = resource
    return found


def _logical_of(reference: dict[str, Any]) -> str:
    """The logical id in ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, "Arn"]}``."""
    if "Ref" in reference:
        return str(reference["Ref"])
    return str(reference["Fn::GetAtt"][0])


def moto_template(template: dict[str, Any]) -> dict[str, Any]:
    """The template as moto's CloudFormation can create it.

    - Without the bootstrap-version check.
    - Every ``Ref`` to an event bus replaced by the bus name, which is what ``Ref`` returns on
      AWS. moto's CloudFormation resolves that ``Ref`` to an object, and a rule on it fails to
      create (``'EventBus' object has no attribute 'split'``; see shared/ENVIRONMENT.md).
    - Without state-machine versions and aliases, which moto's CloudFormation cannot create;
      every reference to an alias becomes its ARN, ``<state machine ARN>:<name>``.
    """
    result = copy.deepcopy(template)
    refs: dict[str, Any] = {
        logical: resource["Properties"]["Name"]
        for logical, resource in result["Resources"].items()
        if resource["Type"] == "AWS::Events::EventBus"
    }
    arns: dict[str, Any] = {}
    for logical, alias in _aliases(result).items():
        refs[logical] = arns[logical] = {"Fn::Join": ["", [{"Ref": alias.machine}, f":{alias.name}"]]}
    for logical, (function, name) in _function_aliases(result).items():
        refs[logical] = _alias_arn(function, name)
    dropped = (_VERSION, _ALIAS, _FUNCTION_ALIAS)
    removed = {logical for logical, resource in result["Resources"].items() if resource["Type"] in dropped}
    removed |= set(_on_function_aliases(result))
    result["Resources"] = {
        logical: _inline_refs(resource, refs, arns)
        for logical, resource in result["Resources"].items()
        if logical not in removed
    }
    result.get("Parameters", {}).pop("BootstrapVersion", None)
    rules = result.get("Rules", {})
    rules.pop("CheckBootstrapVersion", None)
    if not rules:
        result.pop("Rules", None)
    return result


def _inline_refs(value: Any, refs: dict[str, Any], arns: dict[str, Any]) -> Any:
    """``value`` with each ``Ref`` to a logical id of ``refs``, and each ``Fn::GetAtt [id, Arn]``
    to one of ``arns``, replaced by the value given there."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in refs:
            return refs[value["Ref"]]
        get_att = value.get("Fn::GetAtt") if set(value) == {"Fn::GetAtt"} else None
        if get_att is not None and get_att[0] in arns and get_att[1] == "Arn":
            return arns[get_att[0]]
        return {key: _inline_refs(item, refs, arns) for key, item in value.items()}
    if isinstance(value, list):
        return [_inline_refs(item, refs, arns) for item in value]
    return value


@cache
def _zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def deploy(assembly: Assembly, *, account: str, region: str) -> Deployment:
    """Create ``assembly``'s stack in the running moto backends; return what was made."""
    import boto3
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import clean_json
    from moto.stepfunctions.responses import get_backend

    s3 = boto3.client("s3", region_name=region)
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    for key, folder in assembly.assets.items():
        s3.put_object(Bucket=bucket, Key=key, Body=_zipped(folder))

    cloudformation = boto3.client("cloudformation", region_name=region)
    stack_id = cloudformation.create_stack(
        StackName=assembly.stack_name,
        TemplateBody=json.dumps(deployable := moto_template(assembly.template)),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )["StackId"]
    stack = cloudformation_backends[account][region].get_stack(stack_id)
    if stack.status != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {assembly.stack_name}: {stack.status}")
    physical = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for summary in cloudformation.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
    }
    deployment = Deployment(stack_name=assembly.stack_name, stack_id=stack_id, physical=physical)

    sfn_backend = get_backend(account, region)
    aliases = _aliases(assembly.template)
    machines: dict[str, Any] = {}
    for logical, resource in assembly.template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::StepFunctions::StateMachine":
            # As deployed: a reference to a function's alias is its ARN there.
            definition = clean_json(
                deployable["Resources"][logical]["Properties"]["DefinitionString"], stack.resource_map
            )
            name = properties["StateMachineName"]
            role_arn = clean_json(properties["RoleArn"], stack.resource_map)
            for existing in list(sfn_backend.state_machines):
                if existing.name == name:
                    sfn_backend.state_machines.remove(existing)
            published = [alias for alias in aliases.values() if alias.machine == logical]
            machine = sfn_backend.create_state_machine(
                name=name,
                definition=definition,
                roleArn=role_arn,
                publish=bool(published),
                version_description=published[0].version_description if published else None,
            )
            machines[logical] = machine
            saga = resource.get("Metadata", {}).get("sagakit:saga", name)
            deployment.state_machines[saga] = machine.arn
        elif kind == "AWS::DynamoDB::Table":
            name = properties["TableName"]
            deployment.tables[_service_of_table(name)] = name
        elif kind == "AWS::Lambda::Function":
            name = physical[logical]
            deployment.functions[name.rsplit("-", 1)[-1]] = name
        elif kind == "AWS::SQS::Queue":
            deployment.queues[properties.get("QueueName", logical)] = physical[logical]
        elif kind == "AWS::Events::EventBus":
            deployment.bus_name = properties["Name"]

    routes: dict[str, str] = {}
    for logical, alias in aliases.items():
        machine = machines[alias.machine]
        made = sfn_backend.create_state_machine_alias(
            name=alias.name,
            routing_configuration=[{"stateMachineVersionArn": machine.latest_version.arn, "weight": 100}],
            description=alias.description,
        )
        routes[made.arn] = machine.arn
        saga = assembly.template["Resources"][logical].get("Metadata", {}).get("sagakit:saga", alias.name)
        deployment.aliases[saga] = made.arn
    _start_aliases_on_their_machine(sfn_backend, routes)
    _publish_function_aliases(assembly.template, physical, stack.resource_map, region)
    return deployment


def _publish_function_aliases(template: dict[str, Any], physical: dict[str, str], resolved: Any, region: str) -> None:
    """Create each ``AWS::Lambda::Alias`` through the Lambda API, on the version moto's
    CloudFormation published for its function (``AWS::Lambda::Version``, which it can create);
    then the permissions and asynchronous configurations left out for it (``_on_function_aliases``)."""
    import boto3
    from moto.cloudformation.parsing import clean_json

    aliases = _function_aliases(template)
    if not aliases:
        return
    client = boto3.client("lambda", region_name=region)
    for function, name in aliases.values():
        versions = client.list_versions_by_function(FunctionName=physical[function])["Versions"]
        published = [int(v["Version"]) for v in versions if v["Version"] != "$LATEST"]
        if not published:
            raise RuntimeError(f"{physical[function]}: alias {name!r} needs a published version; none was made")
        client.create_alias(FunctionName=physical[function], Name=name, FunctionVersion=str(max(published)))
    for logical, resource in _on_function_aliases(template).items():
        properties = dict(resource["Properties"])
        if resource["Type"] == "AWS::Lambda::Permission":
            properties["FunctionName"] = _alias_arn(*aliases[properties["FunctionName"]["Ref"]])
            made = clean_json(properties, resolved)
            optional = {key: made[key] for key in ("SourceArn", "SourceAccount") if key in made}
            client.add_permission(
                FunctionName=made["FunctionName"],
                StatementId=logical,
                Action=made["Action"],
                Principal=made["Principal"],
                **optional,
            )
        else:
            made = clean_json(properties, resolved)
            config = {key: made[key] for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if key in made}
            if "DestinationConfig" in made:
                config["DestinationConfig"] = made["DestinationConfig"]
            client.put_function_event_invoke_config(
                FunctionName=made["FunctionName"], Qualifier=made["Qualifier"], **config
            )


def _start_aliases_on_their_machine(backend: Any, routes: dict[str, str]) -> None:
    """Make ``backend.start_execution`` accept the alias ARNs of ``routes`` (alias -> machine).

    moto 5.2.5's ``describe_state_machine`` resolves ``<machine>:<version number>`` but not
    ``<machine>:<alias>``, so a StartExecution on an alias fails with StateMachineDoesNotExist
    (tests/infra/test_offline_alias.py keeps a canary on that). The wrapper lives on this backend
    instance only, and goes with it when moto resets its backends.
    """
    known: dict[str, str] | None = getattr(backend, "_sagakit_alias_routes", None)
    if known is None:
        known = {}
        original = backend.start_execution

        def start_execution(state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
            return original(known.get(state_machine_arn, state_machine_arn), *args, **kwargs)

        backend.start_execution = start_execution
        backend._sagakit_alias_routes = known
    known.update(routes)


def _service_of_table(table_name: str) -> str:
    # sagakit-<stage>-<service>: the service may itself hold dashes (ai-workspace).
    parts = table_name.split("-", 2)
    return parts[2] if len(parts) == 3 else table_name
