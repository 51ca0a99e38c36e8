"""The garbage collector during a Lambda cold start: held back while the function loads, then
told that what it loaded is permanent.

A step's cold start makes some 120,000 objects (modules, classes, pydantic schemas, botocore
models) that live as long as the function. CPython's collector does not know that: it runs about
160 collections during a step's import and first invocation, rescanning the survivors each time,
about 35 ms of CPU where the baseline handler spends 12 ms (``gc.callbacks`` timed around the
import and first invocation of ``bench.cold_start``'s probe). So on Lambda, importing this module (the first
thing ``sagakit.runtime`` and ``functions`` import) raises the first-generation threshold above
what a cold start allocates. ``resume_collection``, run after the first invocation by
``ends_cold_start`` on every entry point, then freezes the survivors into the permanent
generation (``gc.freeze``: never scanned again, which also spares every later full collection)
and restores the thresholds.

The price is memory, and it is small: the cyclic garbage still unreachable when the first
invocation ends (about 800 objects, some 2,200 small blocks: well under 1 MiB, measured by
unfreezing and collecting at that point) is frozen with the rest instead of being freed. If an
entry point never resumes, the collector still runs, only rarely: nothing is switched off.

With SnapStart (``StageConfig.snap_start``), ``before_snapshot`` lets a handler do the first
invocation's set-up before Lambda snapshots the initialised function, so that a restored
function starts with it done.

Outside Lambda (tests, the CLI, the offline runtime) this module does nothing.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["COLD_START_THRESHOLD", "before_snapshot", "ends_cold_start", "on_lambda", "resume_collection"]

F = TypeVar("F", bound=Callable[..., Any])

#: Net container allocations before a first-generation collection while the function loads;
#: above the ~120,000 objects a step's cold start leaves (CPython's default is 700).
COLD_START_THRESHOLD = 250_000

_saved: tuple[int, ...] | None = None


def on_lambda() -> bool:
    """Whether this process is a Lambda function's (the variables Lambda's runtime sets)."""
    return bool(os.environ.get("LAMBDA_TASK_ROOT") and os.environ.get("AWS_EXECUTION_ENV"))


def _defer_collection() -> None:
    global _saved
    if _saved is None and on_lambda():
        _saved = gc.get_threshold()
        gc.set_threshold(COLD_START_THRESHOLD, *_saved[1:])


def resume_collection() -> None:
    """End the cold start: freeze what it loaded and restore the collector's thresholds.

    Idempotent, and a no-op outside Lambda, so every entry point may call it on each invocation.
    """
    global _saved
    if _saved is not None:
        gc.freeze()
        gc.set_threshold(*_saved)
        _saved = None


def ends_cold_start(entry_point: F) -> F:
    """Decorate a Lambda entry point so that ``resume_collection`` runs after each invocation
    (it acts only after the first): ``saga_handler`` does it for every step, and the kit's other
    functions and a producer handler carry it outermost.

    Examples
    --------
    >>> @ends_cold_start
    ... def handler(event, context):
    ...     return {"ok": True}
    >>> handler({}, None)
    {'ok': True}
    """

    @functools.wraps(entry_point)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        try:
            return entry_point(*args, **kwargs)
        finally:
            resume_collection()

    return cast(F, invoke)


def before_snapshot(warm: Callable[[], object]) -> None:
    """Have ``warm`` run before Lambda takes a SnapStart snapshot of this function.

    ``snapshot_restore_py`` ships with Lambda's Python runtimes (3.12 and later) only, and its
    hooks run only when a published version with SnapStart is initialised; anywhere else this
    does nothing.
    """
    try:
        from snapshot_restore_py import register_before_snapshot  # type: ignore[import-not-found]
    except ImportError:
        return
    register_before_snapshot(warm)


_defer_collection()
