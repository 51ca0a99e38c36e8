"""``saga scaffold``: a new saga, step or service, written from Jinja2 templates in the project's
shape, with its tests, checked before anything is written.

- ``sagakit.scaffold.names``: the names the scaffold checks and derives (``StockReserved``).
- ``sagakit.scaffold.project``: what it reads of the project (sagas, events, service files).
- ``sagakit.scaffold.plan``: the files of a saga, step or service (``plan_saga``...), and writing them.
- ``sagakit.scaffold.cli``: the ``saga scaffold`` commands.
"""

from __future__ import annotations

from sagakit.scaffold.plan import Action, FileChange, Plan, Problem, ScaffoldError, plan_saga, plan_service, plan_step
from sagakit.scaffold.project import Project, ProjectError

__all__ = [
    "Action",
    "FileChange",
    "Plan",
    "Problem",
    "Project",
    "ProjectError",
    "ScaffoldError",
    "plan_saga",
    "plan_service",
    "plan_step",
]
