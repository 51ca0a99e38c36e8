"""How long the test loop takes: ``make test`` step by step, its slowest tests, and the failure
matrix alone.

    .venv/bin/python -m bench.test_loop

Runs the four commands ``make test`` runs, in its order, and times each: ``ruff check``,
``ruff format --check``, ``mypy`` (strict) and ``pytest -q --durations=10``. They are run
directly rather than through ``make``, so that the ``setup`` prerequisite never reinstalls the
virtualenv from inside a benchmark; ``make test`` is their sum (its setup is a no-op when the
venv is current). Every step runs even if an earlier one fails, so the slowest tests are always
named. Then ``pytest -q tests/reliability`` alone, if that folder exists. These are wall times
of single runs on a shared machine: they say where the loop's minutes go, not a figure to hold
a goal to.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, emit, parser, progress

__all__ = ["Timed", "measure", "rows"]

BENCH = "test loop"
ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RELIABILITY = ROOT / "tests" / "reliability"
_DURATION = re.compile(r"^(?P<seconds>\d+(?:\.\d+)?)s\s+(?P<phase>call|setup|teardown)\s+(?P<test>\S+)")
_PROBLEM = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<test>\S+)")
_SUMMARY = re.compile(r"^=*\s*(?P<summary>.*\b(?:passed|failed|error|errors|skipped)\b.*) in (?P<seconds>[\d.]+)s")


@dataclass(frozen=True)
class Timed:
    """One command's wall time, exit status, pytest summary and slowest tests."""

    command: str
    wall_s: float
    returncode: int
    summary: str
    slowest: list[tuple[float, str, str]]
    problems: list[tuple[str, str]]


def _run(command: list[str]) -> Timed:
    progress(f"test loop: {' '.join(command)}")
    started = time.perf_counter()
    # The variables the Makefile exports to every target; and this checkout first on the path, so
    # that the tests' subprocesses (the ``saga`` console script) import it and not whatever tree
    # the virtualenv's editable install points at (a git worktree shares the venv).
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    environment = {"AWS_DEFAULT_REGION": "eu-west-1", **os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": path}
    completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    lines = completed.stdout.splitlines()
    slowest = [
        (float(m["seconds"]), m["phase"], m["test"]) for m in (_DURATION.match(line) for line in lines) if m is not None
    ]
    problems = [(m["kind"], m["test"]) for m in (_PROBLEM.match(line) for line in lines) if m is not None]
    summaries = [m for m in (_SUMMARY.match(line) for line in lines) if m is not None]
    summary = f"{summaries[-1]['summary']} in {summaries[-1]['seconds']} s" if summaries else ""
    if completed.returncode != 0 and not summary:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
        summary = "stopped: " + " | ".join(tail)
    return Timed(" ".join(command), wall, completed.returncode, summary, slowest, problems)


#: What ``make test`` runs after its setup, in order (Makefile: ``lint``, then pytest).
STEPS = {
    "ruff check": [str(BIN / "ruff"), "check", "."],
    "ruff format --check": [str(BIN / "ruff"), "format", "--check", "."],
    "mypy (strict)": [str(BIN / "mypy")],
    "pytest -q": [str(BIN / "pytest"), "-q", "--durations=10"],
}


def measure() -> dict[str, Timed]:
    """Each step of ``make test``, then the failure matrix alone."""
    found = {label: _run(command) for label, command in STEPS.items()}
    if RELIABILITY.is_dir():
        found["failure matrix"] = _run([str(BIN / "pytest"), "-q", str(RELIABILITY.relative_to(ROOT))])
    return found


def rows(found: dict[str, Timed]) -> list[Row]:
    """Wall times and outcomes (make test as the sum of its steps), then the slowest tests."""
    steps = [found[label] for label in STEPS]
    failed = [label for label, timed in found.items() if label in STEPS and timed.returncode != 0]
    result = [
        Row(
            BENCH,
            "make test (ruff, format, mypy, pytest)",
            f"{sum(t.wall_s for t in steps):.0f} s = "
            + " + ".join(f"{found[label].wall_s:.0f}" for label in STEPS)
            + (f"; failing: {', '.join(failed)}" if failed else "; all passed"),
        )
    ]
    for label, timed in found.items():
        if label != "pytest -q" and label != "failure matrix":
            continue
        outcome = "passed" if timed.returncode == 0 else f"exit {timed.returncode}"
        what = "pytest -q tests/reliability (failure matrix)" if label == "failure matrix" else "pytest -q"
        result.append(Row(BENCH, what, f"{timed.wall_s:.0f} s, {outcome}: {timed.summary}".rstrip(": ")))
    for kind, test in found["pytest -q"].problems:
        result.append(Row(BENCH, "failed" if kind == "FAILED" else "error", test))
    if not RELIABILITY.is_dir():
        result.append(Row(BENCH, "failure matrix (tests/reliability)", "not there yet: nothing to time"))
    slowest = next((t.slowest for t in found.values() if t.slowest), [])
    for rank, (seconds, phase, test) in enumerate(slowest, start=1):
        result.append(Row(BENCH, f"slowest test {rank}", f"{seconds:.1f} s {phase} {test}"))
    return result


def main() -> None:
    """Measure and print (or ``--json``) the rows."""
    args = parser(__doc__.splitlines()[0]).parse_args()
    emit(rows(measure()), json_path=args.json, command="python -m bench.test_loop")


if __name__ == "__main__":
    main()
