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
from html import unescape
from html.parser import HTMLParser
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


# the pages that state formulas in their prose (bounds, rules, conventions): a formula on
# them is maths (arithmatex), never code text or an indented code block
PROSE_MATHS_PAGES = [
    "tolerances",
    "spec-vs-torch",
    "gpu",
    "conformance/edges",
    "conformance/deviations",
    "conformance/quiet-runs",
    "conformance/running",
    "reference/geometry",
    *(f"reference/{name}" for name in ("max", "average", "lp", "smooth_max")),
    *(f"poolers/{p.stem}" for p in sorted((ROOT / "docs" / "poolers").glob("*.md"))),
]
# code text that is a formula: a maths symbol, a power, a derivative written dy/dp, an
# absolute value, or a relation of a symbol ("y = 0", "t_i = 0"); names, keywords,
# shapes, paths and literals are not
FORMULA_AS_CODE = re.compile(
    r"[≤≥Σ∏√·±∂⌊⌋⟨⟩⇒∈]|\^|\bd[a-z]\w{0,3}/d[a-z]|\|[^|]+\||^[A-Za-z](?:_\w+)?\s*(?:=|<|>)\s"
)
PATH_LIKE = re.compile(r"\.(?:py|md|toml|json)\b|://")


VOID_TAGS = frozenset({"br", "img", "input", "hr", "meta", "link", "wbr", "source", "col", "area"})


class _CodeText(HTMLParser):
    """The inline code and the language-less code blocks of a page's article, outside the
    API text mkdocstrings renders from the spec's docstrings (``div.doc``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.inline: list[str] = []
        self.blocks: list[str] = []
        self._text: list[str] | None = None
        self._kind = ""

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in c) for t, c in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        if self._text is None and not self._inside("div", "doc") and self._inside("article"):
            if tag == "code" and not self._inside("pre"):
                self._text, self._kind = [], "inline"
            elif tag == "div" and "highlight" in classes:
                if not any(c.startswith("language-") for c in classes):
                    self._text, self._kind = [], "block"
        self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break
        if self._text is not None and tag == ("code" if self._kind == "inline" else "div"):
            if self._kind == "inline" or not self._inside("div", "highlight"):
                (self.inline if self._kind == "inline" else self.blocks).append("".join(self._text))
                self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def _code_text(html: str) -> _CodeText:
    parser = _CodeText()
    parser.feed(html)
    return parser


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


@pytest.mark.parametrize("name", PROSE_MATHS_PAGES)
def test_docs_formulas_are_maths_not_code(site, name):
    """A page that states formulas writes them as maths, which MathJax renders: no formula
    left as inline code text (`|y - x| <= (K + 2) u`) or as an indented code block, and
    the page has arithmatex formulas."""
    html = (site / name / "index.html").read_text(encoding="utf-8")
    found = _code_text(html)
    formulas = [c for c in found.inline if FORMULA_AS_CODE.search(c) and not PATH_LIKE.search(c)]
    assert not formulas, f"{name}: formulas written as code, not maths: {formulas[:8]}"
    blocks = [b.strip()[:80] for b in found.blocks if FORMULA_AS_CODE.search(b)]
    assert not blocks, f"{name}: formulas in code blocks, not display maths: {blocks[:3]}"
    assert 'class="arithmatex"' in html, f"{name}: no formula rendered by arithmatex"


def test_docs_formula_code_detector_finds_formulas():
    """The detector of test_docs_formulas_are_maths_not_code finds the formulas the pages
    used to write as code, and passes names, keywords, shapes and paths."""
    html = (
        "<article><p><code>|ŷ − y| ≤ (K + 2)·u·S</code> <code>dy/dp</code> "
        "<code>y = 0</code> <code>(1/2)^p</code> <code>max_pool</code> "
        '<code>mode="train"</code> <code>[N, C, *O]</code> <code>tests/docs/a.py</code></p>'
        '<div class="highlight"><pre><span></span><code>|m̂ − m| ≤ (K + 16)·u</code></pre>'
        '</div><div class="language-python highlight"><pre><code>x ** 2 <= y</code></pre></div>'
        '<div class="doc doc-contents"><p><code>dy/dx_i = p_i</code></p></div></article>'
    )
    found = _code_text(html)
    flagged = [c for c in found.inline if FORMULA_AS_CODE.search(c) and not PATH_LIKE.search(c)]
    assert flagged == ["|ŷ − y| ≤ (K + 2)·u·S", "dy/dp", "y = 0", "(1/2)^p"], flagged
    assert [b for b in found.blocks if FORMULA_AS_CODE.search(b)] == ["|m̂ − m| ≤ (K + 16)·u"]


def test_docs_headings_hold_no_formulas(site):
    """A heading is plain text: the navigation and the table of contents show a formula in
    one as raw TeX (MathJax typesets only the page's arithmatex elements)."""
    found = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for label in re.findall(r'class="md-nav__link[^"]*"[^>]*>\s*(?:<span[^>]*>)?([^<]*)', text):
            if "\\(" in label or "$" in label:
                found.append(f"{page.relative_to(site)}: {label.strip()}")
    assert not found, "formulas in headings (raw TeX in the navigation):\n" + "\n".join(found[:10])


#: a doctest line that sets an example up (an import, an input array) may open several
#: examples; every other line is a step of one example
SETUP_LINE = re.compile(r"^>>> (?:import |from |\w+(?:, \w+)* = np\.)")
#: a formula written as text, as the spec's module docstrings write them
ASCII_FORMULA = re.compile(r"\bd[a-z]+/d[a-z]\w*|\b[a-z]_(?:dot|bar)\b")


def _article_text(html: str) -> str:
    article = html[html.find("<article") : html.find("</article>")]
    return unescape(re.sub(r"<[^>]+>", "", article))


@pytest.mark.parametrize("name", MATHS_PAGES)
def test_docs_op_page_says_each_thing_once(site, name):
    """An op page shows each example step once (the docstring's example is the worked
    example: no hand-written copy of it, no source listing repeating it) and each formula
    once, as maths (not again as the module docstring's text formulas)."""
    text = _article_text(_html(site, name))
    steps = [
        re.sub(r"\s+#.*$", "", line.strip()).replace(">>> spec.", ">>> ")
        for line in text.splitlines()
        if line.strip().startswith(">>> ") and not SETUP_LINE.match(line.strip())
    ]
    repeated = sorted({s for s in steps if steps.count(s) > 1})
    assert not repeated, f"{name}: example steps shown more than once: {repeated[:5]}"
    prose = [line for line in text.splitlines() if not line.lstrip().startswith((">>>", "..."))]
    formulas = ASCII_FORMULA.findall("\n".join(prose))  # an example's names are no formula
    assert not formulas, f"{name}: formulas repeated as text: {formulas[:5]}"


def test_docs_geometry_page_shows_each_source_once(site):
    html = (site / "reference" / "geometry" / "index.html").read_text(encoding="utf-8")
    text = _article_text(html)
    for method in ("gather", "scatter"):
        count = len(re.findall(rf"def {method}\(", text))  # after its line number
        assert count == 1, f"the source of Geometry.{method} is shown {count} times, not once"
