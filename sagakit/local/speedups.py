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
* routing every request: moto's ``BotocoreStubber.process_request`` matches the URL against
  every service's pattern, then rebuilds the matching backend's URL table (``backend.urls``,
  "TODO: cache this part" in moto's source) and compiles its patterns; the route of a URL is
  cached here, while the passthrough and allow-list settings are still read per request;
* validating DynamoDB update expressions: each of the ten AST passes of an ``UpdateItem``
  (``DepthFirstTraverser.traverse``) rebuilt its processor table twice per node visited, about
  40 % of an ``UpdateItem``'s time on the saga's updates (cProfile of the saga's DynamoDB
  requests replayed bare). ``traverse`` here builds it once per pass and then visits the same
  nodes in the same order, calling the same processors.

``InterpreterSpeedups`` installs them and removes them again. The semantics are unchanged: the
e2e suite runs with them installed, and ``tests/unit/test_speedups.py`` runs the same update
expressions and the same requests to six services with and without them and compares the
items, answers and errors (and the nodes each traversal visits, in order).
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

__all__ = ["InterpreterSpeedups"]

_LAMBDA_UTILS = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_AST_NODES = "moto.dynamodb.parsing.ast_nodes"
_EXPRESSIONS = "moto.dynamodb.parsing.expressions"
#: What moto answers "Not yet implemented" for when no backend takes the URL.
_NOT_IMPLEMENTED = re.compile(r"https?://.+\.amazonaws.com/.*")
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


@functools.lru_cache(maxsize=4096)
def _routes(clean_url: str) -> tuple[tuple[str, Any], ...]:
    """Each service whose URL pattern matches ``clean_url``, in moto's order, with the handler of
    the first of its backend's URL paths that matches (None if none does)."""
    import moto.backend_index as backend_index

    found = []
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean_url):
            handler = next((h for url, h in _backend_urls(service) if re.compile(url).match(clean_url)), None)
            found.append((service, handler))
    return tuple(found)


@functools.cache
def _backend_urls(service: str) -> tuple[tuple[str, Any], ...]:
    """``backend.urls`` of ``service``'s backend (as moto picks it), which moto rebuilds at every
    request: the URL paths of a backend class never change."""
    import moto.backends as backends
    from moto.core.base_backend import BackendDict
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend_dict: Any = backends.get_backend(service)  # type: ignore[call-overload]
    if isinstance(backend_dict, BackendDict):
        regions = backend_dict[DEFAULT_ACCOUNT_ID]
        backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
    else:
        backend = backend_dict["global"]
    return tuple(backend.urls.items())


def process_request(self: Any, request: Any) -> Any:
    """moto's ``BotocoreStubber.process_request`` with the routing cached per URL: the same
    passthrough and allow-list checks per request, the same handler, the same 404."""
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import ServiceNotWhitelisted
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder
    from werkzeug.exceptions import HTTPException

    parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    if passthrough_url(clean_url):
        return None
    for service, handler in _routes(clean_url):
        if passthrough_service(service):
            return None
        if not service_whitelisted(service):
            raise ServiceNotWhitelisted(service)
        if handler is None:
            continue
        normalized = normalize_request(request)
        try:
            recorder._record_request(normalized)
            return handler(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as error:
            return error.code, error.get_headers(), error.get_body()
    if _NOT_IMPLEMENTED.match(clean_url):
        return 404, {}, "Not yet implemented"
    return None


class InterpreterSpeedups:
    """Install (and later remove) the caches and loops described in the module docstring."""

    def __init__(self) -> None:
        self._saved: dict[tuple[str, str], Any] = {}

    def _swap(self, owner: Any, attribute: str, replacement: Any, key: str) -> None:
        if (key, attribute) not in self._saved:
            # As stored (a staticmethod or classmethod stays one when it is put back).
            self._saved[(key, attribute)] = (owner, vars(owner).get(attribute, getattr(owner, attribute)))
        setattr(owner, attribute, replacement)

    def install(self) -> None:
        """Cache ASL parses, JSONPath parses, the interpreter's boto3 clients, update-expression
        parses and request routes; traverse update expressions with one processor table per pass."""
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
        from moto.core.botocore_stubber import BotocoreStubber

        self._swap(BotocoreStubber, "process_request", process_request, "stubber")
        update_parser = importlib.import_module(_EXPRESSIONS).UpdateExpressionParser
        parse_update = functools.lru_cache(maxsize=1024)(update_parser.make)
        self._swap(update_parser, "make", staticmethod(parse_update), "dynamodb")

    def uninstall(self) -> None:
        """Put every original back."""
        for (_key, attribute), (owner, original) in self._saved.items():
            setattr(owner, attribute, original)
        self._saved.clear()
