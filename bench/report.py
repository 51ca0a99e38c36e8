"""One table for every benchmark: rows of (benchmark, figure, value, goal, verdict), under a
header that says when, on what and with which command they were measured.

Every script in ``bench/`` returns its figures as ``Row`` values; run alone it prints them with
``render``, and ``python -m bench`` prints all of them as one table. ``--json`` writes the rows
instead, which is how ``python -m bench`` collects them from one fresh process per benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

__all__ = ["Row", "emit", "load_rows", "machine", "median", "parser", "progress", "render", "revision", "verdict"]


@dataclass(frozen=True)
class Row:
    """One figure of one benchmark.

    Parameters
    ----------
    benchmark:
        Which benchmark (``cold start``), the table's first column.
    figure:
        What was measured (``SetupBilling init, X-Ray on``).
    value:
        The measured value, formatted with its unit and, where it has one, its ratio.
    goal:
        The goal it is held to (``<= 1.25 x baseline``); empty for context figures.
    met:
        Whether the goal is met; ``None`` when there is no goal.
    """

    benchmark: str
    figure: str
    value: str
    goal: str = ""
    met: bool | None = None


def verdict(met: bool | None) -> str:
    """``met``, ``MISSED`` or nothing."""
    if met is None:
        return ""
    return "met" if met else "MISSED"


def median(values: Iterable[float]) -> float:
    """The median; benchmarks report medians, never means (other processes share the cores)."""
    return float(statistics.median(list(values)))


def machine() -> str:
    """The machine in one line: cores, architecture, Python."""
    return f"{os.cpu_count()} cores (nproc), {platform.machine()}, Python {platform.python_version()}"


def revision() -> str:
    """The checkout's commit, and whether tracked files differ from it; empty outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"commit {commit}" + (" + uncommitted changes" if changed else "")


def render(rows: Sequence[Row], *, command: str) -> str:
    """The rows as one fixed-width table, grouped by benchmark, under the date, machine, commit
    and command line."""
    # The value last: the long ones (test names) then run past the others without shifting them.
    header = ("figure", "goal", "", "value")
    cells = [("  " + r.figure, r.goal, verdict(r.met), r.value) for r in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(values, widths, strict=True)).rstrip()

    where = ", ".join(part for part in (date.today().isoformat(), machine(), revision()) if part)
    lines = [
        f"sagakit benchmarks: {where}",
        f"command: {command}",
        "",
        line(header),
        line(["-" * w for w in widths[:-1]] + ["-" * min(widths[-1], 60)]),
    ]
    current = None
    for row, cell in zip(rows, cells, strict=True):
        if row.benchmark != current:
            current = row.benchmark
            lines.append(current)
        lines.append(line(cell))
    goals = [r for r in rows if r.met is not None]
    lines.append("")
    lines.append(f"goals: {sum(1 for r in goals if r.met)} of {len(goals)} met")
    return "\n".join(lines)


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every benchmark script shares (``--json``), plus its own options."""
    parsed = argparse.ArgumentParser(description=description)
    parsed.add_argument("--json", type=Path, help="write the rows as JSON to this file instead of printing a table")
    return parsed


def emit(rows: Sequence[Row], *, json_path: Path | None, command: str) -> None:
    """Print the table, or write the rows to ``json_path`` for ``python -m bench``."""
    if json_path is not None:
        json_path.write_text(json.dumps([asdict(row) for row in rows], indent=1), encoding="utf-8")
        return
    print(render(rows, command=command))


def load_rows(path: Path) -> list[Row]:
    """Rows written by ``emit(..., json_path=path)``."""
    return [Row(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


def progress(message: str) -> None:
    """A progress line on stderr: benchmarks take minutes and the table comes at the end."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
