"""One Lambda cold start, in the fresh interpreter that runs this file (``bench.cold_start``
starts it; it is not imported).

    python -I -B bench/coldstart_probe.py SPEC.json

``SPEC.json`` names the function's asset folder, its handler and two events. The probe puts the
asset folder first on ``sys.path`` (Lambda's ``/var/task``), hides the modules named in
``hide``, times the import of the handler module, then times two invocations with different
events, and writes the times to ``out``. Nothing before the import touches the project: only
the standard library is loaded, as in Lambda's bootstrap.

With ``"profile": true`` the import and the first invocation run under pyinstrument instead,
and its report (text) is written to ``out``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any


class _Hidden(importlib.abc.MetaPathFinder):
    """Makes modules that the Lambda runtime and the Powertools layer do not ship unimportable,
    so that optional imports (the X-Ray SDK patches ``requests`` if it can import it) behave
    as they do on Lambda, not as in this virtualenv."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden: not on Lambda)", name=fullname)


class _Context:
    """The parts of Lambda's context object that Powertools reads."""

    def __init__(self, function_name: str, memory_mb: int, request_id: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def _import(module_name: str, asset: str) -> ModuleType:
    module = importlib.import_module(module_name)
    origin = str(getattr(module, "__file__", ""))
    if not origin.startswith(asset):
        raise RuntimeError(f"{module_name} was imported from {origin}, not from the asset {asset}")
    return module


def main() -> None:
    spec: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    asset: str = spec["asset"]
    sys.meta_path.insert(0, _Hidden(spec["hide"]))
    sys.path.insert(0, asset)
    module_name, _, attribute = str(spec["handler"]).rpartition(".")
    contexts = [_Context(spec["function_name"], int(spec["memory_mb"]), f"bench-{i}") for i in range(2)]
    out = Path(spec["out"])

    if spec.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        handler = getattr(_import(module_name, asset), attribute)
        handler(spec["events"][0], contexts[0])
        profiler.stop()
        out.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")
        return

    # Wall time is what a cold start costs; CPU time (this process only, so not moto's work in
    # the server) is steadier when other processes share the cores.
    started, started_cpu = time.perf_counter(), time.process_time()
    handler = getattr(_import(module_name, asset), attribute)
    imported, imported_cpu = time.perf_counter(), time.process_time()
    calls: list[float] = []
    calls_cpu: list[float] = []
    for event, context in zip(spec["events"], contexts, strict=True):
        before, before_cpu = time.perf_counter(), time.process_time()
        handler(event, context)
        calls.append((time.perf_counter() - before) * 1000)
        calls_cpu.append((time.process_time() - before_cpu) * 1000)
    result = {
        "import_ms": (imported - started) * 1000,
        "import_cpu_ms": (imported_cpu - started_cpu) * 1000,
        "calls_ms": calls,
        "calls_cpu_ms": calls_cpu,
        "modules": len(sys.modules),
    }
    out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
