"""What a Lambda handler imports from the kit. Nothing here imports CDK or moto, so this
package is all that a function's asset carries of sagakit."""

from __future__ import annotations

from sagakit.runtime.command import CamelModel, SagaCommand, SagaError
from sagakit.runtime.errors import BusinessError, InvalidCommand, TransientError
from sagakit.runtime.handler import saga_handler
from sagakit.runtime.settings import SettingsError, load_settings

__all__ = [
    "BusinessError",
    "CamelModel",
    "InvalidCommand",
    "SagaCommand",
    "SagaError",
    "SettingsError",
    "TransientError",
    "load_settings",
    "saga_handler",
]
