"""The stack deployed into moto once for the package, with fast time.

A package of its own, so that the deployment (and the moto mock it keeps active) ends before the
handler-level tests next to it start their own mocks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagakit.local import LocalRuntime
from sagakit.local.deploy import Assembly


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
