"""The pinned CDK CLI synthesizes the app offline, and what it writes is what the snapshot shows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sagakit.asl import render_snapshots

ROOT = Path(__file__).resolve().parents[2]


def test_npx_cdk_synth_writes_the_template_and_the_current_asl(tmp_path: Path) -> None:
    # Given the pinned CLI from package.json, when a user runs `npx cdk synth`
    done = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "-c", "stage=dev", "--quiet", "-o", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Then it wrote the stack's template, and the saga's ASL in it equals the committed snapshot
    template = json.loads((tmp_path / "SagaKit-dev.template.json").read_text())
    committed = (ROOT / "statemachines" / "onboard_client.asl.json").read_text()
    assert render_snapshots(template)["onboard_client.asl.json"] == committed, "run `make asl`"
