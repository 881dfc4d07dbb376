"""The worked examples on docs/poolers/*.md pages run (every ``pycon`` block is a doctest)."""

from __future__ import annotations

import doctest
import pathlib
import re

import pytest

PAGES = sorted((pathlib.Path(__file__).resolve().parents[2] / "docs" / "poolers").glob("*.md"))


def test_every_issue6_pooler_has_a_page():
    names = {p.stem for p in PAGES}
    expected = {
        "quantile_pool", "median_pool", "mixed_pool", "gated_pool", "tree_pool",
        "stochastic_pool", "s3_pool", "gumbel_pool", "soft_pool", "gem_pool",
    }  # fmt: skip
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page):
    text = page.read_text()
    blocks = re.findall(r"```pycon\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page.name} has no worked example"
    assert re.search(r"^## Derivative", text, flags=re.M), f"{page.name}: no derivatives section"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for i, block in enumerate(blocks):
        runner.run(parser.get_doctest(block, {}, f"{page.name}[{i}]", str(page), 0))
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"
