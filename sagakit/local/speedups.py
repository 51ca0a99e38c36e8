"""Caches and leaner loops for moto, which rebuilds per request what never changes.

Profiled on the onboarding saga (yappi, wall clock), most of an offline saga went to:

* parsing the ASL definition again for every execution (ANTLR), in
  ``AmazonStateLanguageParser.parse``; the parsed program keeps its per-execution state in the
  evaluation ``Environment`` (its heap and stack), not in the components, so one parse serves all;
* building a JSONPath parser (PLY yacc tables) for every path evaluated, in ``jsonpath_ng``'s
  ``parse``; a parsed path is an immutable expression tree;
* creating a boto3 client for every Lambda task, in ``boto_client_for``; boto3 clients are
  thread-safe, so one per (region, service) is shared;
* parsing each DynamoDB update expression twice per ``UpdateItem`` (``UpdateExpressionParser.make``,
  once for the request's checks and once in the backend, which validates a deep copy);
* validating DynamoDB update expressions: each of the ten AST passes of an ``UpdateItem``
  (``DepthFirstTraverser.traverse``) rebuilt its processor table twice per node visited, about
  40 % of an ``UpdateItem``'s time on the saga's updates (cProfile of the saga's DynamoDB
  requests replayed bare). ``traverse`` here builds it once per pass and then visits the same
  nodes in the same order, calling the same processors.

``InterpreterSpeedups`` installs them and removes them again. The semantics are unchanged: the
e2e suite runs with them installed, and a unit test runs moto's own traversal and this one on
the same expressions and compares the trees and the errors.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

__all__ = ["InterpreterSpeedups"]

_LAMBDA_UTILS = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_AST_NODES = "moto.dynamodb.parsing.ast_nodes"
_EXPRESSIONS = "moto.dynamodb.parsing.expressions"
_JSONPATH_MODULES = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)


def traverse(self: Any, node: Any) -> Any:
    """moto's ``DepthFirstTraverser.traverse`` (depth first, children before their parent, each
    node of a processed type replaced by what its processor returns, the first matching type
    winning), with the processor table read once per pass instead of twice per node."""
    node_type = importlib.import_module(_AST_NODES).Node
    processors = tuple(self._processing_map().items())
    processed = self.nodes_to_be_processed()
    before_child = self.pre_processing_of_child

    def visit(node: Any, child_id: int = -1) -> Any:
        if not isinstance(node, node_type):
            return node
        parent = node.parent
        if node.children is not None:
            for index, child in enumerate(node.children):
                before_child(node, index)
                visit(child, index)
        if isinstance(node, processed):
            node = next(process for kind, process in processors if isinstance(node, kind))(node)
            node.parent = parent
            if parent:
                parent.children[child_id] = node
        return node

    return visit(node)


class InterpreterSpeedups:
    """Install (and later remove) the interpreter caches described in the module docstring."""

    def __init__(self) -> None:
        self._saved: dict[tuple[str, str], Any] = {}

    def _swap(self, owner: Any, attribute: str, replacement: Any, key: str) -> None:
        if (key, attribute) not in self._saved:
            # As stored (a staticmethod or classmethod stays one when it is put back).
            self._saved[(key, attribute)] = (owner, vars(owner).get(attribute, getattr(owner, attribute)))
        setattr(owner, attribute, replacement)

    def install(self) -> None:
        """Cache ASL parses, JSONPath parses and the interpreter's boto3 clients; traverse
        DynamoDB update expressions with one processor table per pass."""
        if self._saved:
            return
        from moto.core.models import botocore_stubber
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        parse_asl = AmazonStateLanguageParser.parse
        cached_asl = functools.lru_cache(maxsize=64)(parse_asl)
        self._swap(AmazonStateLanguageParser, "parse", staticmethod(cached_asl), "asl")

        for name in _JSONPATH_MODULES:
            module = importlib.import_module(name)
            self._swap(module, "parse", functools.lru_cache(maxsize=4096)(module.parse), name)

        lambda_utils = importlib.import_module(_LAMBDA_UTILS)
        original = lambda_utils.boto_client_for
        clients: dict[tuple[str, str, bool], Any] = {}

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            key = (region, service, bool(botocore_stubber.enabled))
            if key not in clients:
                clients[key] = original(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

        self._swap(lambda_utils, "boto_client_for", boto_client_for, _LAMBDA_UTILS)

        traverser = importlib.import_module(_AST_NODES).DepthFirstTraverser
        self._swap(traverser, "traverse", traverse, "dynamodb")
        # Parsed twice per UpdateItem (request checks, then the backend); the tree is only read
        # there, and the validator works on a deep copy of it.
        update_parser = importlib.import_module(_EXPRESSIONS).UpdateExpressionParser
        parse_update = functools.lru_cache(maxsize=1024)(update_parser.make)
        self._swap(update_parser, "make", staticmethod(parse_update), "dynamodb")

    def uninstall(self) -> None:
        """Put every original back."""
        for (_key, attribute), (owner, original) in self._saved.items():
            setattr(owner, attribute, original)
        self._saved.clear()
