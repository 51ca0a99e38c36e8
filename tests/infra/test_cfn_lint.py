"""cfn-lint reads every synthesized template (dev and prod) and finds no error, and no warning
beyond the one CDK always causes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Synthesized

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
#: W3005 "DependsOn already enforced by a GetAtt": CDK makes each function depend on its role's
#: DefaultPolicy *and* on the role it also names in ``Role``, so the policy exists before the
#: first invocation (aws-cdk-lib's Function). Redundant, harmless, and not ours to remove.
EXPECTED_WARNINGS = {"W3005"}


@pytest.fixture(scope="module")
def matches(
    dev: Synthesized, prod: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """cfn-lint's matches per template: dev, prod, and a deliberately broken copy of dev (one
    run for all three: cfn-lint takes seconds to start)."""
    broken = json.loads(json.dumps(dev.raw))
    function = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    function["Properties"]["Runtime"] = "python2.99"
    directory = tmp_path_factory.mktemp("cfn-lint")
    paths = {}
    for name, template in {"dev": dev.raw, "prod": prod.raw, "broken": broken}.items():
        paths[name] = directory / f"{name}.template.json"
        paths[name].write_text(json.dumps(template, indent=1))
    done = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", "eu-west-1", "us-east-1", "--", *map(str, paths.values())],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.stdout, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return {name: [m for m in found if Path(m["Filename"]).name == path.name] for name, path in paths.items()}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_finds_no_error_in_the_template(stage: str, matches: dict[str, list[dict[str, Any]]]) -> None:
    errors = [f"{m['Rule']['Id']} {m['Message']}" for m in matches[stage] if m["Level"] == "Error"]
    assert errors == []
    unexpected = [
        f"{m['Rule']['Id']} {m['Message']}" for m in matches[stage] if m["Rule"]["Id"] not in EXPECTED_WARNINGS
    ]
    assert unexpected == []


def test_cfn_lint_would_report_a_broken_template(matches: dict[str, list[dict[str, Any]]]) -> None:
    # Guards the test above: a function with a runtime that does not exist is an error
    assert any(m["Level"] == "Error" and "python2.99" in m["Message"] for m in matches["broken"])
