"""``cdk synth`` entry point (see cdk.json): ``python -m infra.app``.

The stage comes from ``-c stage=dev|prod`` (default ``dev``). The stack is environment-agnostic:
synth never calls AWS. The cdk-nag rule packs run at every synthesis (``infra.nag``): a finding
that is not acknowledged fails it.
"""

from __future__ import annotations

from aws_cdk import App, Tags

import infra  # noqa: F401  (points jsii at Node 24 before aws_cdk loads)
from infra import nag
from infra.config import stage_config
from infra.stack import SagaStack
from statemachines import all_sagas

__all__ = ["build_app", "main"]


def build_app(stage: str | None = None, *, outdir: str | None = None) -> tuple[App, SagaStack]:
    """Build the app for ``stage`` (or the ``stage`` context value)."""
    app = App(outdir=outdir) if outdir else App()
    config = stage_config(stage or app.node.try_get_context("stage") or "dev")
    stack = SagaStack(
        app,
        f"SagaKit-{config.stage}",
        config=config,
        sagas=all_sagas(),
        description=f"sagakit sagas ({config.stage})",
    )
    Tags.of(app).add("project", "sagakit")
    Tags.of(app).add("stage", config.stage)
    nag.add_rule_packs(app)
    return app, stack


def main() -> None:
    """Synthesize the cloud assembly."""
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
