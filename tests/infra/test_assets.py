"""Each function's asset holds its handler and only what it imports: ``functions/<its
service>``, ``functions/shared``, ``events`` and ``sagakit/runtime``; no tests, no infra, no CDK,
no other service. The handler imports from the asset alone, and the asset stays small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.assets import asset_sizes
from sagakit.definition import service_package

if TYPE_CHECKING:
    from conftest import Synthesized

#: Far below Lambda's 50 MB (zipped) upload limit on purpose: the packages come from the
#: Powertools layer, so an asset that grows past this has picked up something it should not.
BUDGET_ZIPPED = 100 * 1024


def function_assets(synthesized: Synthesized) -> dict[str, tuple[dict[str, Any], Path]]:
    """(function properties, asset folder) per function name, from the cloud assembly."""
    directory = Path(synthesized.stack.node.root.outdir)  # type: ignore[attr-defined]
    manifest = json.loads((directory / f"{synthesized.stack.stack_name}.assets.json").read_text())
    folders = {
        destination["objectKey"]: directory / entry["source"]["path"]
        for entry in manifest["files"].values()
        for destination in entry["destinations"].values()
    }
    return {
        r["Properties"]["FunctionName"]: (r["Properties"], folders[r["Properties"]["Code"]["S3Key"]])
        for r in synthesized.raw["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }


def variables(properties: dict[str, Any]) -> dict[str, Any]:
    return dict(properties.get("Environment", {}).get("Variables", {}))


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_each_service_asset_holds_its_service_the_shared_code_events_and_the_runtime(dev: Synthesized) -> None:
    for name, (properties, folder) in function_assets(dev).items():
        files = tree(folder)
        assert all(f.endswith(".py") for f in files), name
        service = properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        if properties["Handler"].startswith("functions."):
            package = service_package(service)
            allowed = ("functions/__init__.py", f"functions/{package}/", "functions/shared/")
        else:  # the starter: the kit's runtime and the event contracts
            allowed = ()
        allowed += ("events/", "sagakit/__init__.py", "sagakit/runtime/")
        assert {f for f in files if not f.startswith(allowed)} == set(), name
        # and its handler is there
        module = properties["Handler"].rsplit(".", 1)[0]
        assert f"{module.replace('.', '/')}.py" in files, name


def test_no_asset_holds_tests_infra_cdk_or_another_service(dev: Synthesized) -> None:
    for name, (properties, folder) in function_assets(dev).items():
        tops = {f.split("/")[0] for f in tree(folder)}
        assert tops <= {"functions", "events", "sagakit"}, name
        services = {f.split("/")[1] for f in tree(folder) if f.startswith("functions/") and f.count("/") > 1}
        own = service_package(properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])
        assert services <= {own, "shared"}, name
        assert not [f for f in tree(folder) if f.startswith(("sagakit/local", "sagakit/compiler", "sagakit/cli"))]


def test_each_handler_imports_from_its_asset_alone(dev: Synthesized) -> None:
    # Given a fresh interpreter that sees the asset first (third-party packages stand in for
    # the Powertools layer), when it imports the handler module
    for name, (properties, folder) in function_assets(dev).items():
        module = properties["Handler"].rsplit(".", 1)[0]
        script = (
            "import importlib, json, sys\n"
            f"sys.path.insert(0, {str(folder)!r})\n"
            f"importlib.import_module({module!r})\n"
            "ours = ('functions', 'events', 'sagakit', 'infra', 'statemachines', 'bench', 'tests')\n"
            "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()"
            " if n.split('.')[0] in ours}))\n"
        )
        done = subprocess.run(
            [sys.executable, "-I", "-B", "-c", script],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            # the function's settings (references to other resources stand in as their names)
            env={**os.environ, **{k: v if isinstance(v, str) else k.lower() for k, v in variables(properties).items()}},
            cwd=folder,
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-1500:]}"
        loaded: dict[str, str | None] = json.loads(done.stdout.splitlines()[-1])
        # Then every project module it loaded came from the asset: nothing is missing from it
        assert loaded, name
        outside = {n: f for n, f in loaded.items() if f is not None and not f.startswith(str(folder))}
        assert outside == {}, name


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_asset_is_small(stage: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(stage)
    directory = Path(synthesized.stack.node.root.outdir)  # type: ignore[attr-defined]

    sizes = asset_sizes(directory, synthesized.stack.stack_name)

    assert sorted(f for a in sizes for f in a.functions) == sorted(function_assets(synthesized))
    for asset in sizes:
        assert asset.zipped < BUDGET_ZIPPED, asset


def test_the_asset_report_names_a_folder_with_no_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.assets import main

    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path)])
    assert exit_.value.code == 2
    assert f"assembly: {tmp_path} holds no *.template.json; run `make synth` first" in capsys.readouterr().err
