"""ndpool.impl's smooth max pooling next to the textbook formulation, same inputs, same run.

The baseline is what one writes without ndpool: pad with zeros (the spec's default
``padding_policy="zero"``), unfold every spatial axis into a window view and take
``torch.logsumexp(beta * windows) / beta`` over the ``prod(kernel)`` cells of each window.
It forms ``beta * x`` for every window cell, ``prod(kernel)`` times the output, where the
impl reduces one axis at a time from taps of the input.

Cases: 1-D, 2-D and 3-D, kernels 3 and 5, strides 1 and 2 with padding ``kernel // 2``,
``beta = 4``, float32 on the CPU, in two modes: ``fwd`` (no autograd) and ``fwd+bwd``
(forward, then ``backward`` of a fixed cotangent). Every (case, implementation, mode)
runs in a fresh Python process (``--child``), so its peak memory is its own: ``peak_mb``
is the growth of the process's peak resident set (``ru_maxrss``) over the timed calls,
the input and the cotangent excluded. Reported per row: milliseconds (the best of the
timed repeats after one warm-up call) and peak MiB of both, ``speedup = unfold_ms /
impl_ms`` and ``memory_ratio = unfold_peak / impl_peak`` (> 1: the impl better), and the
difference between the two outputs and between the two input gradients, ``max |a - b| /
max |b|`` over a sample of 4096 elements (the two are different roundings of one
function: a large difference is a bug in one).

    python benchmarks/smooth_max.py [--quick] [--threads N] [--cases NAME ...]
        [--out benchmarks/results/smooth_max.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

#: ``(name, d, shape, quick shape, kernel, stride)``; padding is ``kernel // 2``
CASES = (
    ("1-D k5 s1", 1, (16, 64, 8192), (2, 8, 512), 5, 1),
    ("2-D k3 s1", 2, (8, 32, 128, 128), (2, 4, 24, 24), 3, 1),
    ("2-D k3 s2", 2, (32, 64, 56, 56), (2, 4, 24, 24), 3, 2),
    ("2-D k5 s1", 2, (8, 32, 64, 64), (2, 4, 24, 24), 5, 1),
    ("3-D k3 s1", 3, (4, 16, 32, 32, 32), (1, 2, 10, 10, 10), 3, 1),
)
IMPLS = ("ndpool", "unfold")
MODES = ("fwd", "fwd+bwd")
BETA = 4.0


def unfold_smooth_max(x, beta: float, k: int, s: int, p: int):
    """The textbook smooth max pool: zero padding, every window unfolded, logsumexp."""
    import torch
    import torch.nn.functional as F

    d = x.ndim - 2
    w = F.pad(x, [p] * (2 * d), value=0.0)
    for a in range(d):
        w = w.unfold(2 + a, k, s)
    return torch.logsumexp(beta * w.flatten(-d), dim=-1) / beta


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, impl_name: str, mode: str, quick: bool, repeats: int) -> dict:
    """One (case, implementation, mode) in this process: best ms, peak MiB growth, and
    checksums of the output and the input gradient for the parent to compare."""
    import torch

    from ndpool import impl

    _, _, full, small, k, s = next(c for c in CASES if c[0] == case)
    shape, p = (small if quick else full), k // 2
    torch.manual_seed(0)
    x = torch.randn(shape)
    if impl_name == "ndpool":
        fn = lambda t: impl.smooth_max_pool(t, BETA, kernel_size=k, stride=s, padding=p)  # noqa: E731
    else:
        fn = lambda t: unfold_smooth_max(t, BETA, k, s, p)  # noqa: E731
    out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]  # not by a call: it would set the peak
    y_bar = torch.randn(*shape[:2], *out)
    xg = x.clone().requires_grad_()
    base = _peak_mb()

    def call():
        if mode == "fwd":
            with torch.no_grad():
                return fn(x), None
        xg.grad = None
        y = fn(xg)
        y.backward(y_bar)
        return y.detach(), xg.grad

    y, g = call()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return {
        "ms": 1e3 * best,
        "peak_mb": _peak_mb() - base,
        "y": y.double().flatten()[:: max(1, y.numel() // 4096)].tolist(),
        "grad": None if g is None else g.double().flatten()[:: max(1, g.numel() // 4096)].tolist(),
    }


def _run_child(case: str, impl_name: str, mode: str, quick: bool, repeats: int, threads: int):
    cmd = [sys.executable, __file__, "--child", case, impl_name, mode, "--repeats", str(repeats)]
    cmd += ["--threads", str(threads)] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{case} {impl_name} {mode} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rel_diff(a, b) -> float:
    """``max |a - b| / max |b|`` over the sampled elements (0 where there is nothing)."""
    if not a or not b:
        return 0.0
    scale = max(max(abs(v) for v in b), 1e-30)
    return max(abs(u - v) for u, v in zip(a, b)) / scale


def measure(quick: bool, repeats: int, threads: int, cases=None, out=print) -> list[dict]:
    rows = []
    for name, *_ in CASES:
        if cases and name not in cases:
            continue
        for mode in MODES:
            got = {i: _run_child(name, i, mode, quick, repeats, threads) for i in IMPLS}
            nd, uf = got["ndpool"], got["unfold"]
            row = {
                "case": name,
                "mode": mode,
                "impl_ms": nd["ms"],
                "unfold_ms": uf["ms"],
                "speedup": uf["ms"] / nd["ms"],
                "impl_peak_mb": nd["peak_mb"],
                "unfold_peak_mb": uf["peak_mb"],
                "memory_ratio": uf["peak_mb"] / max(nd["peak_mb"], 1.0),
                "max_rel_diff_y": _rel_diff(nd["y"], uf["y"]),
                "max_rel_diff_grad": _rel_diff(nd["grad"], uf["grad"]),
            }
            rows.append(row)
            out(
                f"{name:10s} {mode:8s} impl {row['impl_ms']:9.1f} ms {row['impl_peak_mb']:7.0f} MiB"
                f" | unfold {row['unfold_ms']:9.1f} ms {row['unfold_peak_mb']:7.0f} MiB"
                f" | speedup {row['speedup']:5.2f} memory {row['memory_ratio']:5.2f}"
                f" | rel diff y {row['max_rel_diff_y']:.1e} grad {row['max_rel_diff_grad']:.1e}"
            )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes (seconds)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=None, help="timed calls (5; quick: 2)")
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    names = [c[0] for c in CASES]
    ap.add_argument("--cases", nargs="+", choices=names, help="only these cases (default: all)")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "IMPL", "MODE"), help=argparse.SUPPRESS)
    ns = ap.parse_args(argv)
    repeats = ns.repeats or (2 if ns.quick else 5)
    import torch

    torch.set_num_threads(ns.threads)
    if ns.child:
        print(json.dumps(child(*ns.child, quick=ns.quick, repeats=repeats)))
        return 0
    rows = measure(ns.quick, repeats, ns.threads, ns.cases)
    result = {
        "benchmark": "smooth_max",
        "command": " ".join(["python", "benchmarks/smooth_max.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "torch": torch.__version__,
        "threads": ns.threads,
        "quick": ns.quick,
        "beta": BETA,
        "rows": rows,
    }
    if ns.out:
        path = pathlib.Path(ns.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
