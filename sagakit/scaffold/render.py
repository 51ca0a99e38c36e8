"""The Jinja2 templates the scaffold writes files from (``sagakit/scaffold/templates``).

Templates hold the code; Python only decides what goes in (names, imports in ruff's order).
``templates/lines.j2`` has the macros for the lines both a new module and an edit of an existing
one write (imports, ``__all__``, ``MODELS``), so they are written one way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jinja2
from pydantic.alias_generators import to_camel

__all__ = ["from_imports", "isort_key", "line", "python_literal", "render"]


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff gives imported names and ``__all__``: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def from_imports(imports: Mapping[str, Iterable[str]]) -> list[tuple[str, list[str]]]:
    """``{"events.fields": {"Timestamp", "ClientId"}}`` -> ``[("events.fields", ["ClientId",
    "Timestamp"])]``: modules and names in the order ruff's isort keeps them."""
    return [
        (module, sorted(set(names), key=isort_key))
        for module, names in sorted(imports.items(), key=lambda item: item[0].lower())
        if names
    ]


def python_literal(value: Any) -> str:
    """``("A",)`` -> ``("A",)``, with double quotes, as ruff formats a literal."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(python_literal(item) for item in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("sagakit.scaffold", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Python and JSON, never HTML
    )
    environment.filters["json"] = lambda value: json.dumps(value, indent=2)
    environment.filters["quoted"] = lambda values: ", ".join(json.dumps(value) for value in values)
    environment.filters["string_literal"] = json.dumps
    environment.filters["python"] = python_literal
    environment.filters["camel"] = to_camel  # the wire name of a field, as ``CamelModel`` gives it
    return environment


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return _environment().get_template(template).render(**context)


def line(macro: str, *args: Any) -> str:
    """One line from a macro of ``templates/lines.j2``, e.g. ``line("dunder_all", names)``."""
    module = _environment().get_template("lines.j2").module
    return str(getattr(module, macro)(*args)).strip() + "\n"
