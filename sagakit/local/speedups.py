"""Caches for moto's Step Functions interpreter, which rebuilds per execution what never changes.

Profiled on the onboarding saga (yappi, wall clock), most of an offline saga went to:

* parsing the ASL definition again for every execution (ANTLR), in
  ``AmazonStateLanguageParser.parse``; the parsed program keeps its per-execution state in the
  evaluation ``Environment`` (its heap and stack), not in the components, so one parse serves all;
* building a JSONPath parser (PLY yacc tables) for every path evaluated, in ``jsonpath_ng``'s
  ``parse``; a parsed path is an immutable expression tree;
* creating a boto3 client for every Lambda task, in ``boto_client_for``; boto3 clients are
  thread-safe, so one per (region, service) is shared.

``InterpreterSpeedups`` installs the three caches and removes them again. The semantics are
unchanged: the e2e suite runs with them installed.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

__all__ = ["InterpreterSpeedups"]

_LAMBDA_UTILS = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_JSONPATH_MODULES = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)


class InterpreterSpeedups:
    """Install (and later remove) the interpreter caches described in the module docstring."""

    def __init__(self) -> None:
        self._saved: dict[tuple[str, str], Any] = {}

    def _swap(self, owner: Any, attribute: str, replacement: Any, key: str) -> None:
        if (key, attribute) not in self._saved:
            self._saved[(key, attribute)] = (owner, getattr(owner, attribute))
        setattr(owner, attribute, replacement)

    def install(self) -> None:
        """Cache ASL parses, JSONPath parses and the interpreter's boto3 clients."""
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

    def uninstall(self) -> None:
        """Put every original back."""
        for (_key, attribute), (owner, original) in self._saved.items():
            setattr(owner, attribute, original)
        self._saved.clear()
