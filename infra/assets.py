"""Lambda assets built without Docker: a plain folder per service, made by local bundling.

Each service's asset holds only what its handlers import: ``functions/<service>``, the event
contracts (``events/*.py``) and the kit's handler runtime (``sagakit/runtime``). Third-party
packages (Powertools, pydantic, the X-Ray SDK) come from the public Powertools layer.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

__all__ = ["ROOT", "asset_files", "service_code"]

ROOT = Path(__file__).resolve().parent.parent


def asset_files(packages: list[str]) -> list[Path]:
    """The source files (relative to the project root) that an asset of ``packages`` holds."""
    files: list[Path] = []
    for package in packages:
        base = ROOT / package
        if not base.exists():
            continue
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files.append(path.relative_to(ROOT))
        parent = base.parent
        while parent != ROOT:  # the __init__.py of enclosing packages
            init = parent / "__init__.py"
            if init.exists() and init.relative_to(ROOT) not in files:
                files.append(init.relative_to(ROOT))
            parent = parent.parent
    return sorted(set(files))


@jsii.implements(ILocalBundling)
class _CopyFiles:
    def __init__(self, files: list[Path]) -> None:
        self._files = files

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        out = Path(output_dir)
        for relative in self._files:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / relative, target)
        return True


def service_code(packages: list[str]) -> lambda_.Code:
    """A Lambda ``Code`` holding ``packages`` (paths like ``functions/billing``).

    The asset hash is taken from the bundled output, so a change to any file it holds
    (including ``events`` and ``sagakit/runtime``) gives a new asset.
    """
    files = asset_files(packages)
    return lambda_.Code.from_asset(
        str(ROOT / packages[0]),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, and there is no Docker engine here.
            image=DockerImage.from_registry("local-bundling-only"),
            local=_CopyFiles(files),
        ),
    )
