"""``python -m bench`` (``make bench``): every benchmark, each in a fresh process, one table.

    .venv/bin/python -m bench [--only cold_start,saga_cost] [--quick]

The offline benchmarks share one synthesized cloud assembly. ``--quick`` runs fewer repeats
(to try the machinery, not to quote: the README's figures come from the defaults).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row, load_rows, progress, render

#: Benchmark module -> (its options, its options with --quick); in the table's order.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "cold_start": (["--runs", "7"], ["--runs", "1"]),
    "saga_cost": ([], []),
    "offline_throughput": ([], ["--sagas", "20", "--concurrent", "10", "--repeats", "1"]),
    "synth_scaling": (["--runs", "3"], ["--runs", "1"]),
    "test_loop": ([], []),
}
_USES_ASSEMBLY = ("cold_start", "saga_cost", "offline_throughput")


def main() -> None:
    """Run the benchmarks and print one table."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--only", help="comma-separated benchmark modules (default: all)")
    arguments.add_argument("--quick", action="store_true", help="fewer repeats: try it, do not quote it")
    args = arguments.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        arguments.error(f"unknown benchmarks: {', '.join(sorted(unknown))} (known: {', '.join(BENCHMARKS)})")
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        assembly = Path(tmp) / "cdk.out"
        if any(name in _USES_ASSEMBLY for name in chosen):
            progress("synthesizing the cloud assembly the offline benchmarks share")
            subprocess.run([sys.executable, "-m", "bench.assembly", str(assembly)], check=True)
        for name in chosen:
            options = BENCHMARKS[name][1 if args.quick else 0]
            if name in _USES_ASSEMBLY:
                options = [*options, "--assembly", str(assembly)]
            out = Path(tmp) / f"{name}.json"
            subprocess.run([sys.executable, "-m", f"bench.{name}", *options, "--json", str(out)], check=True)
            rows.extend(load_rows(out))
    progress(f"all benchmarks: {time.perf_counter() - started:.0f} s")
    command = ".venv/bin/python -m bench" + (" --quick" if args.quick else "") + " (what make bench runs)"
    print(render(rows, command=command))


if __name__ == "__main__":
    main()
