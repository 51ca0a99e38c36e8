"""The synthesized cloud assembly the offline benchmarks deploy into moto, made once per run.

``python -m bench`` synthesizes it once and hands the folder to each benchmark (``--assembly``);
a benchmark run alone synthesizes its own into a temporary folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sagakit.local.deploy import Assembly, load_assembly, synthesize

__all__ = ["STACK", "STAGE", "cloud_assembly"]

STAGE = "dev"
STACK = f"SagaKit-{STAGE}"


@contextmanager
def cloud_assembly(directory: Path | None = None) -> Iterator[Assembly]:
    """The assembly in ``directory`` (synthesized there first if it holds none), or a fresh one
    in a temporary folder that is removed afterwards."""
    if directory is not None:
        if not (directory / f"{STACK}.template.json").exists():
            synthesize(STAGE, directory)
        yield load_assembly(directory, STACK)
        return
    with tempfile.TemporaryDirectory(prefix="bench-cdk-") as out:
        yield synthesize(STAGE, Path(out))


def main() -> None:
    """``python -m bench.assembly DIR``: synthesize into ``DIR`` (what ``python -m bench`` does first)."""
    import sys

    with cloud_assembly(Path(sys.argv[1])):
        pass


if __name__ == "__main__":
    main()
