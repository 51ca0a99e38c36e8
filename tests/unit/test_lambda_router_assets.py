"""The router runs handlers from their own asset folders, even when several assets carry the
same top-level package with different services in it (as every service asset carries
``functions/``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from sagakit.local.lambda_router import LambdaRouter


def _asset(root: Path, service: str) -> Path:
    folder = root / f"asset-{service}"
    handlers = folder / "routerpkg" / service
    handlers.mkdir(parents=True)
    (folder / "routerpkg" / "__init__.py").write_text("")
    (handlers / "__init__.py").write_text("")
    (handlers / "handler.py").write_text(f"def handler(event, context):\n    return {{'service': {service!r}}}\n")
    return folder


def _function(service: str) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=f"sagakit-test-{service}",
        function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{service}",
        handler=f"routerpkg.{service}.handler.handler",
        code={"S3Key": f"{service}.zip"},
        memory_size=128,
        timeout=3,
        region="eu-west-1",
        environment_vars={},
    )


def test_two_assets_sharing_a_top_level_package_both_run(tmp_path: Path) -> None:
    # Given two assets that both hold `routerpkg`, each with a different service inside
    router = LambdaRouter(
        assets={"billing.zip": _asset(tmp_path, "billing"), "clients.zip": _asset(tmp_path, "clients")}
    )
    try:
        # When the first service's handler runs, then the second's
        first = router.invoke(_function("billing"), {})
        second = router.invoke(_function("clients"), {})
        # Then both ran their own code: the second was found in its own asset
        assert json.loads(first[0]) == {"service": "billing"}
        assert (json.loads(second[0]), second[1]) == ({"service": "clients"}, False)
        assert sys.modules["routerpkg.clients.handler"].__file__.startswith(str(tmp_path / "asset-clients"))
    finally:
        for name in [n for n in sys.modules if n == "routerpkg" or n.startswith("routerpkg.")]:
            del sys.modules[name]


@pytest.fixture(autouse=True)
def _restore_sys_path() -> object:
    saved = list(sys.path)
    yield
    sys.path[:] = saved
