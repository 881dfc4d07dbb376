"""MkDocs hook: everything the site generates from the code at build time.

- ``on_config``: let mkdocstrings (griffe) find ``ndpool.spec`` & co. The source
  folders are ``spec/``, ``impl/``, ``conformance/`` mapped onto ``ndpool.*`` by
  pyproject.toml, which griffe's static finder cannot follow; the hook asks the
  import system where each package lives and links it under a temporary
  ``ndpool/`` folder that is put first on mkdocstrings' search path. It also
  expands nav entries written as a glob into the pages that exist: a folder
  (``poolers/*.md``) becomes a section titled by each page's first ``# `` heading,
  an optional page (``tolerances*.md``) is listed only once it exists.
- ``on_files``: add the generated pages (constraints, conventions), the window
  diagrams (PNG, drawn with matplotlib from the spec's geometry) and the structure
  picture of the architecture page (drawn from the code's imports). Nothing
  is written into ``docs/``; the files exist only in the build.
- ``on_page_markdown``: a line ``<!-- ndpool:conventions max_pool adaptive_max_pool -->``
  (alone on its line) becomes the measured conventions tables of those ops (their rows
  of the generated conventions page); a line ``<!-- ndpool:frameworks-highlights -->``
  becomes the list of conventions where several frameworks differ from the spec, read
  off docs/frameworks.md (``frameworks_highlights.py``); a line ``<!-- ndpool:cli-help -->``
  becomes the ``--help`` text of each command, and ``<!-- ndpool:exit-codes -->`` the
  table of ``ndpool check``'s exit statuses, both from ``ndpool.conformance.cli``; a line
  ``<!-- ndpool:registry torch -->`` the table of that target's registry
  (``registry_tables.py``); ``<!-- ndpool:studies accuracy -->`` and ``... studies protocol -->``
  the studies page's tables, read from the studies' results files (``studies_tables.py``).
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

import constraints_page
import conventions_page
import frameworks_highlights
import registry_tables
import structure_figure
import studies_tables
import window_figures
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

PACKAGES = ("spec", "impl", "conformance")
CONVENTIONS_MARKER = re.compile(r"^<!--\s*ndpool:conventions\s+([\w ]+?)\s*-->\s*$", re.M)
REGISTRY_MARKER = re.compile(r"^<!--\s*ndpool:registry\s+([\w.@-]+)\s*-->\s*$", re.M)
STUDIES_MARKER = re.compile(r"^<!--\s*ndpool:studies\s+(accuracy|protocol)\s*-->\s*$", re.M)
HIGHLIGHTS_MARKER = re.compile(r"^<!--\s*ndpool:frameworks-highlights\s*-->\s*$", re.M)
CLI_HELP_MARKER = re.compile(r"^<!--\s*ndpool:cli-help\s*-->\s*$", re.M)
#: ``<!-- ndpool:exit-codes -->`` (ndpool check's), ``... exit-codes merge -->`` (ndpool report
#: merge's), ``... exit-codes fuzz -->`` (ndpool fuzz's)
EXIT_CODES_MARKER = re.compile(r"^<!--\s*ndpool:exit-codes(?:\s+(merge|fuzz))?\s*-->\s*$", re.M)
#: the width the command-line help is wrapped to on the site
HELP_COLUMNS = "88"


def _griffe_search_dir() -> str:
    """A temporary folder holding ``ndpool/<name>`` links to each package's source."""
    root = tempfile.mkdtemp(prefix="ndpool-docs-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (Path(root) / "ndpool").mkdir()
    for name in PACKAGES:
        found = importlib.util.find_spec(f"ndpool.{name}")
        if found is None or not found.submodule_search_locations:
            continue
        source = Path(next(iter(found.submodule_search_locations)))
        (Path(root) / "ndpool" / name).symlink_to(source, target_is_directory=True)
    return root


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").replace("_", " ").capitalize()


def _rel(path: str, docs_dir: str) -> str:
    return os.path.relpath(path, docs_dir).replace(os.sep, "/")


def _section(pages: list[str], docs_dir: str) -> list[dict[str, str]]:
    """The nav entries of a folder's pages, titled by their first heading; where two
    pages share a heading (generated records such as the quiet runs), by file name."""
    titles = [_title(Path(p)) for p in pages]
    if len(set(titles)) < len(titles):
        titles = [Path(p).stem for p in pages]
    return [{t: _rel(p, docs_dir)} for t, p in zip(titles, pages)]


def _named(nav: list) -> set[str]:
    """The pages the nav names without a glob."""
    out = set()
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out |= _named(value)
        elif isinstance(value, str) and "*" not in value:
            out.add(value)
    return out


def _expand_globs(nav: list, docs_dir: str, named: set[str] | None = None) -> list:
    """Expand nav entries whose path is a glob, against the pages that exist.

    ``{title: "dir/*.md"}`` becomes a section of the matching pages, each titled by its
    first heading (by its file name where headings repeat); ``{title: "page*.md"}`` (a
    pattern for one optional page) becomes that page under ``title``; a bare ``"dir/*.md"``
    becomes the matching pages themselves. A glob leaves out the pages the nav names
    elsewhere (so a section can list its first pages in order and the rest by a glob), and
    a pattern that matches nothing is dropped.
    """
    named = _named(nav) if named is None else named

    def matches(pattern: str) -> list[str]:
        pages = sorted(glob.glob(os.path.join(docs_dir, pattern)))
        return [p for p in pages if _rel(p, docs_dir) not in named]

    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                out.append({title: _expand_globs(value, docs_dir, named)})
                continue
            if isinstance(value, str) and "*" in value:
                pages = matches(value)
                if len(pages) == 1 and not value.endswith("/*.md"):
                    out.append({title: _rel(pages[0], docs_dir)})
                elif pages:
                    out.append({title: _section(pages, docs_dir)})
                continue
        elif isinstance(item, str) and "*" in item:
            out.extend(_rel(p, docs_dir) for p in matches(item))
            continue
        out.append(item)
    return out


@event_priority(100)
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    handlers = config.plugins["mkdocstrings"].config.handlers
    python = handlers.setdefault("python", {})
    python["paths"] = [_griffe_search_dir(), *python.get("paths", [])]
    if config.nav:
        config.nav = _expand_globs(config.nav, config.docs_dir)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    pages = {
        "reference/constraints.md": constraints_page.markdown(),
        "reference/conventions.md": conventions_page.markdown(),
    }
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    for name, png in window_figures.render_all().items():
        files.append(File.generated(config, f"img/{name}.png", content=png))
    with tempfile.TemporaryDirectory() as tmp:  # the structure picture of architecture.md
        png = structure_figure.draw(tmp).read_bytes()
    files.append(File.generated(config, "architecture/structure.png", content=png))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    here = os.path.dirname(page.file.src_uri) or "."

    def tables(match: re.Match) -> str:
        link = os.path.relpath("reference/conventions.md", here).replace(os.sep, "/")
        lines = conventions_page.measured_tables(match.group(1).split(), heading="###")
        note = f"Measured by running the spec; see the [conventions table]({link}) for every op."
        return "\n".join([note, "", *lines])

    def highlights(match: re.Match) -> str:
        link = os.path.relpath("frameworks.md", here).replace(os.sep, "/")
        return frameworks_highlights.markdown(link)

    def registry(match: re.Match) -> str:
        repro = os.path.relpath("frameworks/repro", here).replace(os.sep, "/")
        return registry_tables.markdown(match.group(1), repro)

    markdown = CONVENTIONS_MARKER.sub(tables, markdown)
    markdown = REGISTRY_MARKER.sub(registry, markdown)
    markdown = STUDIES_MARKER.sub(lambda m: studies_tables.markdown(m.group(1)), markdown)
    markdown = CLI_HELP_MARKER.sub(lambda _: _cli_help(), markdown)
    markdown = EXIT_CODES_MARKER.sub(lambda m: _exit_codes(m.group(1)), markdown)
    return HIGHLIGHTS_MARKER.sub(highlights, markdown)


def _cli_help() -> str:
    from ndpool.conformance.cli import help_texts

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS  # argparse wraps to the terminal's width
    try:
        texts = help_texts()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    blocks = [f"```text\n$ {command}\n{text.rstrip()}\n```" for command, text in texts.items()]
    return "\n\n".join(blocks)


def _exit_codes(command: str | None = None) -> str:
    from ndpool.conformance import fuzz, gate, merge

    codes = {None: gate, "merge": merge, "fuzz": fuzz}[command].EXIT_CODES
    rows = [f"| {code} | {text} |" for code, text in codes.items()]
    return "\n".join(["| status | meaning |", "| ---: | --- |", *rows])
