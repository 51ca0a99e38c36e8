"""The committed pictures are what reviewers and README readers see, so they must be what
`saga graph` draws from today's definitions: the README's Mermaid block, docs/<saga>.mmd, and
the SVG (checked by the source digest it carries, so no Graphviz is needed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagakit.definition import Saga
from sagakit.graph import image_digest, readme_blocks, saga_graph, source_digest, to_mermaid
from statemachines import all_sagas

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
STALE = "run `make graph`"


def test_the_readme_shows_the_onboarding_saga_as_saga_graph_draws_it() -> None:
    blocks = readme_blocks((ROOT / "README.md").read_text())

    assert "OnboardClientSaga" in blocks, f"README.md has no <!-- saga-graph:OnboardClientSaga --> block: {STALE}"
    known = {saga.name: saga for saga in all_sagas()}
    for name, mermaid in blocks.items():
        assert name in known, f"README.md draws {name}, which is not a saga (known: {', '.join(known)})"
        assert mermaid == to_mermaid(saga_graph(known[name])), f"README.md's {name} picture is stale: {STALE}"


@pytest.mark.parametrize("saga", all_sagas(), ids=lambda saga: saga.name)
def test_docs_hold_every_sagas_current_picture(saga: Saga) -> None:
    graph = saga_graph(saga)
    mermaid, svg = DOCS / f"{saga.file_stem}.mmd", DOCS / f"{saga.file_stem}.svg"

    assert mermaid.is_file(), f"docs/{mermaid.name} is missing: {STALE}"
    assert mermaid.read_text() == to_mermaid(graph), f"docs/{mermaid.name} is stale: {STALE}"
    assert svg.is_file(), f"docs/{svg.name} is missing: {STALE}"
    assert image_digest(svg.read_text()) == source_digest(graph), f"docs/{svg.name} is stale: {STALE}"
