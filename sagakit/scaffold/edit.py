"""Adding event models to an existing ``events/<service>.py``: the one edit the scaffold makes to a
module it did not just write.

A producer module has a ``SOURCE``, an ``__all__`` list and a ``MODELS`` tuple (see
``events/billing.py``). The new classes go just before ``MODELS``; ``MODELS``, ``__all__`` and
the ``events.fields`` import are rewritten with the new names. The result is then sorted and
formatted by ruff (``sagakit.scaffold.plan.tidy``), as a person would after such an edit.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from sagakit.scaffold.render import isort_key, line

__all__ = ["ModuleEdit", "add_event_models"]


@dataclass(frozen=True)
class ModuleEdit:
    """The new text of a module, or why it cannot be edited."""

    text: str | None
    problem: str | None = None


def _assignment(tree: ast.Module, name: str) -> ast.Assign | ast.AnnAssign | None:
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node
    return None


def _names(node: ast.expr | None) -> list[str] | None:
    """The names in a literal tuple or list of names (``MODELS``) or of strings (``__all__``)."""
    if not isinstance(node, ast.Tuple | ast.List):
        return None
    found: list[str] = []
    for item in node.elts:
        if isinstance(item, ast.Name):
            found.append(item.id)
        elif isinstance(item, ast.Constant) and isinstance(item.value, str):
            found.append(item.value)
        else:
            return None
    return found


def add_event_models(text: str, *, source: str, block: str, names: list[str], fields: set[str]) -> ModuleEdit:
    """Add the classes of ``block`` (named ``names``) to the producer module ``text``.

    ``source`` must be the module's ``SOURCE``; ``fields`` are the ``events.fields`` types the
    new classes use.
    """
    tree = ast.parse(text)
    source_node = _assignment(tree, "SOURCE")
    found_source = getattr(source_node, "value", None)
    if not (isinstance(found_source, ast.Constant) and found_source.value == source):
        return ModuleEdit(None, f"its SOURCE is not {source!r}, so it holds another producer's events")
    models = _assignment(tree, "MODELS")
    exported = _assignment(tree, "__all__")
    models_names = _names(models.value if models else None)
    exported_names = _names(exported.value if exported else None)
    if models is None or models_names is None:
        return ModuleEdit(None, "it has no MODELS tuple of model classes to add to")
    if exported is None or exported_names is None:
        return ModuleEdit(None, "it has no literal __all__ list to add to")

    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, line after the last, replacement), 0-based

    annotation = f": {ast.get_source_segment(text, models.annotation)}" if isinstance(models, ast.AnnAssign) else ""
    models_line = line("models_tuple", annotation, [*models_names, *names])
    edits.append((models.lineno - 1, models.end_lineno or models.lineno, f"{block.strip()}\n\n\n{models_line}"))
    exported_line = line("dunder_all", sorted({*exported_names, *names}, key=isort_key))
    edits.append((exported.lineno - 1, exported.end_lineno or exported.lineno, exported_line))
    field_import = next(
        (node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "events.fields"), None
    )
    if field_import is not None:
        merged = sorted({*(alias.name for alias in field_import.names), *fields}, key=isort_key)
        last = field_import.end_lineno or field_import.lineno
        edits.append((field_import.lineno - 1, last, line("from_import", "events.fields", merged)))
    elif fields:
        # A new import line after the last one; ``tidy`` (ruff's isort) puts it in its place.
        imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
        after = (imports[-1].end_lineno or imports[-1].lineno) if imports else 0
        edits.append((after, after, line("from_import", "events.fields", sorted(fields, key=isort_key))))

    for first, last, replacement in sorted(edits, reverse=True):
        lines[first:last] = [replacement]
    return ModuleEdit("".join(lines))
