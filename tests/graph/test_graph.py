"""A saga's picture is drawn from its definition: every step and compensation, the compensation
paths dashed red and ending in SagaFailed, exactly the paths ``Saga.compensation_order`` gives,
and a parallel group as a cluster."""

from __future__ import annotations

import re

import pytest

from sagakit.definition import ParallelGroup, Saga
from sagakit.graph import FAILED_STATE, Role, SagaGraph, saga_graph, to_dot, to_mermaid
from statemachines.onboard_client import OnboardClientSaga
from tests.graph.sagas import ProvisionSaga

MERMAID_EDGE = re.compile(r"^  (\w+) (-->|-\.->)(?:\|\"(.*?)\"\|)? (\w+)$")
DOT_EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")


def mermaid_edges(text: str) -> list[tuple[str, str, str, str]]:
    """(source, arrow, label, target) of every edge line, in order."""
    return [m.groups("") for line in text.splitlines() if (m := MERMAID_EDGE.match(line))]  # type: ignore[misc]


def dashed_mermaid_edges(text: str) -> set[int]:
    """The edge indices that ``linkStyle`` paints red and dashed."""
    found = re.search(r"^  linkStyle ([\d,]+) stroke:#c0392b,.*stroke-dasharray", text, re.MULTILINE)
    assert found, "no red dashed linkStyle"
    return {int(index) for index in found[1].split(",")}


def dot_edges(graph: SagaGraph) -> dict[tuple[str, str], str]:
    """(source, target) -> the edge's attributes, from the DOT source (one edge per pair)."""
    source = to_dot(graph).source
    return {(m[1], m[2]): m[3] or "" for line in source.splitlines() if (m := DOT_EDGE.match(line))}


def test_the_onboarding_picture_has_every_step_and_compensation_and_the_failed_end() -> None:
    # Given the onboarding saga's definition
    graph = saga_graph(OnboardClientSaga)
    mermaid, dot = to_mermaid(graph), to_dot(graph).source

    # Then every step and every compensation is a node in both pictures, with SagaFailed
    steps = ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail"]
    compensations = ["DiscardWorkspace", "DeleteTenant", "DeleteWorkspace", "RevertBilling"]
    for name in [*steps, *compensations, FAILED_STATE]:
        assert re.search(rf"^  {name}[\[(]", mermaid, re.MULTILINE), name
        assert re.search(rf"^\t{name} \[label=<<b>{name}</b>", dot, re.MULTILINE), name
    assert [n.id for n in graph.nodes if n.role is Role.COMPENSATION] == [
        "DiscardWorkspace",
        "DeleteTenant",
        "RevertBilling",
        "DeleteWorkspace",
    ]
    # and compensations have their own style
    assert re.search(
        r"^  class DiscardWorkspace,DeleteTenant,RevertBilling,DeleteWorkspace compensation;$", mermaid, re.MULTILINE
    )
    # and the pivot and the retriable step are marked
    assert "billing · pivot" in graph.node("SetupBilling").lines
    assert "notifications · retriable" in graph.node("SendWelcomeEmail").lines


def test_the_onboarding_compensation_edges_are_dashed_red_and_end_in_saga_failed() -> None:
    graph = saga_graph(OnboardClientSaga)
    mermaid = to_mermaid(graph)

    # Then the happy path is solid, every compensation edge dotted and painted red
    edges = mermaid_edges(mermaid)
    dashed = {i for i, (_, arrow, _, _) in enumerate(edges) if arrow == "-.->"}
    assert dashed == dashed_mermaid_edges(mermaid)
    assert [(s, t) for s, arrow, _, t in edges if arrow == "-->"] == [
        ("trigger", "CreateWorkspace"),
        ("CreateWorkspace", "SetupBilling"),
        ("SetupBilling", "SendWelcomeEmail"),
        ("SendWelcomeEmail", "completed"),
    ]
    # and in Graphviz the same edges are dashed red, the happy ones are not
    for (source, target), attrs in dot_edges(graph).items():
        compensation = target in ("DiscardWorkspace", "DeleteTenant", "DeleteWorkspace", "RevertBilling", FAILED_STATE)
        assert ("style=dashed" in attrs and 'color="#c0392b"' in attrs) == compensation, (source, target)
    # and the business error skips the undo, the uncertain error goes through it
    labels = {(s, t): label for s, _, label, t in edges}
    assert labels[("SetupBilling", "DeleteWorkspace")] == "BillingDeclined / BillingConflict<br/>(clean refusal)"
    assert labels[("SetupBilling", "RevertBilling")] == "timeout, crash, other<br/>(outcome uncertain)"
    assert labels[("CreateWorkspace", "DeleteTenant")] == "WorkspaceConflict<br/>(clean refusal)"
    assert labels[("CreateWorkspace", "DiscardWorkspace")] == "timeout, crash, other<br/>(outcome uncertain)"
    assert ("DeleteTenant", FAILED_STATE) in labels


@pytest.mark.parametrize("saga", [OnboardClientSaga, ProvisionSaga], ids=lambda s: s.name)
def test_every_drawn_compensation_path_is_the_definitions_compensation_order(saga: Saga) -> None:
    graph = saga_graph(saga)
    for element in saga.steps:
        # When an element fails, following its dashed edges to SagaFailed
        drawn = sorted(graph.compensation_path(element.name))
        first = element.branches[0] if isinstance(element, ParallelGroup) else element
        order = saga.compensation_order(first.name)
        # Then that is compensation_order (and, for a declared business error, the same without the undo)
        if not order:
            assert drawn == [], element.name
        elif isinstance(element, ParallelGroup) or element.undo is None:
            assert drawn == [order], element.name
        elif element.business_errors:
            assert drawn == sorted([order, order[1:]]), element.name
        else:
            assert drawn == [order], element.name


def test_a_parallel_group_is_a_cluster_that_fails_as_one() -> None:
    # Given a saga with a compensatable parallel group and a retriable one after the pivot
    graph = saga_graph(ProvisionSaga)
    mermaid, dot = to_mermaid(graph), to_dot(graph).source

    # Then each group is a Graphviz cluster and a Mermaid subgraph holding its branches
    for group, branches in (
        ("ProvisionAccounts", ["SetupBilling", "CreateMailbox"]),
        ("Announce", ["SendWelcomeEmail", "IndexClient"]),
    ):
        cluster = re.search(rf"subgraph cluster_{group} {{(.*?)\n\t}}", dot, re.DOTALL)
        assert cluster, group
        assert all(f"\t\t{branch} [label=" in cluster[1] for branch in branches), group
        subgraph = re.search(rf"^  subgraph {group}\[.*?\n(.*?)\n  end$", mermaid, re.MULTILINE | re.DOTALL)
        assert subgraph, group
        assert all(f"    {branch}[" in subgraph[1] for branch in branches), group
    # and the happy path enters and leaves a group through every branch
    happy = [(s, t) for s, arrow, _, t in mermaid_edges(mermaid) if arrow == "-->"]
    assert {("CreateWorkspace", "SetupBilling"), ("CreateWorkspace", "CreateMailbox")} <= set(happy)
    assert {("SetupBilling", "ReserveDomain"), ("CreateMailbox", "ReserveDomain")} <= set(happy)
    # and the compensatable group fails as one: the dashed edge leaves the cluster border
    edges = dot_edges(graph)
    assert "ltail=cluster_ProvisionAccounts" in edges[("SetupBilling", "DeleteMailbox")]
    assert graph.compensation_path("ProvisionAccounts") == [
        ["DeleteMailbox", "RevertBilling", "DeleteWorkspace", "DeleteTenant"]
    ]
    # and the retriable group has no failure edge at all
    assert graph.compensation_path("Announce") == []


def test_the_failed_end_is_the_compiled_fail_state() -> None:
    from sagakit.compiler import FAILED_STATE as COMPILED

    assert FAILED_STATE == COMPILED
