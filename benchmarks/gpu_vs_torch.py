"""ndpool.impl's Triton kernels next to torch (cuDNN / ATen) on a CUDA GPU, same inputs,
same run.

Cases: 2-D max / avg 3x3 stride 2 padding 1 on ImageNet-size activations (the ResNet
stem's pool), 3-D max / avg with kernels 3 and 5 on a video clip and a medical volume,
and d = 4 (no torch kernel: against the bandwidth of ``x.clone()`` only); float32 by
default. Each in two modes: ``fwd`` (no autograd) and ``fwd+bwd`` (forward, then
``backward`` of a fixed cotangent).

Reported per row: milliseconds (CUDA events, median of the timed repeats after warm-up
calls), ``speedup = torch_ms / triton_ms`` (> 1: Triton faster), GB/s of each and the
fraction of the GB/s of ``x.clone()`` on the same tensor in the same run. Bytes counted
are the ones every implementation must move: ``fwd`` reads ``x`` and writes ``y`` (a max
forward without autograd stores no indices: the kernels' values-only launch);
``fwd+bwd`` adds reading the cotangent (``y``-sized) and writing ``grad x`` (``x``-sized).
``x.clone()`` moves ``2 * x.nbytes``. Each row also records the largest difference
between the two results and whether two Triton backward passes agree bit for bit.

    python benchmarks/gpu_vs_torch.py [--quick] [--dtype float32|float16|bfloat16]
        [--out benchmarks/results/gpu_vs_torch.json] [--markdown docs/gpu-benchmarks.md]
    python benchmarks/gpu_vs_torch.py --from-json RESULTS.json --markdown PAGE.md

Needs a CUDA GPU with Triton and ``TRITON_INTERPRET`` unset (the interpreter would run
the kernels as NumPy code on the host). :func:`measure` takes the device and the timer as
arguments, so a test runs the whole measure / summarize / markdown path on tiny CPU
tensors under the interpreter (``tests/impl/test_triton_benchmark.py``), timing
with :func:`wall_ms`; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import torch

#: ``(name, d, shape, quick shape, kernel, stride, padding)``; torch has kernels for d <= 3
CASES = (
    ("imagenet 2-D 3x3 s2", 2, (64, 64, 112, 112), (8, 64, 56, 56), 3, 2, 1),
    ("video 3-D k3 s2", 3, (8, 64, 16, 112, 112), (2, 32, 8, 56, 56), 3, 2, 1),
    ("video 3-D k3 s1", 3, (8, 64, 16, 112, 112), (2, 32, 8, 56, 56), 3, 1, 1),
    ("medical 3-D k3 s1", 3, (2, 32, 128, 128, 128), (1, 16, 64, 64, 64), 3, 1, 1),
    ("medical 3-D k5 s1", 3, (2, 32, 128, 128, 128), (1, 16, 64, 64, 64), 5, 1, 2),
    ("medical 3-D k5 s2", 3, (2, 32, 128, 128, 128), (1, 16, 64, 64, 64), 5, 2, 2),
    ("4-D k3 s1", 4, (4, 16, 32, 32, 32, 32), (1, 8, 16, 16, 16, 16), 3, 1, 1),
    ("4-D k2 s2", 4, (4, 16, 32, 32, 32, 32), (1, 8, 16, 16, 16, 16), 2, 2, 0),
)
OPS = ("max", "avg")
MODES = ("fwd", "fwd+bwd")
DEVICE = "cuda"


def _need_cuda() -> None:
    """Exit with a message unless a CUDA GPU, Triton and compiled kernels are at hand."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        raise SystemExit(
            "gpu_vs_torch: TRITON_INTERPRET=1 is set; the kernels would run in Triton's "
            "interpreter on the host. Unset it to time the compiled kernels."
        )
    if not torch.cuda.is_available():
        raise SystemExit(
            "gpu_vs_torch: no CUDA GPU here (torch.cuda.is_available() is False); this "
            "benchmark times Triton kernels against cuDNN / ATen and needs one. Nothing "
            "was measured."
        )
    from ndpool.impl import triton as tk

    if not tk.available():
        raise SystemExit('gpu_vs_torch: Triton is not installed: pip install "ndpool[gpu]"')


def cuda_ms(fn, warmup: int, repeats: int) -> float:
    """Median milliseconds of ``fn`` by CUDA events, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def wall_ms(fn, warmup: int, repeats: int) -> float:
    """Median wall-clock milliseconds of ``fn`` after ``warmup`` untimed calls: the timer
    for CPU tensors, where there are no CUDA events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def triton_fn(op: str, d: int, k: int, s: int, p: int):
    from ndpool.impl.triton import pooling

    cfg = dict(kernel_size=(k,) * d, stride=s, padding=p)
    if op == "max":
        return lambda x: pooling.max_pool(x, **cfg)
    return lambda x: pooling.avg_pool(x, **cfg)


def torch_fn(op: str, d: int, k: int, s: int, p: int):
    """torch.nn.functional's kernel (cuDNN / ATen), None where torch has none (d > 3)."""
    import torch.nn.functional as F

    if d > 3:
        return None
    f = getattr(F, f"{op}_pool{d}d")
    return lambda x: f(x, k, s, p)


def step(forward, x, y_bar=None):
    """A no-grad forward, or (given the cotangent ``y_bar``) forward + backward."""
    if y_bar is None:

        def run():
            with torch.no_grad():
                return forward(x)

        return run
    xg = x.detach().clone().requires_grad_()

    def run():
        xg.grad = None
        forward(xg).backward(y_bar)
        return xg.grad

    return run


def measure(
    case, op: str, quick: bool, dtype, warmup: int, repeats: int, device=DEVICE, timer=cuda_ms
) -> list[dict]:
    """The rows of one case and op, both modes: ``device`` holds the tensors and
    ``timer(fn, warmup, repeats)`` times in milliseconds (CUDA events on a GPU)."""
    name, d, shape, quick_shape, k, s, p = case
    shape = quick_shape if quick else shape
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(shape, device=device, dtype=dtype, generator=gen)
    clone_ms = timer(lambda: x.clone(), warmup, repeats)
    clone_gbs = 2 * x.nbytes / clone_ms / 1e6
    rows = []
    for mode in MODES:
        backward = mode == "fwd+bwd"
        with torch.no_grad():
            y = triton_fn(op, d, k, s, p)(x)
        y_bytes = y.nbytes
        y_bar = (
            torch.randn(y.shape, device=device, dtype=dtype, generator=gen) if backward else None
        )
        ours = step(triton_fn(op, d, k, s, p), x, y_bar)
        theirs_fn = torch_fn(op, d, k, s, p)
        theirs = step(theirs_fn, x, y_bar) if theirs_fn else None
        moved = x.nbytes + y_bytes + (y_bytes + x.nbytes if backward else 0)
        first, second = ours(), ours()
        row = dict(case=name, op=op, d=d, kernel=k, stride=s, padding=p, mode=mode,
                   shape=list(shape), dtype=str(dtype).removeprefix("torch."))  # fmt: skip
        row["triton_ms"] = timer(ours, warmup, repeats)
        row["triton_gbs"] = moved / row["triton_ms"] / 1e6
        if theirs is not None:
            row["torch_ms"] = timer(theirs, warmup, repeats)
            row["torch_gbs"] = moved / row["torch_ms"] / 1e6
            row["speedup"] = row["torch_ms"] / row["triton_ms"]
            row["max_abs_diff"] = float((first.float() - theirs().float()).abs().max())
        # clone again after the op: the better of the two is the bandwidth reference
        clone_gbs = max(clone_gbs, 2 * x.nbytes / timer(lambda: x.clone(), 1, repeats) / 1e6)
        row["clone_gbs"] = clone_gbs
        row["triton_of_clone"] = row["triton_gbs"] / clone_gbs
        if theirs is not None:
            row["torch_of_clone"] = row["torch_gbs"] / clone_gbs
        if backward:
            row["triton_backward_deterministic"] = bool(torch.equal(first, second))
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(r: dict) -> str:
    ref = ""
    if "torch_ms" in r:
        ref = f"  torch {r['torch_ms']:8.3f} ms ({r['torch_of_clone']:.0%})  x{r['speedup']:.2f}"
    return (
        f"{r['case']:20s} {r['op']} {r['mode']:7s} triton {r['triton_ms']:8.3f} ms "
        f"({r['triton_of_clone']:.0%} of clone {r['clone_gbs']:.0f} GB/s){ref}"
    )


def summarize(rows: list[dict]) -> dict:
    """The goals: forward >= 85 % of clone bandwidth on the large inputs, 3-D
    forward+backward faster than torch, d = 4 >= 70 % of clone bandwidth."""
    fwd = [r["triton_of_clone"] for r in rows if r["mode"] == "fwd" and r["d"] <= 3]
    bwd3 = [r["speedup"] for r in rows if r["d"] == 3 and r["mode"] == "fwd+bwd"]
    d4 = [r["triton_of_clone"] for r in rows if r["d"] == 4]
    nan = float("nan")
    return {
        "fwd_min_of_clone (goal >= 0.85)": min(fwd, default=nan),
        "3d_fwd+bwd_min_speedup (goal > 1)": min(bwd3, default=nan),
        "4d_min_of_clone (goal >= 0.70)": min(d4, default=nan),
        "backward_deterministic": all(r.get("triton_backward_deterministic", True) for r in rows),
    }


def markdown(result: dict, command: str) -> str:
    meta, rows = result["meta"], result["rows"]
    goals = summarize(rows)
    lines = [
        "# GPU benchmarks: the Triton kernels next to torch",
        "",
        f"Measured on {meta['gpu']} (CUDA {meta['cuda']}, torch {meta['torch']}, "
        f"Triton {meta['triton']}, {meta['dtype']}, median of {meta['repeats']} timed "
        f"repeats after {meta['warmup']} warm-up calls, CUDA events) by:",
        "",
        f"    {command}",
        "",
        "`speedup` = torch ms / Triton ms (> 1: Triton faster). GB/s counts the bytes every",
        "implementation must move (`fwd`: read x, write y; `fwd+bwd` adds reading the",
        "cotangent and writing grad x); `% clone` is that over the GB/s of `x.clone()` on",
        "the same tensor in the same run. What the kernels do is described in",
        "[the GPU path](gpu.md).",
        "",
        "| goal | measured |",
        "|---|---|",
    ]
    for key, value in goals.items():
        lines.append(
            f"| {key} | {value:.2f} |" if isinstance(value, float) else f"| {key} | {value} |"
        )
    lines += [
        "",
        "| case | op | mode | shape | Triton ms | torch ms | speedup | Triton % clone "
        "| torch % clone | clone GB/s | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        torch_ms = f"{r['torch_ms']:.3f}" if "torch_ms" in r else "-"
        speed = f"{r['speedup']:.2f}" if "speedup" in r else "-"
        theirs = f"{r['torch_of_clone']:.0%}" if "torch_of_clone" in r else "-"
        diff = f"{r['max_abs_diff']:.1e}" if "max_abs_diff" in r else "-"
        lines.append(
            f"| {r['case']} | {r['op']} | {r['mode']} | {'x'.join(map(str, r['shape']))} | "
            f"{r['triton_ms']:.3f} | {torch_ms} | {speed} | {r['triton_of_clone']:.0%} | "
            f"{theirs} | {r['clone_gbs']:.0f} | {diff} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    ap.add_argument("--out", default="benchmarks/results/gpu_vs_torch.json")
    ap.add_argument("--markdown", help="also write the tables to this markdown page")
    ap.add_argument("--from-json", help="render --markdown from a saved result, run nothing")
    args = ap.parse_args(argv)
    if args.from_json:
        result = json.loads(pathlib.Path(args.from_json).read_text())
        command = result["meta"]["command"]
        pathlib.Path(args.markdown).write_text(markdown(result, command))
        return 0
    _need_cuda()
    import triton

    dtype = getattr(torch, args.dtype)
    warmup, repeats = (3, 10) if args.quick else (5, 30)
    t0 = time.time()
    rows = []
    for case in CASES:
        for op in OPS:
            rows += measure(case, op, args.quick, dtype, warmup, repeats)
    command = "python benchmarks/gpu_vs_torch.py" + (" --quick" if args.quick else "")
    command += f" --dtype {args.dtype}" + (f" --markdown {args.markdown}" if args.markdown else "")
    meta = dict(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                torch=torch.__version__, triton=triton.__version__,
                python=platform.python_version(), dtype=args.dtype, quick=args.quick,
                warmup=warmup, repeats=repeats, seconds=round(time.time() - t0, 1),
                command=command)  # fmt: skip
    result = {"meta": meta, "goals": summarize(rows), "rows": rows}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    if args.markdown:
        pathlib.Path(args.markdown).write_text(markdown(result, command))
    print(json.dumps(result["goals"]), f"-> {out}", f"({meta['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
