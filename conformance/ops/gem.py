"""GeM pooling: ``(mean_i max(x_i, eps)^p)^(1/p)``.

Forward: ``|y| (eps_s / p + u (3 + ln K / p)) + tiny``: the mean of ``K`` positive terms
``(t_i / T)^p``, each with relative error ``(p + 2) u``, is off by ``eps_s = (K + 2p + 8)
u`` relatively; the root ``^(1/p)`` divides that by ``p`` and adds a rounding, the rounded
``1/p`` (``|ln s| <= ln K``), the product by ``T`` and the final rounding add the rest.
Partials: as for Lp, with the mean. Monotone; not homogeneous with a fixed ``eps``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ndpool.spec.gem import partials, parts

from ..record import FINITE_REGIMES, Invalid, OpInfo, at, param, param_shape
from ..tolerances import Allowed, Partials, Windows, finite


def _forward(case, ref) -> Allowed:
    win = Windows(case)
    y = win.batch(ref)
    with np.errstate(all="ignore"):
        p = win.out(win.params[0])
        eps_s = (win.K + 2 * p + 8) * win.u
        rel = eps_s / p + win.u * (3 + np.log(np.maximum(win.K, 1)) / p)
        bound = finite(np.abs(y) * rel) + win.tiny * (win.K + 2)
    return Allowed.radius(ref, win.unbatch(bound))


def _partials(case, win: Windows) -> Partials:
    """``dy/dx_i`` with the relative error of a power ``(t_i / y)^(p - 1)``:
    ``u (|p - 1| ((K + 2p + 8) / p + 3) + 3)``; ``dy/dp = (y / p) sum w_i log(t_i / y)``
    off by ``(K + 2p + 8) u |y| / p (max |log(t_i / y)| + 1)``."""
    u = win.u
    with np.errstate(all="ignore"):
        dx, dp = partials(win.w, win.params, win.call)
        p = win.out(win.params[0])
        eps = (u * (np.abs(p - 1) * ((win.K + 2 * p + 8) / p + 3) + 3))[..., None]
        evaluation = parts(win.w, win.params, win.call)
        t, y = evaluation.t, evaluation.y
        ly = np.where(win.real & (t > 0), np.abs(np.log(t / np.abs(y)[..., None])), 0.0)
        d_p = (win.K + 2 * p + 8) * u * np.abs(y) / p * (ly.max(-1, initial=0.0) + 1)
        out = [(np.abs(dx), eps * np.abs(dx)), (np.abs(dp), d_p + u * np.abs(dp))]
    return Partials([(finite(a), finite(d)) for a, d in out])


def _params(draw, caps, channels, dtype, purpose):
    p = st.one_of(st.sampled_from((1.0, 2.0, 3.0, 0.7, 4.0)), st.floats(0.7, 4.0))
    return (param(draw, caps, channels, dtype, p),)


def _options(draw, caps, purpose):
    if caps.config_keys is not None and "eps" not in caps.config_keys:
        return {}
    return {"eps": draw(st.sampled_from((1e-6, 1e-6, 0.5, 0.0)))}


GEM_INVALID = (
    Invalid("C20", "p = 0", "p", at(0, np.array(0.0))),
    Invalid("C20", "p < 0", "p", at(0, np.array(-2.0))),
    Invalid("C20", "p = inf", "p", at(0, np.array(np.inf))),
    Invalid("C20", "p NaN", "p", at(0, np.array(np.nan))),
    Invalid("C20", "eps < 0", "eps", lambda d, c, n: {"eps": -1.0}),
    Invalid("C12", "p of shape [C+1]", "per_channel", param_shape),
)

GEM_POOL = OpInfo(
    "gem_pool",
    draw_params=_params,
    draw_options=_options,
    forward=_forward,
    partials=_partials,
    invalid=GEM_INVALID,
    gradient_regimes=FINITE_REGIMES,
    monotone=True,
    monotone_slack=True,
    scale_params=None,
    magnitude_fraction=2.0**-10,
)
