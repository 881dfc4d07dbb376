"""ndpool.impl next to torch.nn.functional (same inputs, same run), and d = 4, 5 alone.

Part 1, d = 1, 2, 3: max / avg / Lp (p = 2) pooling with kernels 2, 3, 5, 7 and
strides 1, 2 (padding kernel//2 for max and avg, none for Lp: torch's lp_pool has
no padding), float32, forward (no autograd) and forward + backward. Reported:
milliseconds of both and ``speedup = torch_ms / impl_ms`` (> 1: impl faster).

Part 2, d = 4, 5 (no torch kernel): impl against a naive baseline that unfolds
every axis into a K^d window view and reduces it (``prod(kernel)`` work per
output), with GB/s = (input + output bytes) / time next to ``x.clone()`` on the
same tensor (2 x input bytes / time) as the memory-bandwidth reference.

    python benchmarks/impl_vs_torch.py [--quick] [--threads N]
        [--out benchmarks/results/impl_vs_torch.json]  (the plot goes next to it, .png)
        [--markdown docs/impl-benchmarks.md]           (the tables, as markdown)
    python benchmarks/impl_vs_torch.py --from-json RESULTS.json --markdown PAGE.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import time

import torch
import torch.nn.functional as F

from ndpool import impl

TORCH_OPS = {
    "max": {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d},
    "avg": {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d},
    "lp": {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d},
}
SHAPES = {  # full (16-34 MB inputs for d <= 4, near the 32 MB L3 here; d = 5: 6.4 MB, as
    # the naive K^d baseline backward needs K^d times the output), quick
    1: ((16, 64, 8192), (8, 16, 2048)),
    2: ((32, 64, 56, 56), (4, 16, 48, 48)),
    3: ((8, 16, 32, 32, 32), (1, 8, 20, 20, 20)),
    4: ((4, 16, 16, 16, 16, 16), (1, 4, 10, 10, 10, 10)),
    5: ((2, 8, 10, 10, 10, 10, 10), (1, 2, 8, 8, 8, 8, 6)),
}


def timed(*fns, repeats: int) -> list[float]:
    """Best (smallest) wall time in ms of each function over ``repeats`` interleaved
    rounds, after one warm-up call each. The machine may be shared: interleaving gives
    every function the same conditions, and the minimum is the least disturbed time."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return [1e3 * b for b in best]


def step(forward, x: torch.Tensor, backward: bool):
    """A no-grad forward, or forward + backward with a fixed cotangent."""
    if not backward:

        def run():
            with torch.no_grad():
                forward(x)

        return run
    xg = x.detach().clone().requires_grad_()
    y_bar = torch.ones_like(forward(x.detach()))

    def run():
        xg.grad = None
        forward(xg).backward(y_bar)

    return run


def impl_fn(op: str, d: int, k: int, s: int, p: int):
    cfg = dict(kernel_size=(k,) * d, stride=s, padding=p)
    if op == "max":
        return lambda x: impl.max_pool(x, **cfg)
    if op == "avg":
        return lambda x: impl.avg_pool(x, **cfg)
    return lambda x: impl.lp_pool(x, 2.0, **cfg)


def torch_fn(op: str, d: int, k: int, s: int, p: int):
    f = TORCH_OPS[op][d]
    if op == "lp":
        return lambda x: f(x, 2.0, k, s)
    return lambda x: f(x, k, s, p)


def naive_fn(op: str, d: int, k: int, s: int):
    """Unfold every spatial axis into a [N, C, *O, *K] view, reduce the K^d cells."""

    def run(x):
        w = x.abs().pow(2) if op == "lp" else x
        for a in range(d):
            w = w.unfold(2 + a, k, s)
        dims = tuple(range(-d, 0))
        if op == "max":
            return w.amax(dim=dims)
        if op == "avg":
            return w.mean(dim=dims)
        return w.sum(dim=dims).sqrt()

    return run


def part_torch(quick: bool, repeats: int) -> list[dict]:
    rows = []
    for d in (1, 2, 3):
        x = torch.randn(SHAPES[d][quick])
        for op in ("max", "avg", "lp"):
            for k in (2, 3, 5, 7):
                for s in (1, 2):
                    p = 0 if op == "lp" else k // 2
                    for backward in (False, True):
                        t_impl, t_torch = timed(
                            step(impl_fn(op, d, k, s, p), x, backward),
                            step(torch_fn(op, d, k, s, p), x, backward),
                            repeats=repeats,
                        )
                        rows.append(dict(d=d, op=op, kernel=k, stride=s, padding=p,
                                         mode="fwd+bwd" if backward else "fwd",
                                         shape=list(x.shape), impl_ms=t_impl,
                                         torch_ms=t_torch, speedup=t_torch / t_impl))  # fmt: skip
                        print(_line(rows[-1]), flush=True)
    return rows


def tap_traffic(shape, d: int, k: int, s: int, itemsize: int = 4) -> int:
    """Bytes the tap-by-tap separable forward moves (unpadded): per axis, innermost
    first, ``k`` strided reads of the stage output's size and one write of it. A model
    (caches are ignored), to read a row's time as a number of memory passes."""
    cur, total = list(shape), 0
    for a in reversed(range(d)):
        cur[2 + a] = (cur[2 + a] - k) // s + 1
        total += (k + 1) * math.prod(cur) * itemsize
    return total


def part_nd(quick: bool, repeats: int) -> list[dict]:
    rows = []
    for d in (4, 5):
        x = torch.randn(SHAPES[d][quick])
        (t_clone,) = timed(lambda x=x: x.clone(), repeats=repeats)
        clone_gbs = 2 * x.nbytes / t_clone / 1e6
        for op in ("max", "avg", "lp"):
            for k, s in ((2, 2), (3, 1)):
                for backward in (False, True):
                    f = impl_fn(op, d, k, s, 0)
                    out_bytes = f(x).nbytes
                    t_impl, t_naive, t_clone = timed(
                        step(f, x, backward),
                        step(naive_fn(op, d, k, s), x, backward),
                        lambda x=x: x.clone(),
                        repeats=repeats,
                    )
                    clone_gbs = max(clone_gbs, 2 * x.nbytes / t_clone / 1e6)
                    rows.append(dict(d=d, op=op, kernel=k, stride=s, padding=0,
                                     mode="fwd+bwd" if backward else "fwd",
                                     shape=list(x.shape), impl_ms=t_impl, naive_ms=t_naive,
                                     speedup=t_naive / t_impl,
                                     impl_gbs=(x.nbytes + out_bytes) / t_impl / 1e6,
                                     model_gbs=None if backward or op == "lp" else
                                     tap_traffic(x.shape, d, k, s) / t_impl / 1e6,
                                     clone_gbs=clone_gbs))  # fmt: skip
                    print(_line(rows[-1]), flush=True)
    return rows


def _line(r: dict) -> str:
    ref = "torch" if "torch_ms" in r else "naive"
    extra = ""
    if "impl_gbs" in r:
        model = f", tap traffic {r['model_gbs']:.1f}" if r.get("model_gbs") else ""
        extra = f" {r['impl_gbs']:.1f} GB/s{model} (clone {r['clone_gbs']:.1f})"
    return (
        f"{r['d']}d {r['op']:3s} k={r['kernel']} s={r['stride']} {r['mode']:7s} "
        f"impl {r['impl_ms']:8.3f} ms  {ref} {r[ref + '_ms']:8.3f} ms  "
        f"x{r['speedup']:.2f}{extra}"
    )


def plot(rows: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for ax, mode in zip(axes, ("fwd", "fwd+bwd")):
        sel = [r for r in rows if r["mode"] == mode]
        labels = [f"{r['d']}d {r['op']} k{r['kernel']} s{r['stride']}" for r in sel]
        colors = ["C0" if "torch_ms" in r else "C2" for r in sel]
        ax.bar(range(len(sel)), [r["speedup"] for r in sel], color=colors)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(sel)), labels, rotation=90, fontsize=5)
        ax.set_title(f"{mode}: speedup of impl (blue: vs torch, green: vs naive unfold)")
    axes[0].set_ylabel("reference time / impl time")
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def summarize(rows: list[dict]) -> dict:
    """The issue's goals, read off the rows (per op and mode where a goal is a minimum)."""

    def least(d, kernel=None, op=None, mode=None, stride=None):
        picked = [
            r["speedup"] for r in rows
            if "torch_ms" in r and r["d"] == d and kernel(r["kernel"])
            and op in (None, r["op"]) and mode in (None, r["mode"])
            and stride in (None, r["stride"])
        ]  # fmt: skip
        return min(picked, default=float("nan"))

    goals = {}
    for op in ("max", "avg", "lp"):
        for mode in ("fwd", "fwd+bwd"):
            key = f"2d_3x3_{op}_{mode}_min_speedup"
            goals[key] = least(2, lambda k: k == 3, op, mode)
    goals["2d_3x3_min_speedup"] = least(2, lambda k: k == 3)
    goals["3d_k>=5_s1_min_speedup"] = least(3, lambda k: k >= 5, stride=1)
    taps = [r["model_gbs"] / r["clone_gbs"] for r in rows if r.get("model_gbs")]
    goals["nd_tap_traffic_over_clone_min"] = min(taps, default=float("nan"))
    goals["nd_tap_traffic_over_clone_max"] = max(taps, default=float("nan"))
    return goals


def markdown(result: dict, command: str) -> str:
    """The measured tables as a markdown page."""
    meta, rows = result["meta"], result["rows"]
    goals = summarize(rows)
    per_op = ", ".join(
        f"{op} {goals[f'2d_3x3_{op}_fwd_min_speedup']:.2f} / "
        f"{goals[f'2d_3x3_{op}_fwd+bwd_min_speedup']:.2f}"
        for op in ("max", "avg", "lp")
    )
    lines = [
        "# ndpool.impl performance next to torch.nn.functional",
        "",
        "Produced by running, on the CPU of the development machine (shared, "
        f"{meta['threads']} thread{'' if meta['threads'] == 1 else 's'}, "
        f"torch {meta['torch']}, float32, best of "
        f"{meta['repeats']} interleaved rounds; {meta.get('cpus')} CPUs, 1-minute load "
        f"average {' / '.join(f'{v:.1f}' for v in meta.get('load_average', []))} "
        "at start / end):",
        "",
        f"    {command}",
        "",
        "`speedup` is reference time / impl time (> 1: impl is faster). `fwd` runs "
        "without autograd; `fwd+bwd` is the forward plus `backward` of a cotangent of ones.",
        "A load average above the CPU count means other processes shared the cores during",
        "the run: single rows can then be off by large factors (compare neighbouring rows);",
        "on an oversubscribed machine a multi-threaded run is worse still (every parallel op",
        "waits for its slowest thread), so the shared development machine is measured with",
        "one thread.",
        "",
        f"- 2-D 3x3 (goal >= 1.0): min speedup {goals['2d_3x3_min_speedup']:.2f}; per op, "
        f"fwd / fwd+bwd: {per_op}",
        f"- 3-D kernel >= 5, stride 1 (goal >= 3): min speedup "
        f"{goals['3d_k>=5_s1_min_speedup']:.2f}",
        f"- d = 4, 5 max/avg forward: tap traffic at {goals['nd_tap_traffic_over_clone_min']:.2f}"
        f" to {goals['nd_tap_traffic_over_clone_max']:.2f} of `x.clone()`'s GB/s (see below)",
        "",
        "How impl computes these (CPU; `impl/separable.py`, `impl/native.py`): every box",
        "window is reduced one axis at a time, tap by tap: tap j of every window along an",
        "axis is a strided view of the input, and the reduction is an elementwise `maximum`",
        "(innermost axis first, on the padded input) or `add` (outermost first, each tap",
        "added in place over the outputs it reads a real cell for, no padded copy) over",
        "the K views: O(sum K) per output, no K-fold copy; an innermost axis with K >= 2 x",
        "stride is summed at every position and subsampled (contiguous, vectorized adds).",
        "A window sum's backward is its adjoint (K strided adds into one buffer).",
        "Max values take the sign of a zero maximum from the window's first zero (a second",
        "separable maximum over an integer key, only when some output is 0); for d = 1",
        "PyTorch's single-pass value kernel is faster and is used. Max with autograd or",
        "`return_indices` needs the first maximizer's index: PyTorch's kernel gives it where",
        "it selects the spec's cell (d <= 3, prod(kernel)/prod(stride) <= 16, no NaN or -inf",
        "in the output), on a channels-last copy for d = 2 with 4 or more channels (PyTorch",
        "vectorizes over channels only in that layout), so the 1-D and 3-D rows there are",
        "about 1 by construction; elsewhere a separable selection runs (a tap-wise maximum,",
        "then a last-to-first scan of the taps equal to it), over blocks of planes of",
        "about 512 KiB so that a stage's tensors stay in cache. Avg and Lp sums",
        "are separable on CPU except for disjoint windows of 9 or more cells, where",
        "PyTorch's avg_pool is faster. Lp adds one `aminmax` pass (finiteness and the",
        "range of the powers, see `impl/lp.py`) to torch's work, and for p != 2 an",
        "`|x|` pass (p = 2 squares x directly); with exact zeros in the input, one integer",
        "pass more finds the smallest non-zero `|x|`. Inputs are drawn with seed 0.",
        "",
        "## d = 1, 2, 3 against torch.nn.functional (same input, same run)",
        "",
        "| d | op | kernel | stride | padding | mode | shape | impl ms | torch ms | speedup |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "torch_ms" in r:
            lines.append(
                f"| {r['d']} | {r['op']} | {r['kernel']} | {r['stride']} | {r['padding']} | "
                f"{r['mode']} | {'x'.join(map(str, r['shape']))} | {r['impl_ms']:.3f} | "
                f"{r['torch_ms']:.3f} | {r['speedup']:.2f} |"
            )
    lines += [
        "",
        "## d = 4, 5 against a naive unfold baseline (K^d window view, reduced)",
        "",
        "GB/s = (input + output bytes) / time; `clone GB/s` = 2 x input bytes / time of",
        "`x.clone()` on the same tensor (the memory-bandwidth reference). `tap GB/s` (max",
        "and avg forward) = the bytes the tap-by-tap forward moves by the model in",
        "`tap_traffic` (per axis: K strided reads of the stage output and one write) /",
        "time: near `clone GB/s` means every pass runs at memory bandwidth and the time",
        "is the number of passes (about d x (K + 1) stage-sized ones).",
        "",
        "| d | op | kernel | stride | mode | shape | impl ms | naive ms | speedup | impl GB/s "
        "| tap GB/s | clone GB/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "naive_ms" in r:
            tap = f"{r['model_gbs']:.1f}" if r.get("model_gbs") else "-"
            lines.append(
                f"| {r['d']} | {r['op']} | {r['kernel']} | {r['stride']} | {r['mode']} | "
                f"{'x'.join(map(str, r['shape']))} | {r['impl_ms']:.3f} | {r['naive_ms']:.3f} | "
                f"{r['speedup']:.2f} | {r['impl_gbs']:.2f} | {tap} | {r['clone_gbs']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/impl_vs_torch.json")
    ap.add_argument("--markdown", help="also write the tables to this markdown page")
    ap.add_argument("--from-json", help="render --markdown from a saved result, run nothing")
    args = ap.parse_args()
    if args.from_json:
        result = json.loads(pathlib.Path(args.from_json).read_text())
        quick = " --quick" if result["meta"]["quick"] else ""
        command = f"python benchmarks/impl_vs_torch.py{quick} --threads {result['meta']['threads']}"
        command += f" --markdown {args.markdown}"
        pathlib.Path(args.markdown).write_text(markdown(result, command))
        return
    torch.manual_seed(0)  # the same inputs every run (an exact 0 changes Lp's work)
    torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else 9
    load_before = os.getloadavg()[0]
    t0 = time.time()
    rows = part_torch(args.quick, repeats) + part_nd(args.quick, repeats)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    goals = summarize(rows)
    meta = dict(torch=torch.__version__, python=platform.python_version(),
                machine=platform.machine(), threads=args.threads, quick=args.quick,
                repeats=repeats, dtype="float32", seconds=round(time.time() - t0, 1),
                cpus=os.cpu_count(), load_average=[load_before, os.getloadavg()[0]])  # fmt: skip
    result = {"meta": meta, "goals": goals, "rows": rows}
    out.write_text(json.dumps(result, indent=1))
    if args.markdown:
        command = "python benchmarks/impl_vs_torch.py" + (" --quick" if args.quick else "")
        command += f" --threads {args.threads} --markdown {args.markdown}"
        pathlib.Path(args.markdown).write_text(markdown(result, command))
    plot(rows, out.with_suffix(".png"))
    print(json.dumps(goals), f"-> {out}", f"({meta['seconds']} s)")


if __name__ == "__main__":
    main()
