"""Real sizes: time and peak memory of the spec and impl on real activation shapes.

Every case runs in a fresh Python process (``--case NAME``), so its peak memory is its
own: ``peak_mb`` is the growth of the process's peak resident set (``ru_maxrss``) from
the moment its modules are imported, input arrays included (``input_mb`` says how much of
it the inputs are). Reported:

- targets: spec max pool 3-D (2, 16, 48, 48, 48), kernel 3, stride 1, forward and VJP
  (float32 input); spec avg pool 2-D (32, 64, 112, 112), kernel 3, stride 2, padding 1,
  forward (float32); ``spec.output_shape`` on a 10**12-long axis; impl 1-D max pooling
  (kernel 3, stride 2, padding 1) on 40 distinct lengths near 4e6, forward and forward +
  backward, with the process's memory before and after the loop;
- the same spec and impl cases forward and backward (impl: torch autograd, float32);
- scaling: 2-D max pool forward + VJP / backward against input size at kernel 3, and
  against kernel size at a fixed input, spec and impl, with the growth order of every
  series measured: the log-log least-squares slope of time and of peak memory against
  the input's cells and the window's cells (:func:`growth_slopes`);
- before/after: with ``--before SITE`` (a folder holding the package as it was), the
  spec's time on small, Hypothesis-sized calls (forward, JVP and VJP of the classic and
  the research ops, :data:`SMALL_CALLS`) in this version and in that one, timed in
  alternating processes, per op and as the ratio of the sums over the ops both have.

    python benchmarks/sizes.py [--quick] [--before /work/base16site]
        [--out benchmarks/results/sizes.json]   (the plot goes next to it, .png)
        [--markdown docs/sizes-benchmarks.md]
    python benchmarks/sizes.py --from-json RESULTS.json --markdown PAGE.md
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve()
ROOT = HERE.parent.parent
MB = 2**20

TARGETS = {
    "spec_max3d_forward+vjp": 768,
    "spec_avg2d_forward": 512,
}


# -- the cases (run inside a fresh process) -----------------------------------------------
def _rss_mb() -> float:
    """The process's peak resident set so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def _spec_case(kind: str, shape, cfg, direction: str) -> dict:
    import numpy as np

    from ndpool import spec

    base = _rss_mb()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    op = spec.OPS[kind]
    out = spec.output_shape(kind, x.shape, **cfg)
    y_bar = np.ones(out, dtype=np.float32) if direction != "forward" else None
    inputs = (x.nbytes + (0 if y_bar is None else y_bar.nbytes)) / MB
    start = time.perf_counter()
    if direction in ("forward", "forward+vjp"):
        op.forward(x, **cfg)
    if direction in ("vjp", "forward+vjp"):
        op.vjp((x,), y_bar, **cfg)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _rss_mb() - base, "input_mb": inputs}


def _impl_case(kind: str, shape, cfg, direction: str) -> dict:
    import torch

    from ndpool import impl

    torch.set_num_threads(1)
    base = _rss_mb()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(direction != "forward")
    inputs = x.nbytes / MB
    fn = getattr(impl, kind)
    start = time.perf_counter()
    if direction == "forward":
        with torch.no_grad():
            fn(x, **cfg)
    else:
        y = fn(x, **cfg)
        y.backward(torch.ones_like(y))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _rss_mb() - base, "input_mb": inputs}


def _output_shape_case() -> dict:
    from ndpool import spec

    cases = {
        "max_pool k3 s2 p1": ("max_pool", dict(kernel_size=3, stride=2, padding=1)),
        "avg_pool k3 same": ("avg_pool", dict(kernel_size=3, padding="same")),
        "max_pool stride 2**70": ("max_pool", dict(kernel_size=3, stride=2**70)),
        "adaptive_avg_pool 7": ("adaptive_avg_pool", dict(output_size=(7,))),
        "s3_pool k2 train": ("s3_pool", dict(kernel_size=2)),
        "s3_pool k2 eval": ("s3_pool", dict(kernel_size=2, mode="eval")),
    }
    result = {}
    for label, (name, cfg) in cases.items():
        spec.output_shape(name, (2, 3, 10**12), **cfg)
        best = float("inf")
        for _ in range(200):
            start = time.perf_counter()
            spec.output_shape(name, (2, 3, 10**12), **cfg)
            best = min(best, time.perf_counter() - start)
        result[label] = best * 1e6
    return {"microseconds": result}


def _impl_lengths_case(direction: str, count: int) -> dict:
    import torch

    from ndpool import impl

    torch.set_num_threads(1)
    cfg = dict(kernel_size=3, stride=2, padding=1)
    before_rss, before_peak = _current_mb(), _rss_mb()
    kept, after_first = 0, None
    start = time.perf_counter()
    for i in range(count):
        x = torch.randn(1, 1, 4_000_000 + 7 * i, requires_grad=direction != "forward")
        if direction == "forward":
            with torch.no_grad():
                y = impl.max_pool(x, **cfg)
        else:
            y = impl.max_pool(x, **cfg)
            y.backward(torch.ones_like(y))
        kept = y.nbytes
        del x, y
        after_first = _current_mb() if after_first is None else after_first
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "lengths": count,
        "growth_mb": _current_mb() - before_rss,
        "growth_after_first_mb": _current_mb() - after_first,
        "peak_mb": _rss_mb() - before_peak,
        "last_output_mb": kept / MB,
    }


def _cells(cfg) -> int:
    """The cells of one window of a 2-D call's ``kernel_size``."""
    k = cfg["kernel_size"]
    return k * k if isinstance(k, int) else k[0] * k[1]


#: The small calls: (op, keywords, the inputs after x as a function of (rng, x, output
#: shape, window cells): (value, differentiable) pairs). The research ops draw their
#: parameters and random inputs the way their tests do.
SMALL_CALLS = (
    ("max_pool", dict(kernel_size=(3, 2), stride=(2, 1), padding=1), lambda r, x, o, k: ()),
    ("avg_pool", dict(kernel_size=3, stride=2, ceil_mode=True), lambda r, x, o, k: ()),
    ("lp_pool", dict(kernel_size=2), lambda r, x, o, k: ((2.0, True),)),
    ("smooth_max_pool", dict(kernel_size=(2, 3)), lambda r, x, o, k: ((1.5, True),)),
    ("adaptive_max_pool", dict(output_size=(4, 3)), lambda r, x, o, k: ()),
    ("adaptive_avg_pool", dict(output_size=(3, 5)), lambda r, x, o, k: ()),
    ("median_pool", dict(kernel_size=3, stride=1), lambda r, x, o, k: ()),
    ("gem_pool", dict(kernel_size=3, stride=2, padding=1), lambda r, x, o, k: ((3.0, True),)),
    (
        "quantile_pool",
        dict(kernel_size=3, stride=1),
        lambda r, x, o, k: ((0.3, True), (2.0, True)),
    ),
    ("mixed_pool", dict(kernel_size=2), lambda r, x, o, k: ((0.4, True),)),
    (
        "gated_pool",
        dict(kernel_size=2),
        lambda r, x, o, k: ((0.3 * r.standard_normal((x.shape[1], k)), True), (0.2, True)),
    ),
    (
        "tree_pool",
        dict(kernel_size=(2, 3), stride=1),
        lambda r, x, o, k: tuple((r.standard_normal(k), True) for _ in range(3)),
    ),
    ("soft_pool", dict(kernel_size=3, stride=2), lambda r, x, o, k: ()),
    (
        "stochastic_pool",
        dict(kernel_size=2),
        lambda r, x, o, k: ((r.uniform(0.0, 1.0, o), False),),
    ),
    (
        "gumbel_pool",
        dict(kernel_size=2),
        lambda r, x, o, k: ((0.7, True), (r.gumbel(size=(*o, k)), False)),
    ),
    ("s3_pool", dict(kernel_size=2), None),  # indices: the op's own sampler
)


def _small_call_set(spec, np) -> tuple[dict, dict]:
    """``({op: [forward, JVP and VJP calls]}, {op: why it is left out})``: the ops of
    :data:`SMALL_CALLS` this version of the spec has, each called once to check it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 7))
    calls, missing = {}, {}
    for name, cfg, extra in SMALL_CALLS:
        try:
            xs = np.abs(x) if name == "stochastic_pool" else x  # its cells are >= 0
            out = spec.output_shape(name, xs.shape, **cfg)
            if extra is None:
                sampler = spec.OPS[name].input_specs[1].sampler
                inputs = ((sampler(rng, xs.shape, **cfg), False),)
            else:
                inputs = extra(rng, xs, out, _cells(cfg) if "kernel_size" in cfg else 0)
            primals = (xs, *(v for v, _ in inputs))
            tangents = (xs, *(np.ones_like(np.asarray(v)) if d else None for v, d in inputs))
            op = spec.OPS[name]
            y_bar = np.ones_like(op.forward(*primals, **cfg))
            group = [
                lambda p=primals, c=cfg, op=op: op.forward(*p, **c),
                lambda n=name, p=primals, t=tangents, c=cfg: spec.jvp(n, p, t, **c),
                lambda n=name, p=primals, u=y_bar, c=cfg: spec.vjp(n, p, u, **c),
            ]
            for call in group:
                call()
        except Exception as exc:  # an op this version lacks or calls otherwise
            missing[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
            continue
        calls[name] = group
    return calls, missing


def _small_calls(repeats: int) -> dict:
    """The spec on Hypothesis-sized calls: per op, the best of ``repeats`` timings of its
    forward, JVP and VJP calls, in milliseconds (``ms``: their sum)."""
    import numpy as np

    from ndpool import spec

    calls, missing = _small_call_set(spec, np)
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, group in calls.items():
            start = time.perf_counter()
            for call in group:
                call()
            best[name] = min(best[name], time.perf_counter() - start)
    ops = {name: t * 1e3 for name, t in best.items()}
    return {
        "ms": sum(ops.values()),
        "calls": 3 * len(ops),
        "ops": ops,
        "missing": missing,
    }


MAX3D = ("max_pool", (2, 16, 48, 48, 48), dict(kernel_size=3, stride=1))
AVG2D = ("avg_pool", (32, 64, 112, 112), dict(kernel_size=3, stride=2, padding=1))
MAX3D_QUICK = ("max_pool", (1, 4, 24, 24, 24), dict(kernel_size=3, stride=1))
AVG2D_QUICK = ("avg_pool", (4, 16, 56, 56), dict(kernel_size=3, stride=2, padding=1))


def run_case(name: str, quick: bool) -> dict:
    """One named case, measured in this process."""
    part, _, arg = name.partition(":")
    if part == "output_shape":
        return _output_shape_case()
    if part == "impl_lengths":
        return _impl_lengths_case(arg, 4 if quick else 40)
    if part == "small":
        return _small_calls(int(arg))
    side, what, direction = part.split("/")
    if what.startswith("scale_"):  # scale_n or scale_k, with the value after the colon
        kind, shape, cfg = _scaling_point(what, int(arg))
    else:
        kind, shape, cfg = {
            ("max3d", False): MAX3D,
            ("max3d", True): MAX3D_QUICK,
            ("avg2d", False): AVG2D,
            ("avg2d", True): AVG2D_QUICK,
        }[(what, quick)]
    return (_spec_case if side == "spec" else _impl_case)(kind, shape, cfg, direction)


SCALE_N = (32, 64, 128, 256)
SCALE_K = (2, 3, 5, 7)
SCALE_FIXED_N = 128


def _scaling_point(what: str, value: int):
    if what == "scale_n":
        return "max_pool", (1, 8, value, value), dict(kernel_size=3, stride=1)
    return "max_pool", (1, 8, SCALE_FIXED_N, SCALE_FIXED_N), dict(kernel_size=value, stride=1)


# -- the driver ---------------------------------------------------------------------------
#: glibc's malloc raises its mmap threshold after freeing a large buffer, so later buffers
#: of a few MiB come from the heap and stay resident once freed; a fixed threshold gives
#: them back, which shows what the process itself still holds.
FIXED_MMAP = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


def in_process(case: str, quick: bool, site: str | None = None, extra_env=None) -> dict:
    """Run ``case`` in a fresh interpreter (``site``: the package found on that path)."""
    env = dict(os.environ, **(extra_env or {}))
    if site is not None:
        env["PYTHONPATH"] = site
    command = [sys.executable, str(HERE), "--case", case] + (["--quick"] if quick else [])
    proc = subprocess.run(command, env=env, cwd="/tmp", capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(quick: bool, before: str | None) -> dict:
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "quick": quick,
        "cases": {},
        "scaling": {"n": {}, "k": {}},
    }
    cases = results["cases"]
    for what in ("max3d", "avg2d"):
        for direction in ("forward", "vjp", "forward+vjp"):
            if what == "avg2d" and direction == "forward+vjp":
                continue
            cases[f"spec_{what}_{direction}"] = in_process(f"spec/{what}/{direction}", quick)
            print(f"spec {what} {direction}: {cases[f'spec_{what}_{direction}']}", flush=True)
        for direction in ("forward", "backward"):
            cases[f"impl_{what}_{direction}"] = in_process(f"impl/{what}/{direction}", quick)
            print(f"impl {what} {direction}: {cases[f'impl_{what}_{direction}']}", flush=True)
    cases["output_shape"] = in_process("output_shape", quick)
    print(f"output_shape: {cases['output_shape']}", flush=True)
    measure_lengths(results, quick)
    measure_scaling(results, quick)
    results["scaling_slopes"] = growth_slopes(results["scaling"])
    print(f"scaling slopes: {results['scaling_slopes']}", flush=True)
    results["small_calls"] = []
    for entry in before or ():
        site, _, label = entry.partition("=")
        repeats = 5 if quick else 20
        runs = {"before": [], "after": []}
        for _ in range(5):  # alternating processes: a drift in load hits both sides
            runs["before"].append(in_process(f"small:{repeats}", quick, site))
            runs["after"].append(in_process(f"small:{repeats}", quick))
        results["small_calls"].append(compare_small(runs, site, label or site))
        print(f"small calls: {results['small_calls'][-1]}", flush=True)
    return results


def compare_small(runs: dict, site: str, label: str) -> dict:
    """The small calls of alternating processes, before and after: per op the best of the
    runs, and the ratio of their sums over the ops both versions have."""
    best = {
        side: {
            name: min(r["ops"][name] for r in rs)
            for name in set.intersection(*(set(r["ops"]) for r in rs))
        }
        for side, rs in runs.items()
    }
    common = [name for name, *_ in SMALL_CALLS if name in best["before"] and name in best["after"]]
    before = sum(best["before"][n] for n in common)
    after = sum(best["after"][n] for n in common)
    return {
        "before_ms": before,
        "after_ms": after,
        "ratio_after_over_before": after / before,
        "ops_compared": common,
        "ops": {n: {"before_ms": best["before"][n], "after_ms": best["after"][n]} for n in common},
        "missing_before": runs["before"][0]["missing"],
        "missing_after": runs["after"][0]["missing"],
        "runs": {side: [r["ms"] for r in rs] for side, rs in runs.items()},
        "before_site": site,
        "before_label": label,
    }


#: What a scaling sweep's slope is measured against: the input's cells (1, 8, n, n) at
#: kernel 3, or the window's cells k x k at a fixed input.
SIZE_OF = {
    "n": ("input cells", lambda v: 8 * v * v),
    "k": ("window cells", lambda v: v * v),
}


def growth_slopes(scaling: dict) -> dict:
    """The growth order of every scaling series, measured: the least-squares slope of
    log(time) and log(peak memory) against log(size) (1: linear in the size), and the
    slope between the two largest sizes (``end``); size as in :data:`SIZE_OF`."""
    import numpy as np

    slopes = {}
    for axis, points in scaling.items():
        against, size = SIZE_OF[axis]
        xs = np.log([size(int(v)) for v in points])
        slopes[axis] = {"against": against}
        for side in ("spec", "impl"):
            slopes[axis][side] = {}
            for key in ("seconds", "peak_mb"):
                ys = np.array([points[v][side][key] for v in points], dtype=float)
                if len(ys) < 2 or (ys <= 0).any():
                    fit = end = None  # a series at or below zero has no log-log slope
                else:
                    fit = float(np.polyfit(xs, np.log(ys), 1)[0])
                    end = float((np.log(ys[-1]) - np.log(ys[-2])) / (xs[-1] - xs[-2]))
                slopes[axis][side][key] = {"fit": fit, "end": end}
    return slopes


def measure_scaling(results: dict, quick: bool, repeats: int = 3) -> None:
    """The scaling sweeps: each point the best of ``repeats`` fresh processes (the least
    time and the least peak: a busy machine only adds to either)."""
    for axis, values in (("n", SCALE_N[:3] if quick else SCALE_N), ("k", SCALE_K)):
        for v in values:
            point = {}
            for side, direction in (("spec", "forward+vjp"), ("impl", "backward")):
                runs = [
                    in_process(f"{side}/scale_{axis}/{direction}:{v}", quick)
                    for _ in range(repeats)
                ]
                point[side] = {k: min(r[k] for r in runs) for k in runs[0]}
            results["scaling"][axis][str(v)] = point
            print(f"scaling {axis}={v}: {point}", flush=True)


def measure_lengths(results: dict, quick: bool) -> None:
    """The impl long-axis cases, with glibc's default malloc and with a fixed mmap
    threshold (:data:`FIXED_MMAP`)."""
    for direction in ("forward", "backward"):
        case = f"impl_lengths:{direction}"
        r = in_process(case, quick)
        r["fixed_mmap"] = in_process(case, quick, extra_env=FIXED_MMAP)
        results["cases"][f"impl_lengths_{direction}"] = r
        print(f"impl lengths {direction}: {r}", flush=True)


def plot(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slopes = results.get("scaling_slopes") or growth_slopes(results["scaling"])
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for col, (axis, label) in enumerate(
        (
            ("n", "input cells 8·n²  (1, 8, n, n), kernel 3"),
            ("k", "window cells k²  (1, 8, 128, 128)"),
        )
    ):
        points = results["scaling"][axis]
        xs = [SIZE_OF[axis][1](int(v)) for v in points]
        for row, (key, unit) in enumerate((("seconds", "time (s)"), ("peak_mb", "peak (MiB)"))):
            ax = axes[row][col]
            for side, marker in (("spec", "o-"), ("impl", "s-")):
                fit = slopes[axis][side][key]["fit"]
                name = side if fit is None else f"{side}: slope {fit:.2f}"
                ax.plot(xs, [points[v][side][key] for v in points], marker, label=name)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel(unit)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
    fig.suptitle(
        "2-D max pool, forward + VJP (spec) / forward + backward (impl); "
        "slope: log-log least squares"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict, image: str | None) -> str:
    c = results["cases"]
    lines = [
        "# Real sizes: time and memory",
        "",
        "Measured by `benchmarks/sizes.py`: every case in a fresh process, its peak memory "
        "the growth of the process's peak resident set from after its imports, inputs "
        "included. The spec gathers its windows in blocks under a memory budget (256 MiB by "
        "default, `spec.memory_budget`); impl plans are a few integers per axis.",
        "",
        f"Machine: {results['machine']['platform']}, {results['machine']['cpus']} CPUs "
        f"(load average {', '.join(f'{v:.1f}' for v in results['machine']['load_average'])} "
        "at the start: times are of a shared machine), Python "
        f"{results['machine']['python']}; impl on one thread."
        + (" Quick run (smaller shapes)." if results["quick"] else ""),
        "",
        "## Targets",
        "",
        "| case | time | peak memory | target |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("spec_max3d_forward+vjp", "spec max pool 3-D (2, 16, 48³) k3 s1, forward + VJP"),
        ("spec_avg2d_forward", "spec avg pool 2-D (32, 64, 112, 112) k3 s2 p1, forward"),
    ):
        r = c[key]
        target = TARGETS[key]
        ok = "met" if r["peak_mb"] <= target else "missed"
        lines.append(
            f"| {label} | {r['seconds']:.2f} s | {r['peak_mb']:.0f} MiB "
            f"(inputs {r['input_mb']:.0f}) | ≤ {target} MiB: {ok} |"
        )
    shapes = c["output_shape"]["microseconds"]
    worst = max(shapes.values())
    lines.append(
        f"| `spec.output_shape` on a 10¹² axis ({len(shapes)} configurations) | "
        f"≤ {worst:.1f} µs | – | < 1 ms: {'met' if worst < 1000 else 'missed'} |"
    )
    for direction in ("forward", "backward"):
        r = c[f"impl_lengths_{direction}"]
        lines.append(
            f"| impl 1-D max pool k3 s2 p1 on {r['lengths']} lengths near 4e6, {direction} | "
            f"{r['seconds']:.2f} s | peak +{r['peak_mb']:.0f} MiB; resident after the loop "
            f"{r['growth_mb']:+.0f} MiB, of which {r['growth_after_first_mb']:+.0f} MiB "
            f"after the first length (one output: {r['last_output_mb']:.0f} MiB); with a "
            f"fixed mmap threshold {r['fixed_mmap']['growth_after_first_mb']:+.0f} MiB after "
            "the first length | a few seconds, no growth |"
        )
    lines += [
        "",
        "The long-axis plans are a few integers each, so nothing grows with the lengths; "
        "with glibc's default malloc the resident set still keeps freed buffers of a few "
        "MiB in the heap (its mmap threshold rises after the first large free): with the "
        "threshold fixed (`MALLOC_MMAP_THRESHOLD_=131072`) the process holds nothing more "
        "after the first length than before it.",
        "",
        "## Forward and backward",
        "",
        "Inputs float32; the spec computes in float64, impl in float32.",
        "",
        "| case | direction | time | peak memory | inputs |",
        "|---|---|---|---|---|",
    ]
    for key, r in c.items():
        if "seconds" not in r or key.startswith("impl_lengths"):
            continue
        side, what, direction = key.split("_", 2)
        lines.append(
            f"| {side} {what} | {direction} | {r['seconds']:.3f} s | {r['peak_mb']:.0f} MiB | "
            f"{r['input_mb']:.0f} MiB |"
        )
    lines += ["", "## output_shape on a 10¹² axis", "", "| configuration | best time |"]
    lines.append("|---|---|")
    lines += [f"| {k} | {v:.1f} µs |" for k, v in shapes.items()]
    lines += [
        "",
        "## Scaling",
        "",
        "2-D max pool: spec forward + VJP, impl forward + backward (float32), against the "
        "input at kernel 3 ((1, 8, n, n), n = "
        f"{', '.join(results['scaling']['n'])}) and against the kernel at a 128 × 128 input "
        f"(8 channels; k = {', '.join(results['scaling']['k'])}). The growth order of each "
        "series is measured: the least-squares slope of log time and log peak memory against "
        "log size, size being the input's cells for the first sweep and the window's cells "
        "(k²) for the second (1: linear in it, 0: flat), and the slope between the two "
        "largest sizes (end).",
        "",
    ]
    if image:
        lines += [f"![time and memory against input and kernel size]({image})", ""]
    slopes = results.get("scaling_slopes") or growth_slopes(results["scaling"])

    def slope(axis, side, key):
        fit, end = (slopes[axis][side][key][k] for k in ("fit", "end"))
        return "–" if fit is None else f"{fit:.2f} (end {end:.2f})"

    lines += [
        "| series | against | spec time | spec peak | impl time | impl peak |",
        "|---|---|---|---|---|---|",
    ]
    for axis, label in (("n", "input size, kernel 3"), ("k", "kernel size, 128 × 128")):
        lines.append(
            f"| {label} | log {slopes[axis]['against']} | "
            + " | ".join(
                slope(axis, side, key)
                for side in ("spec", "impl")
                for key in ("seconds", "peak_mb")
            )
            + " |"
        )
    lines += ["", "| sweep | value | spec time | spec peak | impl time | impl peak |"]
    lines.append("|---|---|---|---|---|---|")
    for axis, points in results["scaling"].items():
        for v, p in points.items():
            lines.append(
                f"| {'input side' if axis == 'n' else 'kernel'} | {v} | "
                f"{p['spec']['seconds']:.3f} s | {p['spec']['peak_mb']:.0f} MiB | "
                f"{p['impl']['seconds']:.4f} s | {p['impl']['peak_mb']:.0f} MiB |"
            )
    small = results.get("small_calls") or []
    if small:
        lines += [
            "",
            "## Small inputs, before and after",
            "",
            f"{len(small[0]['runs']['after'])} alternating processes each time the forward, "
            "JVP and VJP of every op below on a Hypothesis-sized (2, 3, 6, 7) input with this "
            "version and with an earlier one; per op the best of all runs, and the ratio of "
            "their sums over the ops both versions have:",
            "",
            "| earlier version | ops compared | before | after | after / before |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s.get('before_label', s['before_site'])} | "
            f"{len(s.get('ops_compared', ())) or 'all'} | {s['before_ms']:.2f} ms | "
            f"{s['after_ms']:.2f} ms | {s['ratio_after_over_before']:.3f} |"
            for s in small
        ]
        per_op = [s for s in small if s.get("ops")]
        if per_op:
            lines += [
                "",
                "Per op (forward + JVP + VJP, best of the runs; – where the earlier version "
                "lacks the op or calls it otherwise), each earlier version by the first word "
                "of its name, beside this version's time in the same alternating runs:",
                "",
                "| op | "
                + " | ".join(f"{s['before_label'].split()[0]} | after | ratio" for s in per_op)
                + " |",
                "|---|" + "---|---|---|" * len(per_op),
            ]
            names = [n for n, *_ in SMALL_CALLS if any(n in s["ops"] for s in per_op)]
            for name in names:
                cells = [
                    (
                        f"{s['ops'][name]['before_ms']:.3f} ms | "
                        f"{s['ops'][name]['after_ms']:.3f} ms | "
                        f"{s['ops'][name]['after_ms'] / s['ops'][name]['before_ms']:.2f}"
                    )
                    if name in s["ops"]
                    else "– | – | –"
                    for s in per_op
                ]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Reproduce: `python benchmarks/sizes.py --before SITE=LABEL --out "
        "benchmarks/results/sizes.json --markdown docs/sizes-benchmarks.md`; SITE is a folder "
        "holding the earlier package as `SITE/ndpool/{spec,impl,conformance}` plus an empty "
        "`SITE/ndpool/__init__.py` (e.g. `git archive COMMIT spec impl conformance | tar -x "
        "-C SITE/ndpool`), LABEL names it in the table.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="smaller shapes, fewer lengths")
    parser.add_argument(
        "--before",
        action="append",
        help="SITE[=LABEL]: a folder holding an earlier package, named LABEL (repeatable)",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/sizes.json"))
    parser.add_argument("--markdown", help="write the tables as a markdown page")
    parser.add_argument("--from-json", help="render a previous run instead of measuring")
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.quick)))
        return
    if args.from_json:
        results = json.loads(pathlib.Path(args.from_json).read_text())
        out = pathlib.Path(args.from_json)
    else:
        results = measure(args.quick, args.before)
        out = pathlib.Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
    image = None
    if args.markdown:
        page = pathlib.Path(args.markdown)
        png = page.parent / "img" / "sizes-scaling.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        plot(results, png)
        plot(results, out.with_suffix(".png"))
        image = os.path.relpath(png, page.parent)
        page.write_text(markdown(results, image))


if __name__ == "__main__":
    main()
