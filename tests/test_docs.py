"""The documentation's relative links point at files that exist."""

import re

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench/README.md",
         *sorted((ROOT / "data").glob("*/README.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files {broken}"


def test_the_tutorial_notebook_runs_and_reports_what_it_claims():
    """docs/tutorial.ipynb, executed on the current code and the shipped release: every cell
    runs; the predictor's answer has units, an interval and a quality block; the flat line
    is refused."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "docs/tutorial.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "docs")}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Si sites of 45 cells" in text
    assert "exit status 0 | units:" in text and "90 % interval" in text and "quality: {'flags': [" in text
    assert "exit status 2" in text and "no Si K edge" in text
