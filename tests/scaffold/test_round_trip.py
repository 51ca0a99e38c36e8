"""Round trip: ``saga scaffold saga`` writes a three-step saga into a copy of the project; then,
in that copy, the CDK app synthesizes with it, the tests it generated pass, and the files it
generated pass ruff, ruff format and mypy (strict). The three checks run at the same time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scaffold.conftest import ROOT, SHIP_ORDER, copy_project, in_copy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GENERATED_TESTS = [
    "tests/unit/test_ship_order_definition.py",
    "tests/integration/test_inventory_handlers.py",
    "tests/integration/test_payments_handlers.py",
    "tests/integration/test_shipping_handlers.py",
    "tests/e2e/test_ship_order_saga.py",
]
#: Synthesizes the copy's CDK app in-process (``infra.app.build_app``) and prints what it holds.
SYNTH = """
import json, sys
from infra.app import build_app

app, stack = build_app("dev", outdir=sys.argv[1])
resources = app.synth().get_stack_by_name(stack.stack_name).template["Resources"].values()

def named(kind, name):
    return sorted(r["Properties"][name] for r in resources if r["Type"] == kind)

print(json.dumps({
    "machines": named("AWS::StepFunctions::StateMachine", "StateMachineName"),
    "functions": named("AWS::Lambda::Function", "FunctionName"),
    "tables": named("AWS::DynamoDB::Table", "TableName"),
    "rules": [r["Properties"].get("EventPattern") for r in resources if r["Type"] == "AWS::Events::Rule"],
}))
"""


def _start(root: Path, *command: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        list(command), cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def lint(root: Path, files: list[str], cache: Path) -> list[str]:
    """ruff, ruff format and mypy (the project's strict settings) on ``files``: what they report.

    Only errors in ``files`` count: the rest of the copy is not this test's subject. mypy starts
    from a copy of the project's own cache when there is one (``make test`` runs ``make lint``
    first), which holds the third-party modules; without one, it does not check the modules the
    files import (``--follow-imports=silent``): checking moto and the CDK from cold takes minutes.
    """
    ruff = str(Path(sys.executable).parent / "ruff")
    reports = [
        subprocess.run([ruff, *check, *files], cwd=root, capture_output=True, text=True, check=False)
        for check in (["check"], ["format", "--check"])
    ]
    problems = [report.stdout + report.stderr for report in reports if report.returncode != 0]
    options = ["--follow-imports=silent"]
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", cache)
        options = []
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *options, *files],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if "Success:" not in typed.stdout and "Found " not in typed.stdout:
        problems.append(f"mypy did not run:\n{typed.stdout}{typed.stderr}")
    problems += [line for line in typed.stdout.splitlines() if line.split(":", 1)[0] in files and ": error:" in line]
    return problems


def test_a_scaffolded_saga_synthesizes_passes_its_tests_and_the_linters(tmp_path: Path) -> None:
    started = time.monotonic()
    # Given a copy of the project
    root = copy_project(tmp_path / "project")

    # When the README's saga is scaffolded into it
    scaffolded = in_copy(root, "-m", "sagakit.cli", *["scaffold", *SHIP_ORDER])
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    generated = sorted(line.split()[1] for line in scaffolded.stdout.splitlines() if line.startswith("  create "))
    python_files = [path for path in generated if path.endswith(".py")]
    assert set(GENERATED_TESTS) <= set(python_files)
    assert "statemachines/ship_order.py" in python_files

    # Then synth and the generated tests run (in the background) while ruff and mypy check the files
    scaffolded_at = time.monotonic()
    synth = _start(root, sys.executable, "-c", SYNTH, str(tmp_path / "cdk.out"))
    tests = _start(root, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *GENERATED_TESTS)
    lint_problems = lint(root, python_files, tmp_path / "mypy")
    linted_at = time.monotonic()
    synth_output = synth.communicate(timeout=300)[0]
    tests_output = tests.communicate(timeout=300)[0]

    assert not lint_problems, "\n".join(lint_problems)
    assert synth.returncode == 0, f"synth failed in the copy:\n{synth_output}"
    assert tests.returncode == 0, f"the generated tests failed in the copy:\n{tests_output}"
    synthesized = json.loads(synth_output.strip().splitlines()[-1])
    assert "sagakit-dev-ShipOrderSaga" in synthesized["machines"]
    assert {"sagakit-dev-ReserveStock", "sagakit-dev-RefundPayment", "sagakit-dev-ShipParcel"} <= set(
        synthesized["functions"]
    )
    assert {"sagakit-dev-inventory", "sagakit-dev-payments", "sagakit-dev-shipping"} <= set(synthesized["tables"])
    assert {"source": ["orders"], "detail-type": ["ShipOrderRequested"]} in synthesized["rules"]
    print(
        f"\nround trip {time.monotonic() - started:.1f}s: scaffold {scaffolded_at - started:.1f}s, "
        f"ruff + mypy {linted_at - scaffolded_at:.1f}s (alongside synth and the generated tests: "
        f"{tests_output.strip().splitlines()[-1]})"
    )
