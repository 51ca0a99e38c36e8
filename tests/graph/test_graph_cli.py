"""`saga graph` as a user runs it: the Mermaid and the Graphviz picture land in --out, a bad
saga name is refused with the known ones, and a machine without Graphviz still gets the Mermaid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagakit import cli_graph
from sagakit.cli import app
from sagakit.graph import image_digest, readme_blocks, saga_graph, source_digest, to_mermaid
from statemachines.onboard_client import OnboardClientSaga

runner = CliRunner()
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (.ci/run installs it)"
)


@needs_dot
def test_saga_graph_writes_the_mermaid_and_a_stamped_svg(tmp_path: Path) -> None:
    # When a user draws the onboarding saga into a folder
    done = runner.invoke(app, ["graph", "OnboardClientSaga", "--out", str(tmp_path)])

    # Then the Mermaid is the fresh render and the SVG is Graphviz's, stamped with its source
    assert done.exit_code == 0, done.output
    graph = saga_graph(OnboardClientSaga)
    assert (tmp_path / "onboard_client.mmd").read_text() == to_mermaid(graph)
    svg = (tmp_path / "onboard_client.svg").read_text()
    assert image_digest(svg) == source_digest(graph)
    assert "<svg" in svg
    for name in ("CreateWorkspace", "SetupBilling", "SendWelcomeEmail", "RevertBilling", "DeleteTenant", "SagaFailed"):
        assert f">{name}</text>" in svg, name
    assert 'stroke-dasharray="5,2"' in svg  # Graphviz's dashed edges


@needs_dot
def test_saga_graph_renders_a_png_on_request(tmp_path: Path) -> None:
    done = runner.invoke(app, ["graph", "OnboardClientSaga", "--out", str(tmp_path), "--format", "png"])

    assert done.exit_code == 0, done.output
    assert (tmp_path / "onboard_client.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_an_unknown_saga_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    done = runner.invoke(app, ["graph", "OnboardSaga", "--out", str(tmp_path)])

    assert done.exit_code == 2
    assert "no saga named 'OnboardSaga'" in done.output
    assert "known: " in done.output and "OnboardClientSaga" in done.output
    assert not list(tmp_path.iterdir())


def test_without_graphviz_the_mermaid_is_written_and_the_svg_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a machine where `dot` is not on the PATH
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    done = runner.invoke(app, ["graph", "OnboardClientSaga", "--out", str(tmp_path)])

    # Then the Mermaid is there, no SVG, and the user is told what to install
    assert done.exit_code == 1
    assert (tmp_path / "onboard_client.mmd").is_file()
    assert not (tmp_path / "onboard_client.svg").exists()
    assert "the SVG needs Graphviz" in " ".join(done.output.split())


def test_readme_rewrites_only_the_sagas_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a README with a stale block for the onboarding saga between other text
    readme = tmp_path / "README.md"
    stale = "```mermaid\nflowchart TD\n  old --> picture\n```\n"
    readme.write_text(f"# intro\n\n<!-- saga-graph:OnboardClientSaga -->\n{stale}<!-- /saga-graph -->\n\n## more\n")
    monkeypatch.setattr(cli_graph, "README", readme)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # the README does not need Graphviz

    # When `saga graph --readme` runs
    runner.invoke(app, ["graph", "OnboardClientSaga", "--out", str(tmp_path / "docs"), "--readme"])

    # Then the block holds the fresh Mermaid and the text around it is untouched
    text = readme.read_text()
    assert readme_blocks(text) == {"OnboardClientSaga": to_mermaid(saga_graph(OnboardClientSaga))}
    assert text.startswith("# intro\n\n<!-- saga-graph:OnboardClientSaga -->\n```mermaid\n%% OnboardClientSaga")
    assert text.endswith("```\n<!-- /saga-graph -->\n\n## more\n")


def test_readme_without_the_sagas_block_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no pictures here\n")
    monkeypatch.setattr(cli_graph, "README", readme)

    done = runner.invoke(app, ["graph", "OnboardClientSaga", "--out", str(tmp_path), "--readme"])

    assert done.exit_code == 2
    assert "<!-- saga-graph:OnboardClientSaga -->" in done.output
    assert readme.read_text() == "# no pictures here\n"
