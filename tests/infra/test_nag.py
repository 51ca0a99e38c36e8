"""cdk-nag: the AwsSolutions and Serverless packs run at every synthesis, nothing is left
unacknowledged, every acknowledgment covers a real finding on the construct it names, and the
README lists them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra import nag
from infra.app import build_app

if TYPE_CHECKING:
    from aws_cdk import Stack
    from conftest import Synthesized

ROOT = Path(__file__).resolve().parents[2]


def findings(stack: Stack) -> list[tuple[str, str]]:
    """(rule id, construct path) of every finding the packs report on ``stack``."""
    found: list[tuple[str, str]] = []
    for pack in nag.rule_packs():
        report: Any = pack.validate_scope(stack)  # type: ignore[attr-defined]
        for violation in report.violations:
            found.extend((violation.rule_name, resource.construct_path) for resource in violation.violating_resources)
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_synthesis_leaves_no_unacknowledged_finding(stage: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(stage)

    assert findings(synthesized.stack) == []


def test_every_acknowledgment_covers_exactly_the_findings_it_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dev: Synthesized
) -> None:
    # Given the dev stack built with acknowledgments recorded but not applied
    recorded: list[tuple[str, str]] = []
    monkeypatch.setattr(
        nag, "acknowledge", lambda construct, *found: recorded.extend((f.rule, construct.node.path) for f in found)
    )
    _, bare = build_app("dev", outdir=str(tmp_path))
    raw = findings(bare)

    def covers(acknowledgment: tuple[str, str], finding: tuple[str, str]) -> bool:
        (rule, path), (found_rule, found_path) = acknowledgment, finding
        return rule == found_rule and (found_path == path or found_path.startswith(f"{path}/"))

    # Then each finding is covered by exactly one acknowledgment, and each one covers a finding
    assert raw, "the packs found nothing at all: are they still running?"
    for finding in raw:
        assert sum(covers(a, finding) for a in recorded) == 1, f"{finding} is not acknowledged exactly once"
    for acknowledgment in recorded:
        assert any(covers(acknowledgment, f) for f in raw), f"{acknowledgment} acknowledges nothing"
    # And they are the acknowledgments the real stack carries
    assert sorted(recorded) == sorted((a.rule, a.path) for a in nag.acknowledged(dev.stack))


def test_nothing_is_acknowledged_for_the_whole_stack(dev: Synthesized) -> None:
    # A stack-wide acknowledgment would hide the same finding on a resource added later
    assert {a.path for a in nag.acknowledged(dev.stack)}.isdisjoint({dev.stack.node.path, ""})


def test_every_acknowledgment_gives_a_reason(dev: Synthesized) -> None:
    for acknowledgment in nag.acknowledged(dev.stack):
        assert len(acknowledgment.reason.split()) >= 12, acknowledgment


def test_a_new_finding_fails_synthesis(tmp_path: Path) -> None:
    # Given the real app, and a queue that is neither encrypted by choice nor SSL-only
    from aws_cdk import aws_sqs as sqs

    app, stack = build_app("dev", outdir=str(tmp_path))
    sqs.Queue(stack, "Careless", encryption=sqs.QueueEncryption.UNENCRYPTED)

    # When it is synthesized, then the rule packs stop it, naming the finding
    with pytest.raises(RuntimeError, match=r"ValidationFailed: (.|\n)*SagaKit-dev/Careless/Resource"):
        app.synth()
    assert {rule for rule, path in findings(stack) if path.startswith(f"{stack.node.path}/Careless")} >= {
        "AwsSolutions-SQS4",  # SSL not enforced
        "Serverless-SQSRedrivePolicy",
    }


def test_the_readme_lists_every_acknowledgment(dev: Synthesized) -> None:
    # `python -m infra.nag` prints the table
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### cdk-nag acknowledgments", 1)[1].split("\n## ", 1)[0]
    table = "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))

    assert table == nag.markdown_table(nag.acknowledged(dev.stack)), "README table is stale: python -m infra.nag"
    count = len(nag.acknowledged(dev.stack))
    assert re.search(rf"\b{count} acknowledged findings\b", section), f"README should say {count} acknowledged findings"


def test_prod_acknowledges_the_same_findings_as_dev(dev: Synthesized, prod: Synthesized) -> None:
    def kinds(synthesized: Synthesized) -> list[tuple[str, str]]:
        return sorted((a.rule, a.path.split("/", 1)[1]) for a in nag.acknowledged(synthesized.stack))

    assert kinds(prod) == kinds(dev)


def test_python_m_infra_nag_readme_rewrites_the_table_and_the_count_only(tmp_path: Path) -> None:
    # Given a README whose acknowledgments section is stale
    readme = tmp_path / "README.md"
    stale = "| Finding | Count | Acknowledged on | Reason |\n|---|---|---|---|\n| `old` | 1 | `X` | gone |\n"
    section = "### cdk-nag acknowledgments\n\nIntro, {} acknowledged findings.\n\n{}\nAfter.\n\n## Next\n"
    readme.write_text("# p\n\n" + section.format(3, stale))
    table = "| Finding | Count | Acknowledged on | Reason |\n|---|---|---|---|\n| `new` | 2 | `Y` | why |\n"
    # When it is written, then written again
    changed, again = nag.write_readme(readme, table, 2), nag.write_readme(readme, table, 2)
    # Then the table and the count are replaced, the prose around them kept, and the second is a no-op
    assert (changed, again) == (True, False)
    assert readme.read_text() == "# p\n\n" + section.format(2, table)


def test_python_m_infra_nag_readme_names_a_missing_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# p\n")
    with pytest.raises(ValueError, match="no '### cdk-nag acknowledgments' section"):
        nag.write_readme(readme, "| a |\n", 1)
