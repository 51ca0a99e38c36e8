"""Write the JSON Schema of every event to ``events/schemas`` (``python -m events.export``).

The schemas are generated, never edited: a test compares them with ``render_schemas()`` so a
model change without ``make schemas`` fails CI.
"""

from __future__ import annotations

import argparse
import json
import sys

from events import EVENTS, SCHEMAS_DIR

__all__ = ["main", "render_schemas"]


def render_schemas() -> dict[str, str]:
    """Every event's schema text, keyed by file name (``client_onboarded.schema.json``)."""
    rendered: dict[str, str] = {}
    for found in EVENTS.values():
        schema = found.model.model_json_schema(by_alias=True)
        rendered[found.schema_path.name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def main(argv: list[str] | None = None) -> int:
    """Write the schemas, removing those of events that no longer exist.

    With ``--check``, write nothing and return 1 if any file is stale or missing.
    """
    parser = argparse.ArgumentParser(prog="python -m events.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a schema file is stale")
    args = parser.parse_args(argv)

    rendered = render_schemas()
    existing = {path.name: path for path in SCHEMAS_DIR.glob("*.schema.json")}
    stale = sorted(
        name
        for name in rendered.keys() | existing.keys()
        if name not in existing or name not in rendered or existing[name].read_text(encoding="utf-8") != rendered[name]
    )
    if args.check:
        for name in stale:
            print(f"stale: events/schemas/{name}", file=sys.stderr)
        return 1 if stale else 0

    SCHEMAS_DIR.mkdir(exist_ok=True)
    for name in stale:
        if name in rendered:
            (SCHEMAS_DIR / name).write_text(rendered[name], encoding="utf-8")
        else:
            existing[name].unlink()
    print(f"events/schemas: {len(rendered)} schemas, {len(stale)} updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
