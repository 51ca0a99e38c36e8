"""What a Lambda handler imports from the kit. Nothing here imports CDK or moto, so this
package is all that a function's asset carries of sagakit."""

from __future__ import annotations

# First: on Lambda, it holds the garbage collector back while the rest loads (see its docstring).
from sagakit.runtime.coldstart import resume_collection
from sagakit.runtime.command import SAGA_ID_PATTERN, CamelModel, SagaCommand, SagaError
from sagakit.runtime.errors import BusinessError, InvalidCommand, TransientError, describe_validation_error
from sagakit.runtime.handler import saga_handler
from sagakit.runtime.settings import SettingsError, load_settings

__all__ = [
    "SAGA_ID_PATTERN",
    "BusinessError",
    "CamelModel",
    "InvalidCommand",
    "SagaCommand",
    "SagaError",
    "SettingsError",
    "TransientError",
    "describe_validation_error",
    "load_settings",
    "resume_collection",
    "saga_handler",
]
