"""One typed configuration per stage (``cdk deploy -c stage=dev|prod``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StageConfig", "stage_config"]

Stage = Literal["dev", "prod"]


class StageConfig(BaseModel):
    """Settings that differ between stages. Nothing secret lives here: the sender address is
    an address, and credentials never enter the template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage
    retain_data: bool = Field(description="RETAIN tables and log groups on stack deletion")
    log_retention_days: int = Field(gt=0)
    alarm_failures_threshold: int = Field(ge=1, description="failed sagas per 5 minutes that page")
    reserved_concurrency: int | None = Field(default=None, ge=1)
    sender_address: str = "welcome@example.com"
    powertools_layer_version: int = 27
    memory_mb: int = 256

    @property
    def prefix(self) -> str:
        """Prefix of every physical name, so stages can share an account."""
        return f"sagakit-{self.stage}"


_STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(stage="dev", retain_data=False, log_retention_days=14, alarm_failures_threshold=5),
    "prod": StageConfig(
        stage="prod",
        retain_data=True,
        log_retention_days=365,
        alarm_failures_threshold=1,
        reserved_concurrency=50,
    ),
}


def stage_config(stage: str) -> StageConfig:
    """The configuration of ``stage``; a clear error lists the known stages."""
    try:
        return _STAGES[stage]
    except KeyError:
        raise ValueError(f"stage: unknown stage {stage!r}; use one of {', '.join(_STAGES)}") from None
