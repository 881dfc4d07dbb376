"""Forward + VJP time of the spec's max_pool and avg_pool next to torch.nn.functional.

Input [8, 16, 64, 64] (float32 by default, the same array for both),
3x3 windows, stride 2, padding 1. The spec's time is ``op(x)`` plus
``spec.vjp(op, (x,), y_bar)``; torch's is the forward plus ``backward`` on the same
input, in the same run. Goal: the spec within 20x of torch on CPU.

    python benchmarks/spec_vs_torch.py [--out benchmarks/results/spec_vs_torch.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import time

import numpy as np

from ndpool import spec

SHAPE = (8, 16, 64, 64)
CFG = {"kernel_size": (3, 3), "stride": 2, "padding": 1}
GOAL = 20.0


def best_of(fn, repeats: int) -> float:
    """The smallest wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def spec_step(name: str, x: np.ndarray, y_bar: np.ndarray):
    def run():
        spec.OPS[name].forward(x, **CFG)
        spec.vjp(name, (x,), y_bar, **CFG)

    return run


def torch_step(name: str, x: np.ndarray, y_bar: np.ndarray):
    import torch

    fn = {"max_pool": torch.nn.functional.max_pool2d, "avg_pool": torch.nn.functional.avg_pool2d}
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(y_bar)

    def run():
        xt.grad = None
        fn[name](xt, **CFG).backward(gt)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/spec_vs_torch.json")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()

    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(args.dtype)
    results = []
    for name in ("max_pool", "avg_pool"):
        y_bar = rng.standard_normal(spec.output_shape(name, SHAPE, **CFG)).astype(args.dtype)
        t_spec = best_of(spec_step(name, x, y_bar), args.repeats)
        t_torch = best_of(torch_step(name, x, y_bar), args.repeats)
        ratio = t_spec / t_torch
        results.append(
            {
                "op": name,
                "spec_forward_vjp_s": t_spec,
                "torch_forward_backward_s": t_torch,
                "ratio": ratio,
                "within_goal": ratio <= GOAL,
            }
        )
        print(
            f"{name:9s} spec {t_spec * 1e3:8.2f} ms   torch {t_torch * 1e3:8.2f} ms   "
            f"ratio {ratio:6.1f}x  (goal <= {GOAL:.0f}x)"
        )
    report = {
        "shape": list(SHAPE),
        "config": CFG,
        "dtype": args.dtype,
        "repeats": args.repeats,
        "timing": "best of repeats, after one warm-up call",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "machine": platform.processor() or platform.machine(),
        "results": results,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
