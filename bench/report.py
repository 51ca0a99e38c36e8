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
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

__all__ = ["Row", "emit", "load_rows", "machine", "median", "parser", "progress", "render", "verdict"]


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


def render(rows: Sequence[Row], *, command: str) -> str:
    """The rows as one fixed-width table under the date, machine and command line."""
    header = ("benchmark", "figure", "value", "goal", "")
    table = [header, *((r.benchmark, r.figure, r.value, r.goal, verdict(r.met)) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"sagakit benchmarks, {date.today().isoformat()}, {machine()}", f"command: {command}", ""]
    for index, line in enumerate(table):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths).rstrip())
    missed = [r for r in rows if r.met is False]
    goals = [r for r in rows if r.met is not None]
    lines.append("")
    lines.append(f"goals: {len(goals) - len(missed)} of {len(goals)} met")
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
