"""The committed ASL snapshots (``statemachines/<saga>.asl.json``) are what reviewers read in a
diff, so they must be exactly what a fresh synth produces, and valid ASL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sagakit.asl import render_snapshots

if TYPE_CHECKING:
    # The fixtures' type; tests/infra is not a package (it would shadow ``infra``).
    from conftest import Synthesized


ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "statemachines"
STATELINT = Path(sys.executable).parent / "statelint"
#: The snapshot names a function ``${CreateWorkspace}``; statelint wants a URI there.
PLACEHOLDER = re.compile(r'"\$\{([A-Za-z0-9]+)\}"')


def test_the_onboarding_snapshot_is_what_synth_produces(dev: Synthesized) -> None:
    # Given a fresh synth of the dev stage
    rendered = render_snapshots(dev.raw)

    # Then every saga's committed snapshot exists and is identical
    assert "onboard_client.asl.json" in rendered
    for name, text in rendered.items():
        path = SNAPSHOTS / name
        assert path.is_file(), f"statemachines/{name} is missing: run `make asl`"
        assert path.read_text() == text, f"statemachines/{name} is stale: run `make asl`"


def _lint(definition_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    arns = PLACEHOLDER.sub(r'"arn:aws:lambda:eu-west-1:123456789012:function:sagakit-dev-\1"', definition_text)
    path = tmp_path / "definition.asl.json"
    path.write_text(arns)
    return subprocess.run(
        [str(STATELINT), "--ignore=FLOAT", str(path)], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize("name", sorted(p.name for p in SNAPSHOTS.glob("*.asl.json")))
def test_a_committed_snapshot_is_valid_asl(name: str, tmp_path: Path) -> None:
    # When statelint reads the snapshot (placeholders stood in for by function ARNs)
    result = _lint((SNAPSHOTS / name).read_text(), tmp_path)

    # Then it finds nothing wrong
    assert result.returncode == 0, f"statelint on statemachines/{name}:\n{result.stdout}{result.stderr}"


def test_a_saga_with_a_parallel_group_compiles_to_valid_asl(provisioning_asl: dict[str, Any], tmp_path: Path) -> None:
    result = _lint(json.dumps(provisioning_asl), tmp_path)

    assert result.returncode == 0, f"statelint on ProvisionClientSaga:\n{result.stdout}{result.stderr}"


def test_a_saga_with_a_retriable_parallel_group_compiles_to_valid_asl(tmp_path: Path) -> None:
    from test_state_machine import WELCOME_SAGA, compile_saga

    result = _lint(json.dumps(compile_saga(WELCOME_SAGA)), tmp_path)

    assert result.returncode == 0, f"statelint on WelcomeClientSaga:\n{result.stdout}{result.stderr}"


def test_statelint_would_catch_a_broken_definition(onboard_asl: dict[str, Any], tmp_path: Path) -> None:
    # Guards the two tests above: a transition to a state that does not exist must be reported
    broken = json.loads(json.dumps(onboard_asl))
    broken["States"]["DeleteTenant"]["Next"] = "Nowhere"

    result = _lint(json.dumps(broken), tmp_path)

    assert result.returncode != 0
    assert "Nowhere" in result.stdout + result.stderr
