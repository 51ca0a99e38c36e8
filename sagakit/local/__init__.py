"""The offline runtime: the synthesized stack deployed into moto, with real handler code."""

from __future__ import annotations

from sagakit.local.lambda_router import Fault, FaultKind, LambdaRouter
from sagakit.local.runtime import LocalRuntime, SagaRun, StateRecord

__all__ = ["Fault", "FaultKind", "LambdaRouter", "LocalRuntime", "SagaRun", "StateRecord"]
