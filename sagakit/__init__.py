"""sagakit: sagas for distributed workflows on AWS serverless.

- ``sagakit.definition``: ``Saga``, ``SagaStep``, ``ParallelGroup``, ``Command`` (no AWS imports).
- ``sagakit.compiler``: the CDK construct that compiles a saga into a Step Functions state machine.
- ``sagakit.runtime``: what handlers import (Powertools wrapper, command envelope, errors).
- ``sagakit.local``: the offline runtime that deploys the synthesized stack into moto.
- ``sagakit.cli``: the ``saga`` command.

This module imports nothing heavy, so Lambda assets can carry ``sagakit.runtime`` alone.
"""

from __future__ import annotations

__version__ = "0.1.0"
