"""The committed pictures are what reviewers and README readers see, so they must be what
`saga graph` draws from today's definitions: the README's Mermaid blocks, docs/<saga>.mmd, and
the SVG (checked by the source digest it carries, so no Graphviz is needed here).

The onboarding saga's pictures are required; another saga's are checked once `make graph` has
drawn them, so adding a saga does not need a picture first."""

from __future__ import annotations

from pathlib import Path

import pytest

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


#: The onboarding saga's pictures must exist; any other saga's, once drawn, must stay current.
DRAWN = sorted({"onboard_client"} | {path.stem for path in DOCS.glob("*.mmd")})


@pytest.mark.parametrize("stem", DRAWN)
def test_docs_pictures_are_current(stem: str) -> None:
    sagas = {saga.file_stem: saga for saga in all_sagas()}
    mermaid, svg = DOCS / f"{stem}.mmd", DOCS / f"{stem}.svg"

    assert stem in sagas, f"docs/{mermaid.name} draws no saga of statemachines/: delete it, or {STALE}"
    graph = saga_graph(sagas[stem])
    assert mermaid.is_file(), f"docs/{mermaid.name} is missing: {STALE}"
    assert mermaid.read_text() == to_mermaid(graph), f"docs/{mermaid.name} is stale: {STALE}"
    assert svg.is_file(), f"docs/{svg.name} is missing: {STALE}"
    assert image_digest(svg.read_text()) == source_digest(graph), f"docs/{svg.name} is stale: {STALE}"
