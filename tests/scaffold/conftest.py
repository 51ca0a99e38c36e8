"""Fixtures for the scaffold's tests: copies of the project to scaffold into.

A copy holds the project's sources (not ``.venv``, ``node_modules``, ``cdk.out`` or ``.git``);
the commands run in it with this virtualenv's Python, which finds the copy's packages first
because the copy is the working directory and on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagakit.scaffold import Project

ROOT = Path(__file__).resolve().parents[2]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
#: The saga the tests scaffold: the README's example.
SHIP_ORDER = [
    "saga",
    "ShipOrder",
    "--service",
    "orders",
    "--step",
    "ReserveStock:inventory:ReleaseStock",
    "--step",
    "ChargePayment:payments:RefundPayment",
    "--step",
    "ShipParcel:shipping",
]


def copy_project(destination: Path) -> Path:
    """A copy of the project's sources at ``destination``."""
    shutil.copytree(ROOT, destination, ignore=NOT_COPIED, symlinks=True)
    return destination


def in_copy(root: Path, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python <command>`` in the copy at ``root``, with its packages first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *command], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project that no test writes to (checks and dry runs only)."""
    return copy_project(tmp_path_factory.mktemp("scaffold") / "project")


@pytest.fixture(scope="session")
def project(pristine: Path) -> Project:
    """What the scaffold reads of ``pristine``."""
    return Project.load(pristine)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the project of this test's own, to write into."""
    return copy_project(tmp_path / "project")
