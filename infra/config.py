"""One typed configuration per stage (``cdk deploy -c stage=dev|prod``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.fields import EmailAddress

__all__ = ["DEFAULT_POWERTOOLS_LAYER", "DEFAULT_RUNTIME", "StageConfig", "stage_config"]

Stage = Literal["dev", "prod"]

#: Python 3.14 is the newest runtime CDK knows; 3.13 stays the default until the Powertools
#: layer for 3.14 is confirmed in the target region (then it is a change of these two values).
DEFAULT_RUNTIME = "python3.13"
DEFAULT_POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python313-arm64"

# The public Powertools v3 layers are named per runtime and architecture (Powertools docs,
# "Lambda Layer"): AWSLambdaPowertoolsPythonV3-python313-arm64.
_LAYER_NAME = re.compile(r"^AWSLambdaPowertoolsPythonV3-python(?P<major>3)(?P<minor>\d+)-(?P<arch>arm64|x86_64)$")


class StageConfig(BaseModel):
    """Settings that differ between stages. Nothing secret lives here: the sender address is
    an address, and credentials never enter the template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage
    retain_data: bool = Field(description="RETAIN tables, log groups and old state-machine versions on deletion")
    log_retention_days: int = Field(gt=0)
    alarm_failures_threshold: int = Field(ge=1, description="failed sagas per 5 minutes that raise the alarm")
    alarm_topic_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:sns:", description="SNS topic the failure alarm notifies (on-call)"
    )
    reserved_concurrency: int | None = Field(default=None, ge=1, description="per function; None = unreserved")
    # The type the notifications handler validates SENDER_ADDRESS with at cold start.
    sender_address: EmailAddress = "welcome@example.com"
    runtime: str = Field(default=DEFAULT_RUNTIME, description="Lambda Python runtime of every function")
    powertools_layer: str = Field(default=DEFAULT_POWERTOOLS_LAYER, description="public Powertools layer name")
    powertools_layer_version: int = Field(default=27, ge=1)
    memory_mb: int = Field(default=256, ge=128, le=10240)
    snap_start: bool = Field(
        default=False,
        description=(
            "Lambda SnapStart for the saga steps and compensations (Python 3.12+): each publishes a "
            "version, and state machines and choreography rules invoke it through the alias 'live'. "
            "Off by default: it bills the snapshot cache and restores. Offline, the stack deploys "
            "and runs through the same aliases, but moto takes no snapshots."
        ),
    )

    @model_validator(mode="after")
    def _layer_fits_the_runtime(self) -> StageConfig:
        match = _LAYER_NAME.match(self.powertools_layer)
        if match is None:
            raise ValueError(
                f"powertools_layer: {self.powertools_layer!r} is not a Powertools v3 layer name "
                "(AWSLambdaPowertoolsPythonV3-python3XY-arm64)"
            )
        layer_runtime = f"python{match['major']}.{match['minor']}"
        if layer_runtime != self.runtime:
            raise ValueError(
                f"powertools_layer: {self.powertools_layer} is built for {layer_runtime}, "
                f"but the runtime is {self.runtime}; change both together"
            )
        if match["arch"] != "arm64":
            raise ValueError(f"powertools_layer: {self.powertools_layer} is for x86_64; functions run on arm64")
        return self

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
