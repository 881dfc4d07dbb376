"""The documentation site builds with ``mkdocs build --strict`` (warnings are errors).

This is how CI builds the docs (the ``site`` fixture of conftest.py): the build runs the
hooks in docs/hooks/ (generated constraints and conventions pages, window diagrams drawn
from the spec's geometry) and renders the spec's docstrings with mkdocstrings, so a broken
link or anchor, a page missing from the nav or a docstring griffe cannot load fails here.
The formulas are checked here as text (every op page has them, MathJax is served from the
site) and in a browser by test_docs_browser.py.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

import ndpool.spec

ROOT = Path(__file__).resolve().parents[2]
MATHJAX = ROOT / "docs" / "javascripts" / "mathjax"
# the pages whose op definitions and derivatives are written as formulas
MATHS_PAGES = [
    *sorted(p.stem for p in (ROOT / "docs" / "poolers").glob("*.md")),
    "max",
    "average",
    "lp",
    "smooth_max",
]


def _html(site: Path, name: str) -> str:
    folder = "reference" if (ROOT / "docs" / "reference" / f"{name}.md").exists() else "poolers"
    return (site / folder / name / "index.html").read_text(encoding="utf-8")


def test_docs_build_strict(site):
    assert (site / "index.html").is_file(), "the build wrote no index.html"


def test_docs_constraints_page_lists_every_constraint(site):
    page = (site / "reference" / "constraints" / "index.html").read_text(encoding="utf-8")
    missing = [c for c in ndpool.spec.CONSTRAINTS if f'id="{c.lower()}"' not in page]
    assert not missing, f"constraints without an anchor on the generated page: {missing}"


def test_docs_conventions_page_lists_every_op(site):
    page = (site / "reference" / "conventions" / "index.html").read_text(encoding="utf-8")
    missing = [name for name in ndpool.spec.OPS if f"<code>{name}</code>" not in page]
    assert not missing, f"registered ops missing from the generated conventions page: {missing}"


def test_docs_window_figures_are_built(site):
    figures = sorted((site / "img").glob("geometry-*.png"))
    assert len(figures) >= 5, f"expected the window diagrams under img/, found {figures}"
    assert all(f.stat().st_size > 1000 for f in figures), "an empty or truncated figure"


def _mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !ENV / !!python tags; none matter here
    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


def test_docs_strict_build_checks_nav_links_and_anchors():
    config = _mkdocs_config()
    validation = config["validation"]
    assert config["strict"] is True, "mkdocs.yml: strict must be true (warnings are errors)"
    assert validation["nav"]["omitted_files"] == "warn", "a page missing from the nav must warn"
    for key in ("not_found", "anchors"):
        assert validation["links"][key] == "warn", f"validation.links.{key} must warn"


@pytest.mark.parametrize("name", MATHS_PAGES)
def test_docs_op_page_has_its_formulas(site, name):
    """Every op page states its definition and derivatives as formulas: display maths in
    the definition and in the derivatives, with a JVP (a dotted tangent) and a VJP (a
    barred cotangent)."""
    html = _html(site, name)
    blocks = re.findall(r'<div class="arithmatex">(.*?)</div>', html, flags=re.S)
    assert len(blocks) >= 2, f"{name}: expected display formulas, found {len(blocks)}"
    maths = "\n".join(blocks)
    assert r"\dot" in maths, f"{name}: no JVP formula (no \\dot tangent)"
    assert r"\bar" in maths, f"{name}: no VJP formula (no \\bar cotangent)"


def test_docs_mathjax_is_served_from_the_site(site):
    """MathJax is the vendored copy (its files match SOURCE.txt's checksums), it is in the
    built site, and every page loads it after its configuration."""
    source = (MATHJAX / "SOURCE.txt").read_text(encoding="utf-8")
    listed = re.findall(r"^sha256 ([0-9a-f]{64})  (\S+)$", source, re.M)
    assert listed, "docs/javascripts/mathjax/SOURCE.txt lists no files"
    for digest, name in listed:
        got = hashlib.sha256((MATHJAX / name).read_bytes()).hexdigest()
        assert got == digest, f"docs/javascripts/mathjax/{name} differs from SOURCE.txt"
        assert (site / "javascripts" / "mathjax" / name).is_file(), f"{name} not in the site"
    page = (site / "poolers" / "gem_pool" / "index.html").read_text(encoding="utf-8")
    config = page.find("javascripts/mathjax-config.js")
    script = page.find("javascripts/mathjax/tex-chtml.js")
    assert 0 <= config < script, "the MathJax configuration must load before tex-chtml.js"


def test_docs_pages_load_nothing_from_another_host(site):
    """No script, stylesheet, font or image comes from a CDN: the site works offline."""
    found = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text):
            if re.search(r"""(?:src|href)=["']?(?:https?:)?//""", tag):
                found.append(f"{page.relative_to(site)}: {tag}")
    assert not found, "external resources:\n" + "\n".join(found[:10])


def test_docs_home_page_has_commands_picture_and_highlights(site):
    """The home page: the three commands, a window drawn from the spec, and the conventions
    where frameworks diverge, read off the generated frameworks page."""
    html = (site / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)  # the code blocks are highlighted span by span
    for command in ('pip install -e ".[test]"', "pytest", "ndpool check --target"):
        assert command in text.replace("&quot;", '"'), f"the home page lacks {command!r}"
    assert 'src="img/geometry-' in html, "the home page shows no window diagram"
    assert "frameworks/#the-conventions" in html, "the home page lacks the frameworks highlights"
    assert "<!-- ndpool:" not in html, "a marker of the docs hook was left unexpanded"
