"""The site as a reader sees it: the strict build served on localhost, opened in headless
Chromium at a laptop width (1280 px) and a narrow one (800 px).

Every key page is screenshotted (its first screen into a temporary folder, or the whole
page into NDPOOL_DOCS_SCREENSHOTS=DIR) and fails when the page scrolls sideways (the body
is wider than the window), when a name in a table breaks across lines, or when the page
asks for anything that is not on the site (a CDN, a font host) or that the site lacks.
Every page with formulas fails when MathJax left a formula untypeset or met a TeX error.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and the Python package
``playwright``, which drives that browser through ``executable_path`` (no browser
download); skips, saying which is missing, without them. ``.ci/run`` installs both.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

WIDTHS = (1280, 800)
HEIGHT = 900
KEY_PAGES = {
    "home": "",
    "frameworks": "frameworks/",
    "pooler": "poolers/quantile_pool/",
    "tolerances": "tolerances/",
    "conventions": "reference/conventions/",
    "benchmarks": "impl-benchmarks/",
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# A name is one token (no space, no hyphen, where a line may break); in a table it must
# stay on one line.
BROKEN_NAMES = """() => [...document.querySelectorAll(
    '.md-typeset table code, .md-typeset table a')]
  .filter(e => !/[\\s-]/.test(e.textContent) && e.getClientRects().length > 1)
  .map(e => e.textContent)"""
# MathJax typesets every .arithmatex element into an mjx-container; a TeX error is an
# mjx-merror (rendered in red instead of the formula)
UNTYPESET = """() => [...document.querySelectorAll('.arithmatex')]
  .filter(e => !e.querySelector('mjx-container'))
  .map(e => e.textContent.trim().slice(0, 80))"""
TEX_ERRORS = """() => [...document.querySelectorAll('mjx-merror')]
  .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80))"""
TYPESET = """async () => {
  if (!document.querySelector('.arithmatex')) return true;
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 25));
  await MathJax.startup.promise;
  await document.fonts.ready;
  return true;
}"""


def _chromium() -> str | None:
    for name in (os.environ.get("NDPOOL_CHROMIUM"), *BROWSERS):
        found = name and shutil.which(name)
        if found:
            return found
    return None


try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None
CHROMIUM = _chromium()

# checked before any fixture runs, so a machine without them does not build the site here
pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None,
        reason="no browser driver: pip install playwright (it drives /usr/bin/chromium)",
    ),
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium: apt-get install -y chromium (or set NDPOOL_CHROMIUM)"
    ),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log on the test's output
        pass


@pytest.fixture(scope="module")
def server(site):
    """The built site on http://127.0.0.1:PORT/ for the module's tests."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A Chromium context with a fresh profile."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            viewport={"width": WIDTHS[0], "height": HEIGHT},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> tuple[Path, bool]:
    """Where the screenshots go, and whether they show the whole page (when a folder is
    asked for, to be looked at) or the first screen (a temporary folder, faster)."""
    wanted = os.environ.get("NDPOOL_DOCS_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        return Path(wanted), True
    return tmp_path_factory.mktemp("screenshots"), False


def _open(browser, server: str, path: str, width: int):
    """The page at ``path``, loaded and typeset, with what it asked for off the site and
    what the site did not have."""
    page = browser.new_page()
    page.set_default_timeout(20_000)
    page.set_viewport_size({"width": width, "height": HEIGHT})
    origin = urlsplit(server).netloc
    elsewhere, missing = [], []

    def route(r):
        if urlsplit(r.request.url).netloc == origin:
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("response", lambda resp: missing.append(resp.url) if resp.status >= 400 else None)
    page.goto(server + path, wait_until="load")
    page.evaluate(TYPESET)
    return page, elsewhere, missing


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(KEY_PAGES))
def test_docs_page_fits_the_window(browser, server, screenshots, name, width):
    folder, full_page = screenshots
    page, elsewhere, missing = _open(browser, server, KEY_PAGES[name], width)
    try:
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=full_page)
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        broken = page.evaluate(BROKEN_NAMES)
        untypeset = page.evaluate(UNTYPESET)
    finally:
        page.close()
    where = f"{name} page (/{KEY_PAGES[name]}) at {width} px, screenshot in {folder}"
    assert scroll <= client, (
        f"{where}: the body scrolls sideways (scrollWidth {scroll} > clientWidth {client})"
    )
    assert not broken, f"{where}: names broken across lines in a table: {broken[:5]}"
    assert not elsewhere, f"{where}: requests to other hosts: {elsewhere[:5]}"
    assert not missing, f"{where}: requests the site cannot answer: {missing[:5]}"
    assert not untypeset, f"{where}: formulas MathJax did not typeset: {untypeset[:3]}"


def _maths_pages(site: Path) -> list[str]:
    return sorted(
        str(p.parent.relative_to(site)) + "/"
        for p in site.rglob("index.html")
        if 'class="arithmatex"' in p.read_text(encoding="utf-8")
    )


def test_docs_formulas_are_typeset(browser, server, site):
    """On every page with formulas (the pooler and core reference pages among them), MathJax
    typeset every one without a TeX error."""
    pages = _maths_pages(site)
    ops = [p for p in pages if p.startswith(("poolers/", "reference/"))]
    assert len(ops) >= 14, f"expected formulas on the op pages, found them on {pages}"
    problems = []
    for path in pages:
        page, elsewhere, missing = _open(browser, server, path, WIDTHS[0])
        try:
            count = page.evaluate("() => document.querySelectorAll('mjx-container').length")
            untypeset, errors = page.evaluate(UNTYPESET), page.evaluate(TEX_ERRORS)
        finally:
            page.close()
        if not count or untypeset or errors or elsewhere or missing:
            problems.append(
                f"/{path}: {count} typeset, untypeset {untypeset[:2]}, TeX errors "
                f"{errors[:2]}, other hosts {elsewhere[:2]}, missing {missing[:2]}"
            )
    assert not problems, "formulas not rendered:\n" + "\n".join(problems)
