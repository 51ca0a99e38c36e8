"""How long the test loop takes: ``make test``, its slowest tests, and the failure matrix alone.

    .venv/bin/python -m bench.test_loop

Runs ``make test PYTEST_ARGS=--durations=10`` (ruff, ``ruff format --check``, mypy strict,
pytest) once and times it. If lint stops it before pytest runs, pytest is run on its own with
the same options, so the slowest tests are still named. Then ``pytest -q tests/reliability``
alone, if that folder exists. These are wall times on a shared machine, single runs: they say
where the loop's minutes go, not a figure to hold a goal to.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, emit, parser, progress

__all__ = ["Timed", "measure", "rows"]

BENCH = "test loop"
ROOT = Path(__file__).resolve().parent.parent
PYTEST = str(ROOT / ".venv" / "bin" / "pytest")
RELIABILITY = ROOT / "tests" / "reliability"
_DURATION = re.compile(r"^(?P<seconds>\d+(?:\.\d+)?)s\s+(?P<phase>call|setup|teardown)\s+(?P<test>\S+)")
_SUMMARY = re.compile(r"^=*\s*(?P<summary>.*\b(?:passed|failed|error|errors|skipped)\b.*) in (?P<seconds>[\d.]+)s")


@dataclass(frozen=True)
class Timed:
    """One command's wall time, exit status, pytest summary and slowest tests."""

    command: str
    wall_s: float
    returncode: int
    summary: str
    slowest: list[tuple[float, str, str]]


def _run(command: list[str]) -> Timed:
    progress(f"test loop: {' '.join(command)}")
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    lines = completed.stdout.splitlines()
    slowest = [
        (float(m["seconds"]), m["phase"], m["test"]) for m in (_DURATION.match(line) for line in lines) if m is not None
    ]
    summaries = [m for m in (_SUMMARY.match(line) for line in lines) if m is not None]
    summary = f"{summaries[-1]['summary']} in {summaries[-1]['seconds']} s" if summaries else ""
    if completed.returncode != 0 and not summary:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
        summary = "stopped: " + " | ".join(tail)
    return Timed(" ".join(command), wall, completed.returncode, summary, slowest)


def measure() -> dict[str, Timed]:
    """``make test``, pytest alone if lint stopped it, and the failure matrix alone."""
    found = {"make test": _run(["make", "--no-print-directory", "test", "PYTEST_ARGS=--durations=10"])}
    if not found["make test"].slowest:
        found["pytest alone"] = _run([PYTEST, "-q", "--durations=10"])
    if RELIABILITY.is_dir():
        found["failure matrix"] = _run([PYTEST, "-q", str(RELIABILITY.relative_to(ROOT))])
    return found


def rows(found: dict[str, Timed]) -> list[Row]:
    """Wall times and outcomes, then the ten slowest tests by name."""
    result: list[Row] = []
    for label, timed in found.items():
        outcome = "passed" if timed.returncode == 0 else f"exit {timed.returncode}"
        what = {
            "make test": "make test (ruff, format, mypy, pytest)",
            "pytest alone": "pytest -q (make test stopped before it)",
            "failure matrix": "pytest -q tests/reliability (failure matrix)",
        }[label]
        result.append(Row(BENCH, what, f"{timed.wall_s:.0f} s wall, {outcome}; {timed.summary}".rstrip("; ")))
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
