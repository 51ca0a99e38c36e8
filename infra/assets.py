"""Lambda assets built without Docker: a plain folder per service, made by local bundling.

Each service's asset holds only what its handlers import: ``functions/<service>``, the event
contracts (``events/*.py``) and the kit's handler runtime (``sagakit/runtime``). Third-party
packages (Powertools, pydantic, the X-Ray SDK) come from the public Powertools layer.

``python -m infra.assets [cdk.out]`` reports each function's asset: files, bytes, and bytes
zipped with deflate (the upload, give or take zip headers).
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

__all__ = ["ROOT", "AssetSize", "asset_files", "asset_sizes", "service_code"]

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


@dataclass(frozen=True)
class AssetSize:
    """One Lambda asset of a synthesized stack, and the functions that run it."""

    functions: tuple[str, ...]
    folder: Path
    files: int
    size: int
    """Bytes of the files, unzipped."""
    zipped: int
    """Bytes of the folder zipped with deflate (what is uploaded, give or take zip headers)."""


def asset_sizes(directory: Path, stack_name: str) -> list[AssetSize]:
    """The Lambda assets of ``stack_name`` in the cloud assembly ``directory``, largest first."""
    template = json.loads((directory / f"{stack_name}.template.json").read_text())
    manifest = json.loads((directory / f"{stack_name}.assets.json").read_text())
    folders = {
        destination["objectKey"]: directory / entry["source"]["path"]
        for entry in manifest["files"].values()
        for destination in entry["destinations"].values()
    }
    users: dict[Path, list[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            properties = resource["Properties"]
            users.setdefault(folders[properties["Code"]["S3Key"]], []).append(properties["FunctionName"])
    sizes = []
    for folder, functions in users.items():
        files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder).as_posix())
        sizes.append(
            AssetSize(
                functions=tuple(sorted(functions)),
                folder=folder,
                files=len(files),
                size=sum(p.stat().st_size for p in files),
                zipped=len(buffer.getvalue()),
            )
        )
    return sorted(sizes, key=lambda a: (-a.zipped, a.functions))


def main(argv: list[str]) -> None:
    """Print the asset report of ``cdk.out`` (or the given assembly) for every stack in it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m infra.assets", description="Size of every Lambda asset in a synthesized cloud assembly."
    )
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="the cloud assembly folder (default: cdk.out)")
    directory = Path(parser.parse_args(argv).assembly)
    templates = sorted(directory.glob("*.template.json"))
    if not templates:
        parser.error(f"assembly: {directory} holds no *.template.json; run `make synth` first")
    for template in templates:
        stack_name = template.name.removesuffix(".template.json")
        print(f"{stack_name}: Lambda assets (zip: deflate, as the offline deploy and the CDK CLI pack them)")
        for asset in asset_sizes(directory, stack_name):
            print(
                f"  {asset.zipped / 1024:6.1f} KiB zipped  {asset.size / 1024:6.1f} KiB  {asset.files:3d} files  "
                + ", ".join(name.split("-", 2)[-1] for name in asset.functions)
            )


if __name__ == "__main__":
    main(sys.argv[1:])
