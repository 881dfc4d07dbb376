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
  of the generated conventions page).
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
import structure_figure
import window_figures
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

PACKAGES = ("spec", "impl", "conformance")
CONVENTIONS_MARKER = re.compile(r"^<!--\s*ndpool:conventions\s+([\w ]+?)\s*-->\s*$", re.M)


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


def _expand_globs(nav: list, docs_dir: str) -> list:
    """Expand nav entries whose path is a glob, against the pages that exist.

    ``{title: "dir/*.md"}`` becomes a section of the matching pages, each titled by its
    first heading; ``{title: "page*.md"}`` (a pattern for one optional page) becomes that
    page under ``title``. A pattern that matches nothing is dropped.
    """
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                out.append({title: _expand_globs(value, docs_dir)})
                continue
            if isinstance(value, str) and "*" in value:
                pages = sorted(glob.glob(os.path.join(docs_dir, value)))
                if len(pages) == 1 and not value.endswith("/*.md"):
                    out.append({title: _rel(pages[0], docs_dir)})
                elif pages:
                    out.append({title: [{_title(Path(p)): _rel(p, docs_dir)} for p in pages]})
                continue
        elif isinstance(item, str) and "*" in item:
            out.extend(_rel(p, docs_dir) for p in sorted(glob.glob(os.path.join(docs_dir, item))))
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
    def tables(match: re.Match) -> str:
        here = os.path.dirname(page.file.src_uri)
        link = os.path.relpath("reference/conventions.md", here or ".").replace(os.sep, "/")
        lines = conventions_page.measured_tables(match.group(1).split(), heading="###")
        note = f"Measured by running the spec; see the [conventions table]({link}) for every op."
        return "\n".join([note, "", *lines])

    return CONVENTIONS_MARKER.sub(tables, markdown)
