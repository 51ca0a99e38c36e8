"""What a step's cold start loads and how: each case runs in a fresh interpreter, as Lambda's
INIT phase does (``bench.cold_start`` measures the time; these pin the behaviour behind it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STEP = "functions.billing.handlers.setup_billing"
#: What Lambda's runtime sets, which ``sagakit.runtime.coldstart`` recognises.
ON_LAMBDA = {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13"}


def fresh(code: str, **environment: str) -> Any:
    """Run ``code`` in a new interpreter at the project root; it prints one JSON value last
    (a handler's JSON logs go to stdout before it)."""
    clean = {k: v for k, v in os.environ.items() if k not in ON_LAMBDA}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.splitlines()[-1])


def test_an_orchestrated_step_does_not_load_the_choreography_adapter() -> None:
    # When a step's handler module is imported
    loaded = fresh(f"import json, sys, {STEP}; print(json.dumps(sorted(sys.modules)))")

    # Then the adapter a choreography rule's input needs is not loaded: an orchestrated step
    # never calls it, and it would cost every cold start its compilation and its models
    assert STEP in loaded
    assert "sagakit.runtime.choreography" not in loaded
