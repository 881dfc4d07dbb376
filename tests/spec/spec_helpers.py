"""Shared helpers of the spec meta-tests: random configurations and assertions."""

from __future__ import annotations

import math

import numpy as np

from ndpool import spec

U = np.finfo(np.float64).eps / 2  # unit roundoff of float64

PADDING_FORMS = ("int", "per_axis", "pairs", "valid", "same", "same_lower")


def random_sliding_config(
    rng: np.random.Generator, d: int, spatial_max: int = 5, past_half: float = 0.25
) -> tuple:
    """``(spatial, cfg)``: a valid sliding-window configuration (retries until valid); with
    probability ``past_half`` per axis the padding may pass half the effective kernel."""
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, spatial_max + 1, d))
        kernel = tuple(int(v) for v in rng.integers(1, 4, d))
        stride = tuple(int(v) for v in rng.integers(1, 4, d))
        dilation = tuple(int(v) for v in rng.integers(1, 3, d))
        eff = [dl * (k - 1) + 1 for k, dl in zip(kernel, dilation)]
        form = PADDING_FORMS[rng.integers(len(PADDING_FORMS))]
        # any padding >= 0 is valid: by default a quarter of the axes pad past half the
        # effective kernel (up to eff + 1: windows wholly in the padding, empty windows)
        top = [e + 2 if rng.random() < past_half else e // 2 + 1 for e in eff]
        if form == "int":
            padding = int(rng.integers(0, min(top)))
        elif form == "per_axis":
            padding = tuple(int(rng.integers(0, t)) for t in top)
        elif form == "pairs":
            padding = tuple((int(rng.integers(0, t)), int(rng.integers(0, t))) for t in top)
        else:
            padding = form
        cfg = {
            "kernel_size": kernel if rng.random() < 0.8 or d != len(kernel) else kernel[0],
            "stride": stride if rng.random() < 0.8 else None,
            "padding": padding,
            "dilation": dilation,
            "ceil_mode": bool(rng.random() < 0.5),
        }
        if isinstance(cfg["kernel_size"], int) and d != 1:
            cfg["kernel_size"] = kernel
        try:
            spec.output_shape("max_pool", (1, 1, *spatial), **cfg)
        except ValueError:
            continue
        return spatial, cfg


def random_adaptive_config(rng: np.random.Generator, d: int, spatial_max: int = 6) -> tuple:
    spatial = tuple(int(v) for v in rng.integers(1, spatial_max + 1, d))
    sizes = tuple(
        None if rng.random() < 0.15 else int(rng.integers(1, spatial_max + 2)) for _ in range(d)
    )
    return spatial, {"output_size": sizes}


def random_values(rng: np.random.Generator, shape, kind: str) -> np.ndarray:
    """``kind``: "grid" (small integers: ties), "normal", "special" (grid with NaN and +-inf)."""
    if kind == "normal":
        return rng.standard_normal(shape)
    x = rng.integers(-2, 3, shape).astype(np.float64)
    if kind == "special" and x.size:
        for value in (np.nan, np.inf, -np.inf):
            mask = rng.random(shape) < 0.1
            x[mask] = value
    return x


def assert_same(actual, expected, what: str) -> None:
    """Bitwise equality with NaN == NaN, and equal shapes and dtypes."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    assert same.all(), (
        f"{what}: {int((~same).sum())} mismatches\n expected {expected.ravel()[~same.ravel()]}"
        f"\n got      {actual.ravel()[~same.ravel()]}"
    )


def assert_within(actual, expected, bound, what: str) -> None:
    """``|actual - expected| <= bound`` elementwise; NaN and infinities must match exactly."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    bound = np.broadcast_to(bound, expected.shape)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    finite = np.isfinite(expected)
    special_ok = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    with np.errstate(invalid="ignore"):
        ok = np.where(finite, np.abs(actual - expected) <= bound, special_ok)
    assert ok.all(), (
        f"{what}: {int((~ok).sum())} outside the bound\n expected {expected[~ok]}\n got      "
        f"{actual[~ok]}\n bound    {bound[~ok]}"
    )


def ulps(n_terms: int) -> float:
    """gamma_n = n*u/(1-n*u), the classic bound on a float64 sum of n terms."""
    return n_terms * U / (1 - n_terms * U)


def window_size(cfg: dict, d: int) -> int:
    k = cfg.get("kernel_size")
    if k is None:
        return 1
    return math.prod((k,) * d if isinstance(k, int) else k)


def valid_params(op: spec.Op, x: np.ndarray, cfg: dict, rng: np.random.Generator) -> list:
    """Valid extra inputs of ``op`` for ``x`` under ``cfg``: the record's sampler for the
    random draws and indices, a ramp over the window for window-shaped parameters, q = 1/2,
    and 2 for every other parameter (a valid p, beta, alpha, temperature, logit or bias)."""
    out = []
    sliding = op.windows.name == "sliding"
    k = op.geometry(x.shape, **cfg).window_size if sliding else 2
    for s in op.input_specs[1:]:
        if s.sampler is not None:
            out.append(s.sampler(rng, x.shape, **cfg))
        elif s.kind == "window":
            out.append(np.linspace(-0.3, 0.4, k))
        elif s.name == "q":
            out.append(np.array(0.5))
        else:
            out.append(np.array(2.0))
    return out
