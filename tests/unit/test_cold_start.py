"""What a step's cold start loads and how: each case runs in a fresh interpreter, as Lambda's
INIT phase does (``bench.cold_start`` measures the time; these pin the behaviour behind it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize("on_lambda", [True, False], ids=["on Lambda", "elsewhere"])
def test_the_collector_is_held_back_only_for_a_lambda_cold_start(on_lambda: bool) -> None:
    # Given the collector's thresholds in a fresh interpreter
    code = f"""
import gc, json
default = gc.get_threshold()
import {STEP}
loading = gc.get_threshold()
from sagakit.runtime import resume_collection
resume_collection()
print(json.dumps({{"default": default, "loading": loading, "after": gc.get_threshold(),
                  "frozen": gc.get_freeze_count()}}))
"""
    # When a step's handler module is imported, on Lambda or elsewhere, and the cold start ends
    seen = fresh(code, **(ON_LAMBDA if on_lambda else {}))

    # Then on Lambda the first generation waits while the function loads, and afterwards what
    # it loaded is frozen and the thresholds are the interpreter's again; elsewhere (tests, the
    # CLI, the offline runtime) nothing changes
    if on_lambda:
        assert seen["loading"][0] > 100 * seen["default"][0]
        assert seen["frozen"] > 10_000
    else:
        assert seen["loading"] == seen["default"]
        assert seen["frozen"] == 0
    assert seen["after"] == seen["default"]


def test_a_step_ends_the_cold_start_after_its_first_invocation() -> None:
    # Given a step imported as on Lambda, called once (with an input it refuses: no AWS needed)
    code = f"""
import gc, json
from {STEP} import handler
class Context:
    function_name = "SetupBilling"; memory_limit_in_mb = 256; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:SetupBilling"
before = gc.get_freeze_count()
try:
    handler({{"sagaId": "not a valid id!"}}, Context())
except Exception as error:
    refused = type(error).__name__
print(json.dumps({{"before": before, "after": gc.get_freeze_count(), "refused": refused}}))
"""
    seen = fresh(code, **ON_LAMBDA, POWERTOOLS_TRACE_DISABLED="true", AWS_REGION="eu-west-1")

    # Then the invocation, even a failed one, ended the cold start
    assert seen["refused"] == "InvalidCommand"
    assert seen["before"] == 0
    assert seen["after"] > 10_000


def test_with_snap_start_a_step_is_set_up_before_the_snapshot(tmp_path: Path) -> None:
    # Given Lambda's snapshot hook module (only its runtime ships it), standing in here
    (tmp_path / "snapshot_restore_py.py").write_text(
        "hooks = []\ndef register_before_snapshot(hook):\n    hooks.append(hook)\n", encoding="utf-8"
    )
    code = f"""
import gc, json, snapshot_restore_py
import {STEP}
from sagakit.runtime import aws
for hook in snapshot_restore_py.hooks:
    hook()
print(json.dumps({{"hooks": len(snapshot_restore_py.hooks), "clients": sorted(k[0] for k in aws._clients),
                  "frozen": gc.get_freeze_count()}}))
"""
    # When the step's module is imported and Lambda runs the hooks before taking the snapshot
    seen = fresh(code, **ON_LAMBDA, PYTHONPATH=str(tmp_path), AWS_REGION="eu-west-1", SAGA_EVENT_BUS_NAME="bus")

    # Then the snapshot holds what a first invocation would otherwise make: the step's clients,
    # and the collector's cold start already ended (survivors frozen)
    assert seen["hooks"] == 1
    assert seen["clients"] == ["dynamodb", "events"]
    assert seen["frozen"] > 10_000


def test_without_lambdas_snapshot_module_nothing_is_registered() -> None:
    # Given no snapshot_restore_py (tests, the CLI, a runtime older than Python 3.12)
    loaded = fresh(f"import json, sys, {STEP}; print(json.dumps('snapshot_restore_py' in sys.modules))")

    # Then importing a step does not fail and registers nothing
    assert loaded is False


@pytest.mark.parametrize("disabled", [True, False], ids=["tracing off", "tracing on"])
def test_the_x_ray_sdk_is_loaded_only_when_tracing_is_on(disabled: bool) -> None:
    # Given a step called once, as on Lambda, with tracing switched off or on
    code = f"""
import json, sys
from {STEP} import handler
class Context:
    function_name = "SetupBilling"; memory_limit_in_mb = 256; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:SetupBilling"
try:
    handler({{"sagaId": "not a valid id!"}}, Context())
except Exception:
    pass
print(json.dumps("aws_xray_sdk" in sys.modules))
"""
    loaded = fresh(
        code,
        **ON_LAMBDA,
        AWS_REGION="eu-west-1",
        AWS_LAMBDA_FUNCTION_NAME="SetupBilling",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793",
        POWERTOOLS_TRACE_DISABLED="true" if disabled else "false",  # the tests' own setting is "true"
    )

    # Then tracing off costs no X-Ray SDK import (Tracer would import it anyway); on, it is there
    assert loaded is not disabled
