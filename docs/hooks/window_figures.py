"""Window diagrams drawn with matplotlib from the spec's own geometry.

Every picture is a call of ``ndpool.spec.sliding_geometry`` / ``adaptive_geometry``
drawn as it comes back: one row for the input axis (real cells, padding), one row
per output window with its taps coloured by what the geometry says they are
(``real``, in the padded extent, or past it). The captions' claims are asserted
against the geometry, so a change in the spec changes or breaks the picture; it
cannot silently disagree.

Run as a script to write the PNGs into a folder for a look:
``python docs/hooks/window_figures.py /tmp/figures``.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from ndpool.spec import adaptive_geometry, sliding_geometry
from ndpool.spec.geometry import AxisTaps, Geometry, resolve_padding

REAL = "#4c78a8"  # a tap that reads an input cell
PAD = "#d8d8d8"  # a tap in the padding (inside the padded extent)
PAST = "white"  # a tap past the padded extent (a ceil_mode overhang)
DROPPED = "#d62728"
CELL = 0.9


def _cell(ax, x: float, y: float, face: str, *, hatch: str | None = None, dashed=False, text=""):
    ax.add_patch(
        Rectangle(
            (x - CELL / 2, y - CELL / 2),
            CELL,
            CELL,
            facecolor=face,
            edgecolor="#333333",
            hatch=hatch,
            linestyle="--" if dashed else "-",
            linewidth=1.0,
        )
    )
    if text:
        color = "white" if face == REAL else "#333333"
        ax.text(x, y, text, ha="center", va="center", fontsize=8, color=color)


def _input_row(ax, length: int, pad: tuple[int, int], y: float, lo: int, hi: int) -> None:
    for pos in range(lo, hi + 1):
        if 0 <= pos < length:
            _cell(ax, pos, y, "white", text=str(pos))
        elif -pad[0] <= pos < length + pad[1]:
            _cell(ax, pos, y, PAD, hatch="///")
    ax.text(lo - 0.8, y, "input", ha="right", va="center", fontsize=9, fontweight="bold")


def _window_rows(ax, taps: AxisTaps, y0: float, label: str = "y") -> float:
    y = y0
    for o in range(taps.out):
        pos = taps.position[o]
        for j, p in enumerate(pos):
            if taps.real[o, j]:
                _cell(ax, p, y, REAL, text=f"x{p}")
            elif taps.in_extent[o, j]:
                _cell(ax, p, y, PAD, hatch="///")
            else:
                _cell(ax, p, y, PAST, dashed=True, text="·")
        ax.plot([pos.min(), pos.max()], [y, y], color="#333333", lw=0.6, zorder=0)
        ax.text(pos.min() - 0.8, y, f"{label}[{o}]", ha="right", va="center", fontsize=9)
        y -= 1.1
    return y


def _frame(ax, lo: int, hi: int, y_bottom: float, title: str) -> None:
    ax.set_xlim(lo - 2.6, hi + 0.8)
    ax.set_ylim(y_bottom + 0.3, 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10, loc="left")


@dataclass
class Panel:
    """One drawn axis: its geometry, resolved padding and the drawn extent."""

    geometry: Geometry | None
    taps: AxisTaps
    pad: tuple[int, int]
    lo: int
    hi: int
    bottom: float


def _sliding_panel(ax, length: int, title: str, **cfg) -> Panel:
    g = sliding_geometry((length,), **cfg)
    (taps,) = g.axes
    kernel = (cfg["kernel_size"],)
    stride = (cfg.get("stride") or cfg["kernel_size"],)
    dilation = (cfg.get("dilation", 1),)
    (pad,) = resolve_padding(cfg.get("padding", 0), (length,), kernel, stride, dilation)
    lo = int(min(taps.position.min(), -pad[0]))
    hi = int(max(taps.position.max(), length + pad[1] - 1))
    _input_row(ax, length, pad, 0.0, lo, hi)
    bottom = _window_rows(ax, taps, -1.4)
    ax.set_title(title, fontsize=10, loc="left")
    return Panel(g, taps, pad, lo, hi, bottom)


def _legend(fig) -> None:
    handles = [
        Rectangle((0, 0), 1, 1, facecolor=REAL, edgecolor="#333333", label="real tap (reads x)"),
        Rectangle(
            (0, 0), 1, 1, facecolor=PAD, hatch="///", edgecolor="#333333", label="padded tap"
        ),
        Rectangle(
            (0, 0),
            1,
            1,
            facecolor=PAST,
            linestyle="--",
            edgecolor="#333333",
            label="past the padded extent",
        ),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _share_frame(axes_panels: list[tuple], extra_right: int = 0) -> None:
    """Give side-by-side panels one x range and one bottom, so their cells match in size."""
    lo = min(p.lo for _, p in axes_panels)
    hi = max(p.hi for _, p in axes_panels) + extra_right
    bottom = min(p.bottom for _, p in axes_panels)
    for ax, _ in axes_panels:
        _frame(ax, lo, hi, bottom, ax.get_title(loc="left"))


def padding() -> bytes:
    """kernel 3, stride 2, padding 1 on L = 5: the first and last windows read a pad."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    p = _sliding_panel(
        ax,
        5,
        "L = 5, kernel_size=3, stride=2, padding=1  →  3 windows",
        kernel_size=3,
        stride=2,
        padding=1,
    )
    assert p.geometry.spatial_out == (3,) and p.pad == (1, 1)
    _share_frame([(ax, p)])
    _legend(fig)
    return _png(fig)


def dilation() -> bytes:
    """kernel 3, dilation 2, stride 1 on L = 7: taps 2 apart, effective kernel 5."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    p = _sliding_panel(
        ax,
        7,
        "L = 7, kernel_size=3, dilation=2, stride=1  →  effective kernel 5, 3 windows",
        kernel_size=3,
        dilation=2,
        stride=1,
    )
    assert p.geometry.spatial_out == (3,) and p.taps.position[0].tolist() == [0, 2, 4]
    _share_frame([(ax, p)])
    _legend(fig)
    return _png(fig)


def ceil_mode() -> bytes:
    """floor vs ceil on L = 4 (kernel 3, stride 2, padding 1): ceil_mode adds a window
    that overhangs the padded extent."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.0), gridspec_kw={"wspace": 0.12})
    panels = []
    for ax, ceil in zip(axes, (False, True)):
        p = _sliding_panel(
            ax,
            4,
            f"ceil_mode={ceil}  →  {3 if ceil else 2} windows",
            kernel_size=3,
            stride=2,
            padding=1,
            ceil_mode=ceil,
        )
        assert p.geometry.spatial_out == ((3,) if ceil else (2,))
        panels.append((ax, p))
    assert not panels[1][1].taps.in_extent[-1, -1]  # the ceil window overhangs
    _share_frame(panels)
    fig.suptitle(
        "L = 4, kernel_size=3, stride=2, padding=1", fontsize=10, x=0.13, ha="left", y=1.04
    )
    _legend(fig)
    return _png(fig)


def dropped_window() -> bytes:
    """ceil_mode on L = 5 (kernel 2, stride 2, padding 1): ceil((5 + 2 - 2) / 2) + 1 = 4
    candidate windows, but the 4th would start at position 5 = L, in the end padding, so
    the geometry keeps 3."""
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    p = _sliding_panel(
        ax,
        5,
        "L = 5, kernel_size=2, stride=2, padding=1, ceil_mode=True  →  3 windows",
        kernel_size=2,
        stride=2,
        padding=1,
        ceil_mode=True,
    )
    start = p.taps.out * 2 - p.pad[0]  # where the next window would start
    assert p.geometry.spatial_out == (3,) and start == 5 and p.pad == (1, 1)
    y = p.bottom
    _cell(ax, start, y, PAD, hatch="///")
    _cell(ax, start + 1, y, PAST, dashed=True)
    x0, x1 = start - 0.5, start + 1.5
    ax.plot([x0, x1], [y - 0.5, y + 0.5], color=DROPPED, lw=2)
    ax.plot([x0, x1], [y + 0.5, y - 0.5], color=DROPPED, lw=2)
    ax.text(start - 0.8, y, "y[3]", ha="right", va="center", fontsize=9, color=DROPPED)
    ax.text(
        start + 1.9,
        y,
        "dropped: it would\nstart in the padding",
        ha="left",
        va="center",
        fontsize=8,
        color=DROPPED,
    )
    p.bottom -= 1.1
    _share_frame([(ax, p)], extra_right=4)
    _legend(fig)
    return _png(fig)


def same_padding() -> bytes:
    """ "same" vs "same_lower" on L = 5, kernel 4, stride 2: total padding 3, the odd cell at
    the end or at the beginning; both give ceil(5 / 2) = 3 windows."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.0), gridspec_kw={"wspace": 0.12})
    panels = []
    for ax, mode in zip(axes, ("same", "same_lower")):
        p = _sliding_panel(ax, 5, "", kernel_size=4, stride=2, padding=mode)
        ax.set_title(f'padding="{mode}": (begin, end) = {p.pad}', fontsize=10, loc="left")
        assert p.geometry.spatial_out == (3,) and sum(p.pad) == 3
        panels.append((ax, p))
    assert panels[0][1].pad == (1, 2) and panels[1][1].pad == (2, 1)
    _share_frame(panels)
    fig.suptitle("L = 5, kernel_size=4, stride=2", fontsize=10, x=0.13, ha="left", y=1.04)
    _legend(fig)
    return _png(fig)


def adaptive_bins() -> bytes:
    """Adaptive bins [floor(i·L/n), ceil((i+1)·L/n)): L = 5 into 3 (the bins overlap) and
    L = 7 into 3."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.0), gridspec_kw={"wspace": 0.12})
    panels = []
    for ax, (length, n) in zip(axes, ((5, 3), (7, 3))):
        (taps,) = adaptive_geometry((length,), output_size=(n,)).axes
        _input_row(ax, length, (0, 0), 0.0, 0, length - 1)
        y = -1.4
        for o in range(taps.out):
            cells = taps.position[o][taps.real[o]]
            start, end = int(cells.min()), int(cells.max()) + 1
            assert start == (o * length) // n and end == -((-(o + 1) * length) // n)
            for cell in cells:
                _cell(ax, cell, y, REAL, text=f"x{cell}")
            ax.text(-0.8, y, f"y[{o}]", ha="right", va="center", fontsize=9)
            ax.text(end - 0.3, y, f"  [{start}, {end})", ha="left", va="center", fontsize=8)
            y -= 1.1
        ax.set_title(f"L = {length}, output_size={n}", fontsize=10, loc="left")
        panels.append((ax, Panel(None, taps, (0, 0), 0, length - 1, y)))
    _share_frame(panels, extra_right=1)
    return _png(fig)


def window_order() -> bytes:
    """A 2-D window's cells in row-major window order k, and the flat index into the
    ``[H, W]`` plane that ``return_indices`` reports for a real cell (H = 4, W = 5,
    kernel 3×3, stride 2, padding 1)."""
    shape = (4, 5)
    g = sliding_geometry(shape, kernel_size=(3, 3), stride=2, padding=1)
    assert g.spatial_out == (2, 3) and g.window_size == 9
    index, real = g.index, g.real
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"wspace": 0.1})
    for ax, (oi, oj) in zip(axes, ((0, 0), (1, 2))):
        for r in range(-1, shape[0] + 1):
            for c in range(-1, shape[1] + 1):
                if 0 <= r < shape[0] and 0 <= c < shape[1]:
                    _cell(ax, c, -r, "white", text=str(r * shape[1] + c))
                else:
                    _cell(ax, c, -r, PAD, hatch="///")
        rows, cols = g.axes[0].position[oi], g.axes[1].position[oj]
        for k in range(g.window_size):
            r, c = rows[k // 3], cols[k % 3]
            if real[oi, oj, k]:
                assert index[oi, oj, k] == r * shape[1] + c
                _cell(ax, c, -r, REAL, text=str(index[oi, oj, k]))
            box = (
                None if real[oi, oj, k] else {"facecolor": "white", "edgecolor": "none", "pad": 0.5}
            )
            ax.text(
                c - 0.4,
                -r + 0.4,
                f"k={k}",
                fontsize=6.5,
                va="top",
                ha="left",
                color="white" if real[oi, oj, k] else "#333333",
                bbox=box,
            )
        ax.add_patch(
            Rectangle(
                (cols.min() - 0.5, -rows.max() - 0.5),
                cols.max() - cols.min() + 1,
                rows.max() - rows.min() + 1,
                facecolor="none",
                edgecolor=DROPPED,
                linewidth=2.0,
            )
        )
        ax.set_title(
            f"window y[{oi}, {oj}]: cells k = 0..8 in row-major order", fontsize=10, loc="left"
        )
        ax.set_xlim(-1.6, shape[1] + 0.6)
        ax.set_ylim(-shape[0] - 0.6, 1.6)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(
        "H = 4, W = 5, kernel_size=(3, 3), stride=2, padding=1; numbers: flat index r·W + c",
        fontsize=10,
        x=0.13,
        ha="left",
        y=1.0,
    )
    return _png(fig)


FIGURES: dict[str, Callable[[], bytes]] = {
    "geometry-padding": padding,
    "geometry-dilation": dilation,
    "geometry-ceil-mode": ceil_mode,
    "geometry-dropped-window": dropped_window,
    "geometry-same-padding": same_padding,
    "geometry-adaptive-bins": adaptive_bins,
    "geometry-window-order": window_order,
}


def render_all() -> dict[str, bytes]:
    """``{name: png bytes}`` for every figure."""
    return {name: draw() for name, draw in FIGURES.items()}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "figures")
    out.mkdir(parents=True, exist_ok=True)
    for name, png in render_all().items():
        (out / f"{name}.png").write_bytes(png)
        print(out / f"{name}.png")
