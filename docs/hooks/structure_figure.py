"""The structure picture of docs/architecture.md, drawn from the code's imports.

Every module of ``spec/``, ``impl/`` and ``conformance/`` (a subpackage's modules are
shown as ``targets/base`` and the like) is a box; ``a -> b`` when ``a`` imports ``b``.
Inside its package a module stands above every module it imports (its floor is the
longest chain of imports below it), so every arrow runs downwards; an import cycle is an
error (the docs build fails). Imports between packages (impl and conformance use the
spec) are drawn as the package boxes' arrows, not per module.

    python docs/hooks/structure_figure.py OUT_DIR   # writes OUT_DIR/structure.png
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("spec", "impl", "conformance")
COLORS = {"spec": "#dbe9f6", "impl": "#f6dde0", "conformance": "#e3f1dc"}


def modules(package: str) -> dict[str, Path]:
    """``{name: path}``: every module of the package (``__init__`` files left out)."""
    base = ROOT / package
    out = {}
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).with_suffix("")
        if rel.name == "__init__":
            continue
        out["/".join(rel.parts)] = path
    return out


def _target(package: str, current: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The modules of ``package`` an import statement of module ``current`` names."""
    here = current.split("/")[:-1]
    names = []
    if isinstance(node, ast.ImportFrom):
        if node.level:
            parts = here[: len(here) - (node.level - 1)] if node.level > 1 else list(here)
            if node.module:
                parts += node.module.split(".")
            base = parts
        elif node.module and node.module.startswith(f"ndpool.{package}"):
            base = node.module.split(".")[2:]
        else:
            return []
        for alias in node.names:
            names.append("/".join([*base, alias.name]))
        names.append("/".join(base))
    else:
        for alias in node.names:
            if alias.name.startswith(f"ndpool.{package}."):
                names.append("/".join(alias.name.split(".")[2:]))
    return names


def edges(package: str) -> dict[str, set[str]]:
    """``{module: modules of the same package it imports}``."""
    mods = modules(package)
    out: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _target(package, name, node):
                    if target in mods and target != name:
                        out[name].add(target)
    return out


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    """The longest chain of imports below every module; a cycle raises."""
    floor: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> int:
        if m in floor:
            return floor[m]
        if m in visiting:
            raise ValueError("import cycle: " + " -> ".join((*path, m)))
        visiting.add(m)
        floor[m] = 1 + max((visit(t, (*path, m)) for t in graph[m]), default=-1)
        visiting.discard(m)
        return floor[m]

    for m in graph:
        visit(m, ())
    return floor


def draw(out_dir: str | Path) -> Path:
    """Draw the picture into ``out_dir/structure.png``."""
    graphs = {p: edges(p) for p in PACKAGES}
    levels = {p: floors(g) for p, g in graphs.items()}
    width = {"spec": 4.2, "impl": 4.3, "conformance": 7.0}
    box_w, box_h, gap, row_gap, floor_gap = 1.25, 0.34, 0.12, 0.1, 0.5
    layouts = {}
    for package in PACKAGES:
        cols = max(1, int((width[package] - 0.3) // (box_w + gap)))
        per_floor: dict[int, list[str]] = {}
        for m in sorted(graphs[package], key=lambda m: (levels[package][m], m)):
            per_floor.setdefault(levels[package][m], []).append(m)
        y, places = 0.0, {}
        for fl in sorted(per_floor):
            mods = per_floor[fl]
            for i, m in enumerate(mods):
                sub_row, col = divmod(i, cols)
                places[m] = (col, y + sub_row * (box_h + row_gap))
            y += -(-len(mods) // cols) * (box_h + row_gap) + floor_gap
        layouts[package] = (places, y)
    fig_h = max(top for _, top in layouts.values()) + 1.2
    fig, ax = plt.subplots(figsize=(sum(width.values()) + 0.6, fig_h))
    ax.set_xlim(0, sum(width.values()) + 0.6)
    ax.set_ylim(-0.9, fig_h - 0.6)
    ax.axis("off")
    x0 = 0.3
    centers: dict[tuple[str, str], tuple[float, float]] = {}
    for package in PACKAGES:
        graph = graphs[package]
        places, _ = layouts[package]
        ax.add_patch(
            FancyBboxPatch(
                (x0 - 0.1, -0.4), width[package] - 0.1, fig_h - 1.0,
                boxstyle="round,pad=0.02", fc=COLORS[package], ec="#999999", lw=0.8,
            )
        )  # fmt: skip
        ax.text(x0, fig_h - 0.75, f"{package}/", fontsize=12, weight="bold", va="top")
        for m, (col, cy) in places.items():
            cx = x0 + col * (box_w + gap) + box_w / 2
            centers[(package, m)] = (cx, cy)
            ax.add_patch(
                FancyBboxPatch(
                    (cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                    boxstyle="round,pad=0.02", fc="white", ec="#555555", lw=0.6,
                )
            )  # fmt: skip
            ax.text(cx, cy, m, ha="center", va="center", fontsize=6.5)
        for m, targets in graph.items():
            for t in targets:
                (ax_, ay), (bx, by) = centers[(package, m)], centers[(package, t)]
                ax.add_patch(
                    FancyArrowPatch(
                        (ax_, ay - box_h / 2), (bx, by + box_h / 2),
                        arrowstyle="-|>", mutation_scale=6, color="#8a8a8a", lw=0.4,
                        connectionstyle="arc3,rad=0.05",
                    )
                )  # fmt: skip
        x0 += width[package]
    ax.text(
        0.3, -0.8,
        "a module stands above the modules it imports (arrows run downwards); "
        "impl/ and conformance/ import ndpool.spec",
        fontsize=8, color="#555555",
    )  # fmt: skip
    out = Path(out_dir) / "structure.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(draw(sys.argv[1] if len(sys.argv) > 1 else "."))
