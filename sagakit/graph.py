"""Pictures of a saga, drawn from its ``Saga`` definition: Mermaid for Markdown, Graphviz for SVG/PNG.

One model, two renderers. ``saga_graph`` turns a definition into a ``SagaGraph`` (nodes,
edges, parallel clusters); ``to_mermaid`` and ``to_dot`` only draw it::

    graph = saga_graph(OnboardClientSaga)
    Path("docs/onboard_client.mmd").write_text(to_mermaid(graph))
    write_image(graph, Path("docs"), "svg")   # needs Graphviz's ``dot`` on the PATH

What the picture says, exactly as the compiled state machine behaves:

* the steps in order (a parallel group is a cluster of its branches), each success edge
  labelled with the step's success event, ending in COMPLETED;
* the pivot and the retriable steps marked; a retriable step has no failure edge;
* compensation paths dashed red: a declared business error goes straight to the ``on_failure``
  chain, any other (uncertain) error goes through the step's ``undo`` first, and every chain
  ends in ``SagaFailed``. The paths are ``Saga.compensation_order``, so the picture cannot
  disagree with the definition's semantics.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from sagakit.definition import ParallelGroup, Saga, SagaStep, StepKind

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "COMPLETED",
    "FAILED_STATE",
    "TRIGGER",
    "Edge",
    "GraphvizMissing",
    "Node",
    "ParallelCluster",
    "Role",
    "SagaGraph",
    "embed_in_readme",
    "image_digest",
    "readme_blocks",
    "saga_graph",
    "source_digest",
    "to_dot",
    "to_mermaid",
    "write_image",
]

#: The Fail state every compensation chain ends in (``sagakit.compiler.FAILED_STATE``; not
#: imported from there, so that drawing a saga does not import the CDK).
FAILED_STATE = "SagaFailed"
#: Node ids of the trigger and the happy end. Lower case, so no step (PascalCase) can take them.
TRIGGER = "trigger"
COMPLETED = "completed"

_COMPENSATION_RED = "#c0392b"
_README_BLOCK = re.compile(r"<!-- saga-graph:(?P<saga>\w+) -->\n(?P<body>.*?)<!-- /saga-graph -->", re.DOTALL)
_DIGEST_COMMENT = re.compile(r"<!-- sagakit graph source sha256:(?P<digest>[0-9a-f]{64}) -->")


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` is not on the PATH, so no SVG or PNG can be rendered."""


class Role(StrEnum):
    """What a node stands for."""

    TRIGGER = "trigger"
    STEP = "step"
    COMPENSATION = "compensation"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class Node:
    """A box in the picture. ``lines[0]`` is the name; the others say what it is."""

    id: str
    lines: tuple[str, ...]
    role: Role
    kind: StepKind | None = None


@dataclass(frozen=True)
class Edge:
    """An arrow. The ``source`` of a failure edge may be a parallel group's name (its cluster)."""

    source: str
    target: str
    label: tuple[str, ...] = ()
    compensation: bool = False


@dataclass(frozen=True)
class ParallelCluster:
    """A parallel group: its branches' node ids, drawn together."""

    name: str
    kind: StepKind
    members: tuple[str, ...]


@dataclass(frozen=True)
class SagaGraph:
    """A saga as nodes, edges and parallel clusters (``clusters`` names the branch nodes of each
    parallel group; every node, in a cluster or not, is in ``nodes``)."""

    saga: str
    file_stem: str
    nodes: tuple[Node, ...]
    clusters: tuple[ParallelCluster, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        """The node called ``node_id``."""
        return next(node for node in self.nodes if node.id == node_id)

    def compensation_path(self, source: str) -> list[list[str]]:
        """Every compensation path out of ``source`` (a step or a group), each ending in
        ``SagaFailed``, as the lists of the compensations it runs, in order."""
        paths = []
        for edge in self.edges:
            if edge.source == source and edge.compensation:
                path, current = [], edge.target
                while current != FAILED_STATE:
                    path.append(current)
                    current = next(e.target for e in self.edges if e.source == current and e.compensation)
                paths.append(path)
        return paths


# -- the model ---------------------------------------------------------------------------------


def saga_graph(saga: Saga) -> SagaGraph:
    """The picture of ``saga``, derived from its definition alone.

    Examples
    --------
    >>> from statemachines.onboard_client import OnboardClientSaga
    >>> graph = saga_graph(OnboardClientSaga)
    >>> graph.compensation_path("SetupBilling")
    [['DeleteWorkspace', 'DeleteTenant'], ['RevertBilling', 'DeleteWorkspace', 'DeleteTenant']]
    """
    nodes: list[Node] = [Node(TRIGGER, (saga.trigger, f"starts {saga.name}"), Role.TRIGGER)]
    clusters: list[ParallelCluster] = []
    edges: list[Edge] = []
    compensations: list[Node] = []

    # Where the happy path leaves the previous element: (node, its success event). A parallel
    # group is entered and left through every branch, so the picture shows them side by side.
    exits: list[tuple[str, str]] = [(TRIGGER, "")]
    for element in saga.steps:
        steps = element.branches if isinstance(element, ParallelGroup) else (element,)
        kind = element.kind
        nodes.extend(_step_node(step, kind) for step in steps)
        if isinstance(element, ParallelGroup):
            clusters.append(ParallelCluster(element.name, kind, tuple(step.name for step in steps)))
        compensations.extend(_compensation_nodes(element))
        edges.extend(_fan(exits, [step.name for step in steps]))
        exits = [(step.name, step.on_success) for step in steps]
    edges.extend(_fan(exits, [COMPLETED]))

    edges.extend(_compensation_edges(saga))
    nodes.extend(compensations)
    nodes.append(Node(COMPLETED, ("COMPLETED",), Role.COMPLETED))
    nodes.append(Node(FAILED_STATE, (FAILED_STATE, "FAILED: every completed step compensated"), Role.FAILED))
    return SagaGraph(saga.name, saga.file_stem, tuple(nodes), tuple(clusters), tuple(edges))


def _fan(exits: list[tuple[str, str]], entries: list[str]) -> list[Edge]:
    """Success edges from every exit to every entry; an exit's event labels its first edge only."""
    return [
        Edge(source, target, (event,) if event and index == 0 else ())
        for source, event in exits
        for index, target in enumerate(entries)
    ]


def _step_node(step: SagaStep, kind: StepKind) -> Node:
    lines = [step.name, step.command.service]
    if kind is StepKind.PIVOT:
        lines[1] += " · pivot"
        lines.append("once it succeeds, the saga completes")
    elif kind is StepKind.RETRIABLE:
        lines[1] += " · retriable"
        lines.append("retried until it succeeds, never compensated")
    return Node(step.name, tuple(lines), Role.STEP, kind)


def _compensation_nodes(element: SagaStep | ParallelGroup) -> list[Node]:
    """The element's compensations, each saying whose it is: an undo, or an on_failure."""
    steps = element.branches if isinstance(element, ParallelGroup) else (element,)
    owned = [(step.undo, f"undo of {step.name}") for step in steps]
    owned.append((element.on_failure, f"on failure of {element.name} or later"))
    return [
        Node(command.name, (command.name, f"{command.service} · {what}"), Role.COMPENSATION)
        for command, what in owned
        if command is not None
    ]


def _compensation_edges(saga: Saga) -> list[Edge]:
    """The failure edges and the chains they enter, from ``Saga.compensation_order``.

    A failure at a plain step runs ``compensation_order(step)`` for an uncertain error and the
    same without the step's ``undo`` for a declared business error; every branch of a group
    runs the same compensations, so the group fails as one. Chains are shared (each
    compensation is one state with one successor), so their links are drawn once.
    """
    failures: list[Edge] = []
    successor: dict[str, str] = {}
    for element in saga.steps:
        if element.kind is StepKind.RETRIABLE:
            continue
        paths: list[tuple[list[str], tuple[str, ...]]]
        if isinstance(element, ParallelGroup):
            paths = [(saga.compensation_order(element.branches[0].name), ("any branch fails",))]
        else:
            paths = _step_failure_paths(saga, element)
        for path, label in paths:
            chain = [*path, FAILED_STATE]
            failures.append(Edge(element.name, chain[0], label, compensation=True))
            for here, after in pairwise(chain):
                if successor.setdefault(here, after) != after:
                    raise ValueError(
                        f"saga {saga.name}: compensation {here} leads to both {successor[here]} and {after}"
                    )
    links = [Edge(here, after, compensation=True) for here, after in successor.items()]
    return failures + links


def _step_failure_paths(saga: Saga, step: SagaStep) -> list[tuple[list[str], tuple[str, ...]]]:
    uncertain = saga.compensation_order(step.name)
    if step.undo is None:
        return [(uncertain, ("any error",))]
    if not step.business_errors:
        return [(uncertain, ("any error", "(outcome uncertain)"))]
    business = uncertain[1:]  # a declared refusal wrote nothing: no undo
    return [
        (business, (" / ".join(step.business_errors), "(clean refusal)")),
        (uncertain, ("timeout, crash, other", "(outcome uncertain)")),
    ]


# -- Mermaid -----------------------------------------------------------------------------------

_MERMAID_CLASSES = {
    "trigger": "fill:#eef2f7,stroke:#5d6d7e",
    "step": "fill:#eaf2fb,stroke:#2e86c1",
    "pivot": "fill:#eaf2fb,stroke:#1b4f72,stroke-width:3px",
    "retriable": "fill:#e9f7ef,stroke:#1e8449",
    "compensation": f"fill:#fde2e2,stroke:{_COMPENSATION_RED},color:#7b241c",
    "completed": "fill:#d5f5e3,stroke:#1e8449",
    "failed": f"fill:#f5b7b1,stroke:{_COMPENSATION_RED}",
}


def to_mermaid(graph: SagaGraph) -> str:
    """The graph as a Mermaid flowchart (for the README, GitHub renders it).

    Compensation edges are dotted and styled red with ``linkStyle``; compensation nodes have
    their own class. The first line says how to regenerate it.
    """
    lines = [
        f"%% {graph.saga}: generated from its Saga definition by `saga graph {graph.saga}`; run `make graph`",
        "flowchart TD",
    ]
    in_cluster = {member: cluster for cluster in graph.clusters for member in cluster.members}
    emitted: set[str] = set()
    for node in graph.nodes:
        cluster = in_cluster.get(node.id)
        if cluster is None:
            lines.append(f"  {_mermaid_node(node)}")
        elif cluster.name not in emitted:
            emitted.add(cluster.name)
            title = _mermaid_text(f"parallel {cluster.name} · {cluster.kind.value}")
            lines.append(f'  subgraph {cluster.name}["{title}"]')
            lines.extend(f"    {_mermaid_node(graph.node(member))}" for member in cluster.members)
            lines.append("  end")
    dashed: list[str] = []
    for index, edge in enumerate(graph.edges):
        arrow = "-.->" if edge.compensation else "-->"
        label = f'|"{"<br/>".join(_mermaid_text(line) for line in edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
        if edge.compensation:
            dashed.append(str(index))
    for name, style in _MERMAID_CLASSES.items():
        lines.append(f"  classDef {name} {style};")
    for name in _MERMAID_CLASSES:
        members = [node.id for node in graph.nodes if _style_class(node) == name]
        if members:
            lines.append(f"  class {','.join(members)} {name};")
    if dashed:
        lines.append(
            f"  linkStyle {','.join(dashed)} stroke:{_COMPENSATION_RED},color:{_COMPENSATION_RED},stroke-dasharray:6 4;"
        )
    return "\n".join(lines) + "\n"


def _style_class(node: Node) -> str:
    if node.role is Role.STEP and node.kind in (StepKind.PIVOT, StepKind.RETRIABLE):
        return str(node.kind)
    return str(node.role)


def _mermaid_node(node: Node) -> str:
    title, *rest = (_mermaid_text(line) for line in node.lines)
    text = "<br/>".join([f"<b>{title}</b>" if rest else title, *rest])
    if node.role in (Role.TRIGGER, Role.COMPLETED, Role.FAILED):
        return f'{node.id}(["{text}"])'
    return f'{node.id}["{text}"]'


def _mermaid_text(line: str) -> str:
    """One line of a quoted Mermaid label: HTML-escaped, with ``#quot;`` for a quote."""
    return html.escape(line, quote=False).replace('"', "#quot;")


# -- Graphviz ----------------------------------------------------------------------------------

_FONT = "Helvetica"
_DOT_NODES: dict[str, dict[str, str]] = {
    "trigger": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef2f7", "color": "#5d6d7e"},
    "step": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eaf2fb", "color": "#2e86c1"},
    "pivot": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eaf2fb", "color": "#1b4f72", "penwidth": "3"},
    "retriable": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e9f7ef", "color": "#1e8449"},
    "compensation": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#fde2e2",
        "color": _COMPENSATION_RED,
        "fontcolor": "#7b241c",
    },
    "completed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d5f5e3", "color": "#1e8449"},
    "failed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f5b7b1", "color": _COMPENSATION_RED},
}


def to_dot(graph: SagaGraph) -> graphviz.Digraph:
    """The graph for Graphviz: clusters for parallel groups, dashed red compensation edges.

    The failure edge of a parallel group leaves its cluster's border (``compound``).
    """
    import graphviz

    dot = graphviz.Digraph(
        graph.saga,
        graph_attr={
            "rankdir": "TB",
            "compound": "true",
            "fontname": _FONT,
            "label": f"{graph.saga}  (red dashed: compensation)",
            "labelloc": "t",
            "fontsize": "16",
            "nodesep": "0.5",
            "ranksep": "0.55",
        },
        node_attr={"fontname": _FONT, "fontsize": "12", "margin": "0.2,0.08"},
        edge_attr={"fontname": _FONT, "fontsize": "10", "color": "#34495e"},
    )
    in_cluster = {member for cluster in graph.clusters for member in cluster.members}
    for node in graph.nodes:
        if node.id not in in_cluster:
            dot.node(node.id, _dot_label(node), **_DOT_NODES[_style_class(node)])
    for cluster in graph.clusters:
        with dot.subgraph(name=f"cluster_{cluster.name}") as sub:
            sub.attr(
                label=f"parallel {cluster.name} · {cluster.kind.value}",
                style="rounded,dashed",
                color="#2e86c1",
                fontname=_FONT,
            )
            for member in cluster.members:
                node = graph.node(member)
                sub.node(node.id, _dot_label(node), **_DOT_NODES[_style_class(node)])
    clusters = {cluster.name: cluster for cluster in graph.clusters}
    for edge in graph.edges:
        attrs: dict[str, str] = {}
        source, target = edge.source, edge.target
        if source in clusters:
            attrs["ltail"] = f"cluster_{source}"
            source = clusters[source].members[0]
        if edge.label:
            attrs["label"] = "\\n".join(edge.label)
        if not edge.compensation:
            attrs["weight"] = "4"  # keep the happy path a straight spine; compensations hang beside it
        else:
            attrs.update(style="dashed", color=_COMPENSATION_RED, fontcolor=_COMPENSATION_RED, penwidth="1.4")
        dot.edge(source, target, **attrs)
    return dot


def _dot_label(node: Node) -> str:
    title, *rest = node.lines
    small = "".join(f'<br/><font point-size="10">{html.escape(line)}</font>' for line in rest)
    return f"<<b>{html.escape(title)}</b>{small}>"


def source_digest(graph: SagaGraph) -> str:
    """SHA-256 of the DOT source: an image stamped with it was rendered from this graph."""
    return hashlib.sha256(to_dot(graph).source.encode()).hexdigest()


def image_digest(svg: str) -> str | None:
    """The source digest an SVG written by ``write_image`` carries, if any."""
    found = _DIGEST_COMMENT.search(svg)
    return found["digest"] if found else None


def write_image(graph: SagaGraph, out: Path, fmt: str = "svg") -> Path:
    """Render ``out/<file_stem>.<fmt>`` with Graphviz's ``dot``; return the path.

    An SVG carries the digest of its DOT source in a comment, so a test can tell a stale
    picture without running ``dot`` (whose exact output varies between Graphviz versions).
    ``GraphvizMissing`` when ``dot`` is not installed.
    """
    import graphviz

    dot = to_dot(graph)
    try:
        rendered = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as missing:
        raise GraphvizMissing(str(missing)) from None
    path = out / f"{graph.file_stem}.{fmt}"
    if fmt == "svg":
        text = rendered.decode()
        stamp = f"<!-- sagakit graph source sha256:{source_digest(graph)} -->\n"
        head, _, body = text.partition("<svg")
        path.write_text(f"{head}{stamp}<svg{body}")
    else:
        path.write_bytes(rendered)
    return path


# -- the README --------------------------------------------------------------------------------


def readme_blocks(readme: str) -> dict[str, str]:
    """The Mermaid of each ``<!-- saga-graph:<Saga> -->`` block, by saga name."""
    blocks = {}
    for found in _README_BLOCK.finditer(readme):
        body = found["body"].strip()
        blocks[found["saga"]] = body.removeprefix("```mermaid").removesuffix("```").strip("\n") + "\n"
    return blocks


def embed_in_readme(readme: str, graph: SagaGraph) -> str:
    """``readme`` with the block of ``graph.saga`` replaced by its fresh Mermaid.

    ``KeyError`` when the README has no ``<!-- saga-graph:<Saga> -->`` ... ``<!-- /saga-graph -->``.
    """
    if graph.saga not in readme_blocks(readme):
        raise KeyError(f"the README has no <!-- saga-graph:{graph.saga} --> ... <!-- /saga-graph --> block")
    block = f"<!-- saga-graph:{graph.saga} -->\n```mermaid\n{to_mermaid(graph)}```\n<!-- /saga-graph -->"

    def replace(found: re.Match[str]) -> str:
        return block if found["saga"] == graph.saga else found[0]

    return _README_BLOCK.sub(replace, readme)
