"""Source mutants of ndpool.impl's Triton path: the ``triton`` target with one line of its
kernels (impl/triton/kernels.py), their launchers (ops.py), geometry or entry points
changed -- the bug classes of :mod:`.mutants` (whose mutants wrap the spec) made where a
kernel author would make them. The suite, run on the ``triton`` target, must reject every
one of them.

A mutant is a textual patch (``old`` -> ``new``, ``old`` found exactly once in its file);
:func:`patched_site` copies the installed ndpool packages into a folder with the patch
applied, and the kill-rate script (``python -m ndpool.conformance.tools.killrate --mutants
triton``) runs the suite in a fresh interpreter that imports that copy, under Triton's
interpreter (the kernels are interpreted Python, so the patched source is what runs).
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass
from pathlib import Path

#: the ndpool packages a patched copy holds (each a folder of the installed package)
PACKAGES = ("spec", "impl", "conformance")


@dataclass(frozen=True)
class SourceMutant:
    name: str
    description: str
    ops: tuple[str, ...]  # the ops it breaks (only these are checked)
    path: str  # the patched file, relative to the ndpool package root ("impl/triton/...")
    old: str
    new: str


def _kernels(name, description, ops, old, new) -> SourceMutant:
    return SourceMutant(name, description, ops, "impl/triton/kernels.py", old, new)


MAX_OPS = ("max_pool", "adaptive_max_pool")

TRITON_MUTANTS: dict[str, SourceMutant] = {
    m.name: m
    for m in (
        # -- selection (max, adaptive max; the winner rule Lp and smooth max share) --
        _kernels(
            "max-last-tie",
            "the window scan keeps the last maximizer (>= instead of >)",
            MAX_OPS,
            "(nan | (found == 0) | (v > best))",
            "(nan | (found == 0) | (v >= best))",
        ),
        _kernels(
            "max-nan-dropped",
            "NaN cells take no part in the window scan",
            MAX_OPS,
            "        nan = v != v\n",
            "        nan = v != v\n        part = part & (nan == 0)\n",
        ),
        _kernels(
            "max-nan-last",
            "a later NaN replaces the first one (values agree, indices do not)",
            MAX_OPS,
            "take = part & (has_nan == 0) & ",
            "take = part & ((has_nan == 0) | nan) & ",
        ),
        _kernels(
            "max-padding-as-zero",
            "max pooling compares padded cells as 0",
            ("max_pool",),
            "x_ptr, nc * plane_in, o, mask, geom_ptr, K, D, ADAPTIVE, False, False, CDT",
            "x_ptr, nc * plane_in, o, mask, geom_ptr, K, D, ADAPTIVE, False, True, CDT",
        ),
        _kernels(
            "max-neg-inf-window-lowest",
            "a window of -inf gives a large negative finite value",
            MAX_OPS,
            "    tl.store(y_ptr + offs, best.to(y_ptr.dtype.element_ty), mask=mask)\n",
            "    best = tl.where(best == float('-inf'), -60000.0, best)\n"
            "    tl.store(y_ptr + offs, best.to(y_ptr.dtype.element_ty), mask=mask)\n",
        ),
        _kernels(
            "max-indices-global",
            "saved indices count the earlier channels' planes",
            MAX_OPS,
            "    tl.store(index_ptr + offs, cell, mask=mask)\n",
            "    tl.store(index_ptr + offs, tl.where(cell >= 0, cell + nc * plane_in, cell), "
            "mask=mask)\n",
        ),
        _kernels(
            "max-jvp-wrong-cell",
            "the max-pool JVP reads the tangent of the cell before the winner",
            MAX_OPS,
            "src = (offs // plane_out) * plane_in + tl.maximum(index, 0)",
            "src = (offs // plane_out) * plane_in + tl.maximum(index - 1, 0)",
        ),
        _kernels(
            "max-vjp-one-window",
            "the max-pool backward gathers from one window per cell (overlaps lose gradient)",
            MAX_OPS,
            "    for r in range(R):\n        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)\n"
            "        use = mask & valid\n        out = nc * plane_out + o\n        hit = ",
            "    for r in range(1):\n        o, valid = _candidate(i, r, geom_ptr, D, ADAPTIVE)\n"
            "        use = mask & valid\n        out = nc * plane_out + o\n        hit = ",
        ),
        # -- geometry (every op) --
        _kernels(
            "padding-wraps",
            "the tap just before an axis reads the axis's last cell (negative indexing)",
            ("max_pool", "avg_pool"),
            "            real = real & (pos >= 0) & (pos < length)\n",
            "            real = real & (pos >= -1) & (pos < length)\n"
            "            pos = tl.where(pos < 0, pos + length, pos)\n",
        ),
        _kernels(
            "adaptive-floor-bins",
            "adaptive bins end at floor((i+1)L/n)",
            ("adaptive_max_pool", "adaptive_avg_pool"),
            "            end = ((oa + 1) * length + n_out - 1) // n_out\n",
            "            end = ((oa + 1) * length) // n_out\n",
        ),
        SourceMutant(
            "adaptive-largest-bin-short",
            "adaptive bins are walked with one tap too few where a bin straddles two "
            "multiples of n",
            ("adaptive_max_pool", "adaptive_avg_pool"),
            "impl/triton/geometry.py",
            "return q + 2 if r >= 2 * math.gcd(length, n) else q + 1",
            "return q + 1",
        ),
        # -- average --
        _kernels(
            "avg-count-include-pad-ignored",
            "the divisor always counts padding",
            ("avg_pool",),
            "    elif COUNT_PAD:\n",
            "    elif True:\n",
        ),
        _kernels(
            "avg-ceil-edge-divisor",
            "the padded-extent count of a ceil_mode edge window is the full kernel",
            ("avg_pool",),
            "n_inside = n_inside * _taps_between(start, -pad_begin, hi, kern, dil)",
            "n_inside = n_inside * kern",
        ),
        _kernels(
            "avg-nan-dropped",
            "the window sum treats NaN as 0",
            ("avg_pool", "adaptive_avg_pool"),
            "        acc += v\n",
            "        acc += tl.where(v == v, v, 0.0)\n",
        ),
        _kernels(
            "avg-sum-overflow",
            "no scaled fallback: a sum that overflows gives inf where the mean is finite",
            ("avg_pool", "adaptive_avg_pool"),
            "    y = tl.where(overflow, _div(acc_scaled, safe_div, CDT) * SUM_UP, y)\n",
            "",
        ),
        _kernels(
            "avg-vjp-doubled",
            "the average backward is twice the truth (JVP right, not adjoint)",
            ("avg_pool", "adaptive_avg_pool"),
            "acc += tl.where(use, g * weight, 0.0)",
            "acc += tl.where(use, 2.0 * g * weight, 0.0)",
        ),
        SourceMutant(
            "avg-layout-confused",
            "the average launcher reads its input's storage as if it were contiguous",
            ("avg_pool", "adaptive_avg_pool"),
            "impl/triton/ops.py",
            "def _avg_value(x, axes, count_include_pad, divisor_override, empty_zero):\n"
            "    x = x.contiguous()\n",
            "def _avg_value(x, axes, count_include_pad, divisor_override, empty_zero):\n"
            "    x = x if x.is_contiguous() else x.as_strided(x.shape, x.contiguous().stride())\n",
        ),
        # -- Lp --
        _kernels(
            "lp-sign-ignored",
            "lp_pool ignores sign='signed' (|x| always)",
            ("lp_pool",),
            "        if SIGNED:\n            t = v\n        else:\n            t = tl.abs(v)\n"
            "        r = _div(",
            "        t = tl.abs(v)\n        r = _div(",
        ),
        _kernels(
            "lp-ceil-window-rescaled",
            "lp_pool rescales partial ceil windows (PyTorch's rule) whatever partial_window",
            ("lp_pool",),
            "    if RESCALED:\n        _, n_inside",
            "    if True:\n        _, n_inside",
        ),
        _kernels(
            "lp-inf-window-nan",
            "lp_pool of a window holding +-inf is NaN",
            ("lp_pool",),
            'y = tl.where(m == float("inf"), _ieee_pow(rho * plain, inv_p, CDT), y)',
            'y = tl.where(m == float("inf"), float("nan"), y)',
        ),
        _kernels(
            "lp-naive-power",
            "lp_pool sums |x|^p unscaled (tiny windows give 0, huge ones inf)",
            ("lp_pool",),
            "    e = _pow2_ceiling_exponent(tl.where(finite_m, m, 1.0), CDT)\n",
            "    e = _pow2_ceiling_exponent(tl.where(finite_m, m, 1.0), CDT) * 0\n",
        ),
        _kernels(
            "lp-grad-sign-dropped",
            "the Lp derivative at a negative cell has the wrong sign (sign(x) left out)",
            ("lp_pool",),
            "        s = _sign(v) * rho\n",
            "        s = rho\n",
        ),
        # -- smooth max --
        _kernels(
            "smooth-naive-exp",
            "smooth max as log(sum(exp(beta x))) / beta, no shift by the window's max",
            ("smooth_max_pool",),
            '    shift = tl.where(has_nan | (tl.abs(top) == float("inf")), 0.0, top)\n',
            "    shift = tl.where(has_nan, 0.0, 0.0)\n",
        ),
        SourceMutant(
            "smooth-padding-policy-ignored",
            "smooth_max_pool ignores padding_policy (padded cells always absent)",
            ("smooth_max_pool",),
            "impl/triton/ops.py",
            'ZERO_PAD=padding_policy == "zero",',
            "ZERO_PAD=False,",
        ),
        _kernels(
            "smooth-beta-grad-negated",
            "the beta cotangent has the wrong sign",
            ("smooth_max_pool",),
            "tl.store(grad_beta_ptr + offs, dbeta * g, mask=mask)",
            "tl.store(grad_beta_ptr + offs, -dbeta * g, mask=mask)",
        ),
        # -- entry points --
        SourceMutant(
            "unbatched-keeps-batch",
            "an unbatched input gets a batch axis in the output",
            ("avg_pool",),
            "impl/triton/pooling.py",
            "    return unbatch(y, plan).to(dtype)\n",
            "    return y.to(dtype)\n",
        ),
        SourceMutant(
            "output-dtype-widened",
            "a bfloat16 input's output comes back in the kernels' float32",
            ("avg_pool",),
            "impl/triton/pooling.py",
            "    return unbatch(y, plan).to(dtype)\n",
            "    return unbatch(y, plan)\n",
        ),
    )
}


def package_root(name: str) -> Path:
    """The folder of the installed ``ndpool.<name>`` package."""
    return Path(importlib.import_module(f"ndpool.{name}").__file__).parent


def patched_source(mutant: SourceMutant) -> str:
    """The mutant's file with its patch applied; ValueError unless ``old`` occurs exactly
    once (so a mutant cannot silently stop applying when the kernels change)."""
    package, _, rest = mutant.path.partition("/")
    text = (package_root(package) / rest).read_text()
    found = text.count(mutant.old)
    if found != 1:
        raise ValueError(
            f"triton mutant {mutant.name!r}: its patch text occurs {found} times in "
            f"{mutant.path} (expected once): update the mutant to the current source"
        )
    return text.replace(mutant.old, mutant.new)


def patched_site(mutant: SourceMutant | None, dest: Path) -> Path:
    """Copy the installed ndpool packages to ``dest/ndpool`` with ``mutant``'s patch
    applied (``None``: unpatched, the control); return ``dest`` (a ``PYTHONPATH`` entry
    under which ``ndpool`` is that copy)."""
    root = Path(dest) / "ndpool"
    root.mkdir(parents=True, exist_ok=True)
    (root / "__init__.py").write_text("")
    for package in PACKAGES:
        shutil.copytree(
            package_root(package),
            root / package,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,
        )
    if mutant is not None:
        (root / mutant.path).write_text(patched_source(mutant))
    return Path(dest)
