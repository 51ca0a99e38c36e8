"""ASL snapshots: each saga's synthesized definition, with function ARNs as placeholders.

``statemachines/<saga>.asl.json`` is written by ``make asl`` from a fresh synth, and a test
fails when the committed file differs: the snapshot is what reviewers read in a diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["definitions_from_template", "render_snapshots", "write_snapshots"]


def _resolve(value: Any, template: dict[str, Any]) -> str:
    if isinstance(value, str):
        return value
    assert isinstance(value, dict), value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_resolve(part, template) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, _attribute = value["Fn::GetAtt"]
        resource = template["Resources"][logical]
        if resource["Type"] == "AWS::Lambda::Function":
            name = resource["Properties"]["FunctionName"]
            return "${" + str(name).rsplit("-", 1)[-1] + "}"
        return "${" + str(logical) + "}"
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]).replace("AWS::", "") + "}"
    raise ValueError(f"cannot render {value!r} in a definition")


def definitions_from_template(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ASL per saga name, from a synthesized template."""
    result: dict[str, dict[str, Any]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        saga = resource.get("Metadata", {}).get("sagakit:saga")
        if saga is None:
            continue
        text = _resolve(resource["Properties"]["DefinitionString"], template)
        result[saga] = json.loads(text)
    return result


def render_snapshots(template: dict[str, Any]) -> dict[str, str]:
    """File name (``onboard_client.asl.json``) -> text, for every saga in ``template``."""
    from statemachines import saga_named

    files: dict[str, str] = {}
    for saga_name, definition in definitions_from_template(template).items():
        stem = saga_named(saga_name).file_stem
        files[f"{stem}.asl.json"] = json.dumps(definition, indent=2, sort_keys=True) + "\n"
    return files


def write_snapshots(template: dict[str, Any], directory: Path) -> list[Path]:
    """Write every snapshot into ``directory``; return the paths written."""
    written = []
    for name, text in render_snapshots(template).items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
