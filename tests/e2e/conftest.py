"""End-to-end fixtures: the CDK app synthesized once per session, deployed into moto per module."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from sagakit.local import LocalRuntime
from sagakit.local.deploy import Assembly
from sagakit.local.runtime import sample_event

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def local(assembly: Assembly) -> Iterator[LocalRuntime]:
    """The stack deployed into moto, with fast retries."""
    with LocalRuntime(assembly=assembly, fast=True) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "local" in request.fixturenames:
        request.getfixturevalue("local").router.clear_faults()


def onboarding(**detail: Any) -> dict[str, Any]:
    """The sample ClientOnboarded with a fresh client id (sagas are named by client)."""
    envelope = copy.deepcopy(sample_event())
    envelope["detail"]["clientId"] = f"client-{next(_ids):04d}"
    envelope["detail"].update(detail)
    return envelope
