"""Reliability fixtures: the CDK app synthesized once, deployed into moto once for the package
(fast time), and a fresh client per saga so that tests never see each other's records."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagakit.local import LocalRuntime
from sagakit.local.deploy import Assembly, synthesize
from sagakit.local.runtime import sample_event

_clients = itertools.count(1)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The real cloud assembly (what `cdk synth` writes)."""
    return synthesize("dev", Path(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="package")
def local(assembly: Assembly) -> Iterator[LocalRuntime]:
    """The stack deployed into moto, with fast retries, shared by the package's tests."""
    with LocalRuntime(assembly=assembly, fast=True) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "local" in request.fixturenames:
        request.getfixturevalue("local").router.clear_faults()


def fresh_client(prefix: str = "rel") -> str:
    """A client id no other test uses (sagas are named by client)."""
    return f"{prefix}-{next(_clients):05d}"


def onboarding(**detail: Any) -> dict[str, Any]:
    """The sample ClientOnboarded for a fresh client, with ``detail`` overrides (camelCase)."""
    envelope = copy.deepcopy(sample_event())
    envelope["detail"]["clientId"] = fresh_client()
    envelope["detail"].update(detail)
    return envelope
