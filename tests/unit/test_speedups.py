"""The offline runtime's moto speedups change how fast moto answers, never what it answers.

Each case runs the same requests twice on fresh moto backends, once with moto's own code and
once with ``InterpreterSpeedups`` installed, and compares what a caller sees: for update
expressions, the item after every update and the error code and message of every refused one;
for requests to six services, the answers and the error codes and statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

from sagakit.local.speedups import InterpreterSpeedups

KEY = {"pk": {"S": "c-1"}}

#: (UpdateExpression, names, values, condition): valid updates in order, then refused ones.
UPDATES: list[tuple[str, dict[str, str], dict[str, Any], str | None]] = [
    (
        "SET #a = if_not_exists(#a, :v), #b = :w",
        {"#a": "status", "#b": "name"},
        {":v": {"S": "RUNNING"}, ":w": {"S": "n"}},
        None,
    ),
    ("SET #a = :v ADD #s :s", {"#a": "currentStep", "#s": "steps"}, {":v": {"S": "One"}, ":s": {"SS": ["One"]}}, None),
    ("ADD #s :s, tally :n", {"#s": "steps"}, {":s": {"SS": ["Two"]}, ":n": {"N": "2"}}, None),
    (
        "SET tally = tally + :n, #l = list_append(if_not_exists(#l, :e), :l)",
        {"#l": "log"},
        {":n": {"N": "3"}, ":e": {"L": []}, ":l": {"L": [{"S": "x"}]}},
        None,
    ),
    ("SET m = :m", {}, {":m": {"M": {"x": {"N": "1"}, "y": {"L": [{"S": "a"}, {"S": "b"}]}}}}, None),
    ("SET m.x = m.x + :n, m.y[1] = :v REMOVE #b", {"#b": "name"}, {":n": {"N": "1"}, ":v": {"S": "c"}}, None),
    ("SET #st = :new", {"#st": "status"}, {":new": {"S": "DONE"}, ":ok": {"S": "RUNNING"}}, "#st = :ok"),
    # refused: each must fail with the same error, and leave the item as it was
    ("SET #st = :new", {"#st": "status"}, {":new": {"S": "AGAIN"}, ":ok": {"S": "RUNNING"}}, "#st = :ok"),
    ("SET a = :v SET b = :v", {}, {":v": {"S": "x"}}, None),
    ("SET a = :v, a = :w", {}, {":v": {"S": "x"}, ":w": {"S": "y"}}, None),
    ("SET pk = :v", {}, {":v": {"S": "other"}}, None),
    ("ADD currentStep :n", {}, {":n": {"N": "1"}}, None),
    ("SET a = :missing", {}, {":v": {"S": "x"}}, None),
    ("SET m.nothere.deeper = :v", {}, {":v": {"S": "x"}}, None),
]


def _run() -> list[Any]:
    """Every update in turn on a fresh table; after each, the item or the error."""
    seen: list[Any] = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for expression, names, values, condition in UPDATES:
            kwargs: dict[str, Any] = {"TableName": "t", "Key": KEY, "UpdateExpression": expression}
            if names:
                kwargs["ExpressionAttributeNames"] = names
            if values:
                kwargs["ExpressionAttributeValues"] = values
            if condition:
                kwargs["ConditionExpression"] = condition
            try:
                client.update_item(**kwargs)
                seen.append(("ok", client.get_item(TableName="t", Key=KEY)["Item"]))
            except client.exceptions.ClientError as error:
                details = error.response["Error"]
                seen.append(
                    ("refused", details["Code"], details["Message"], client.get_item(TableName="t", Key=KEY)["Item"])
                )
    return seen


def _with(speedups: InterpreterSpeedups, run: Callable[[], list[Any]]) -> list[Any]:
    speedups.install()
    try:
        return run()
    finally:
        speedups.uninstall()


def test_update_expressions_give_the_same_items_and_errors_with_the_speedups() -> None:
    speedups = InterpreterSpeedups()
    original = DepthFirstTraverser.traverse

    plain = _run()
    fast = _with(speedups, _run)

    # The speedups were in place for the second run, and are gone again
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    assert DepthFirstTraverser.traverse is original
    assert isinstance(vars(UpdateExpressionParser)["make"], classmethod)
    assert fast == plain
    # and the cases do what they claim: seven applied updates, then seven refusals with reasons
    assert [entry[0] for entry in plain] == ["ok"] * 7 + ["refused"] * 7
    assert plain[6][1]["status"] == {"S": "DONE"}
    assert plain[5][1]["m"] == {"M": {"x": {"N": "2"}, "y": {"L": [{"S": "a"}, {"S": "c"}]}}}
    codes = {entry[1] for entry in plain[7:]}
    assert codes == {"ConditionalCheckFailedException", "ValidationException"}


@pytest.mark.parametrize("case", range(len(UPDATES)))
def test_each_update_traverses_the_same_nodes(case: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every node the original traversal hands to a processor, the fast one hands over too, in
    # the same order (for the update itself; errors are compared above)
    def record(into: list[str]) -> Callable[..., Any]:
        def pre(self: Any, parent: Any, child_id: int) -> None:
            into.append(f"{type(self).__name__}:{type(parent).__name__}[{child_id}]")

        return pre

    expression, names, values, condition = UPDATES[case]
    del names, values, condition
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from sagakit.local.speedups import traverse

    orders: list[list[str]] = []
    for walk in (DepthFirstTraverser.traverse, traverse):
        visited: list[str] = []
        monkeypatch.setattr(DepthFirstTraverser, "pre_processing_of_child", record(visited))
        try:
            ast = UpdateExpressionParser.make(expression)
        except Exception:  # refused at parse time: nothing to traverse
            return
        walk(_Recorder(visited), ast)
        orders.append(visited)
    assert orders[0] == orders[1]
    assert len(orders[0]) > 3


class _Recorder(DepthFirstTraverser):  # type: ignore[misc]
    """Processes every node, writing down its type."""

    def __init__(self, visited: list[str]) -> None:
        self.visited = visited

    def _processing_map(self) -> dict[type, Callable[[Any], Any]]:
        from moto.dynamodb.parsing.ast_nodes import Node

        return {Node: self._seen}

    def _seen(self, node: Any) -> Any:
        self.visited.append(type(node).__name__)
        return node


def _calls() -> list[Any]:
    """A request to each kind of service the stack uses, and to what is missing or refused:
    what the caller got back (the parts that do not change from run to run)."""
    from botocore.exceptions import ClientError

    seen: list[Any] = []
    with mock_aws():
        region = "eu-west-1"
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("dynamodb", "list_tables", {}),
            ("dynamodb", "describe_table", {"TableName": "missing"}),
            ("events", "create_event_bus", {"Name": "bus"}),
            (
                "events",
                "put_events",
                {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "bus"}]},
            ),
            ("events", "describe_event_bus", {"Name": "nope"}),
            ("lambda", "list_functions", {}),
            ("lambda", "get_function", {"FunctionName": "missing"}),
            ("sqs", "create_queue", {"QueueName": "q"}),
            ("sqs", "list_queues", {}),
            ("stepfunctions", "list_state_machines", {}),
            (
                "stepfunctions",
                "describe_execution",
                {"executionArn": "arn:aws:states:eu-west-1:123456789012:execution:m:e"},
            ),
            ("s3", "list_buckets", {}),
            ("s3", "head_bucket", {"Bucket": "missing-bucket"}),
        ]
        for service, operation, params in calls:
            client = boto3.client(service, region_name=region)
            try:
                response = getattr(client, operation)(**params)
                response.pop("ResponseMetadata", None)
                for entry in response.get("Entries", []):
                    entry.pop("EventId", None)
                seen.append((operation, "ok", sorted(response)))
            except ClientError as error:
                seen.append(
                    (operation, error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])
                )
    return seen


def test_requests_reach_the_same_handlers_and_errors_with_cached_routing() -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    speedups = InterpreterSpeedups()
    original = vars(BotocoreStubber)["process_request"]
    plain = _calls()

    def routed() -> list[Any]:
        assert vars(BotocoreStubber)["process_request"] is not original
        return _calls()

    fast_calls = _with(speedups, routed)
    assert vars(BotocoreStubber)["process_request"] is original
    assert fast_calls == plain
    # and the calls cover answers and refusals (a missing table, bus, function, execution, bucket)
    assert sum(1 for entry in plain if entry[1] == "ok") == 8
    assert {entry[2] for entry in plain if entry[1] != "ok"} >= {400, 404}
