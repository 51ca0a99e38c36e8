"""Fast time for the Step Functions interpreter: retries and waits that take milliseconds.

moto's interpreter really sleeps between retries (``time.sleep`` in the retrier) and really
blocks in Wait states (``WaitFunction._wait_interval``). Tests and the failure matrix run with
``FastClock(factor=0.001)``; the demo keeps real time.
"""

from __future__ import annotations

import time
import types
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FastClock"]

_PATCHED_MODULES = ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl",)


@dataclass
class FastClock:
    """Scale the interpreter's sleeps by ``factor`` while installed."""

    factor: float = 0.001
    slept: float = 0.0
    _saved: dict[str, Any] = field(default_factory=dict)

    def install(self) -> None:
        """Give the interpreter's modules a ``time`` whose ``sleep`` is scaled."""
        import importlib

        clock = self
        shim = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})

        def sleep(seconds: float) -> None:
            clock.slept += seconds
            time.sleep(seconds * clock.factor)

        shim.sleep = sleep
        for name in _PATCHED_MODULES:
            module = importlib.import_module(name)
            if name not in self._saved:
                self._saved[name] = module.time
            module.time = shim  # type: ignore[attr-defined]

        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

        if "wait" not in self._saved:
            self._saved["wait"] = WaitFunction._wait_interval

        def wait_interval(function: Any, env: Any, wait_seconds: int) -> None:
            clock.slept += wait_seconds
            if wait_seconds > 0:
                env.program_state_event.wait(wait_seconds * clock.factor)

        WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        """Restore real time."""
        import importlib

        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

        wait = self._saved.pop("wait", None)
        if wait is not None:
            WaitFunction._wait_interval = wait  # type: ignore[method-assign]
        for name, original in self._saved.items():
            importlib.import_module(name).time = original  # type: ignore[attr-defined]
        self._saved.clear()
