"""The spec on ONNX's own backend node test cases for pooling: all 51 expressible, all agree.

The cases are regenerated from the installed ``onnx`` package's case scripts
(``onnx/backend/test/case/node/{maxpool,averagepool,lppool,globalmaxpool,
globalaveragepool}.py``): importing a script runs its ``export_*`` functions, which build
the node and compute the expected outputs with ONNX's own NumPy code, and register the case
(node, inputs, outputs) in ``onnx.backend.test.case.node._NodeTestCases``. (The wheel
ships the scripts, not the ``data/node/test_*/test_data_set_0/*.pb`` files they are
written to; the tensors are the same.) Skipped where ``onnx`` is not installed.

Every case's node attributes are mapped to one spec call (:func:`spec_call`):

================== ===================================================================
ONNX               spec
================== ===================================================================
MaxPool            ``max_pool`` (``Indices``: ``return_indices=True``)
AveragePool        ``avg_pool`` with ``count_include_pad`` (ONNX's default is 0)
LpPool             ``lp_pool(x, p)``, ``sign="abs"`` (ONNX takes ``|x|``)
GlobalMaxPool      ``adaptive_max_pool``, ``output_size`` 1 on every axis
GlobalAveragePool  ``adaptive_avg_pool``, ``output_size`` 1 on every axis
kernel_shape       ``kernel_size``; ``strides`` -> ``stride`` (ONNX's default is 1, not
                   the kernel); ``dilations`` -> ``dilation``
pads               ``[b_1..b_d, e_1..e_d]`` -> ``padding`` as ``(begin, end)`` pairs
                   (any amount: the spec has no limit on padding)
auto_pad           ``NOTSET`` -> ``pads``; ``VALID`` / ``SAME_UPPER`` / ``SAME_LOWER``
                   -> ``"valid"`` / ``"same"`` / ``"same_lower"``
ceil_mode          ``ceil_mode``
storage_order      not pooling semantics but the layout of ``Indices``: ONNX's index is
                   flat over the whole ``[N, C, *S]`` tensor, the plane's offset
                   ``(n*C + c) * prod(S)`` plus the cell's index in the plane, row-major
                   (0) or column-major (1); the spec's index (PyTorch's) is the
                   row-major index in the plane, converted here
integer inputs     ``max_pool`` of the integer array itself (exact, in its dtype)
================== ===================================================================

An attribute (or a value of one) that this mapping does not know raises
:class:`NotMapped`, which fails the case: a case the spec cannot express is a failure,
never a skip.

Comparison: max pooling (values, indices, integers) exactly. Average and Lp pooling
against a bound derived for ONNX's expected outputs, which its scripts compute in NumPy on
the float32 inputs (at worst in float32 arithmetic: recursive summation of the window's K
terms, then a division or a root), while the spec's is the float64 result rounded once to
float32; with ``u = 2**-24`` and ``gamma(n) = n u / (1 - n u)``:

- average of K cells (divisor D): ``|dy| <= (gamma(K) + 2u) * mean_i |x_i| + u |y|``
  (the sum's error, the division's rounding, the spec's rounding);
- Lp of K cells: ``|dy| <= ((gamma(K) + 2u) / p + 3u) * y`` (every term ``|x|^p`` is
  positive, so the sum's relative error is at most ``gamma(K)`` plus ``2u`` for the power;
  the root divides a relative error by p and adds its own and the spec's rounding);
- a case whose expected output is a literal typed to k decimals (:data:`LITERAL_DECIMALS`)
  adds one unit of the k-th decimal, ``10**-k``, to that bound.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from ndpool import spec

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx.backend.test.case.node")

POOL_NODES = ("MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool")
CASE_SCRIPTS = ("maxpool", "averagepool", "lppool", "globalmaxpool", "globalaveragepool")
U = 2.0**-24  # float32 unit roundoff

#: every pooling node case of onnx 1.23's backend tests, each mapped to a spec call
MAPPED = (
    "test_maxpool_2d_uint8",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_with_argmax_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_with_argmax_2d_precomputed_strides",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_1d_default",
    "test_maxpool_2d_default",
    "test_maxpool_3d_default",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_ceil_output_size_reduce_by_one",
    "test_maxpool_2d_dilations",
    "test_maxpool_3d_dilations",
    "test_maxpool_3d_dilations_use_ref_impl",
    "test_maxpool_3d_dilations_use_ref_impl_large",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_1d_default",
    "test_averagepool_2d_default",
    "test_averagepool_3d_default",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_strides",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_ceil_last_window_starts_on_pad",
    "test_averagepool_2d_dilations",
    "test_averagepool_3d_dilations_small",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
    "test_lppool_1d_default",
    "test_lppool_2d_default",
    "test_lppool_3d_default",
    "test_lppool_2d_same_upper",
    "test_lppool_2d_same_lower",
    "test_lppool_2d_pads",
    "test_lppool_2d_strides",
    "test_lppool_2d_dilations",
    "test_globalmaxpool",
    "test_globalmaxpool_precomputed",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
)
#: the cases the spec could not express before it took any padding and integer inputs
#: (padding above half the kernel: kernel 3, pads 2; a uint8 MaxPool)
NEWLY_EXPRESSIBLE = (
    "test_maxpool_2d_uint8",
    "test_maxpool_2d_pads",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_lppool_2d_pads",
)


#: cases whose expected output is a literal typed to a number of decimals, not computed:
#: the literal carries no more than one unit of its last decimal. (The one here is one unit
#: off that: channel 1 is 2.5564 / 9 = 0.284044..., written 0.2841 where 0.2840 is the
#: nearest; ONNX's own runner compares with rtol 1e-3.)
LITERAL_DECIMALS = {"test_averagepool_2d_ceil_last_window_starts_on_pad": 4}


class NotMapped(Exception):
    """A node attribute (or value) the mapping to the spec does not know."""


_CASES: dict[str, object] = {}


def pooling_cases() -> dict[str, object]:
    """``{name: onnx TestCase}`` for every pooling node case of the installed onnx."""
    if _CASES:
        return _CASES
    node_cases = importlib.import_module("onnx.backend.test.case.node")
    target, node_cases._TargetOpType = node_cases._TargetOpType, None  # collect every op
    try:
        for script in CASE_SCRIPTS:
            importlib.import_module(f"onnx.backend.test.case.node.{script}")
    finally:
        node_cases._TargetOpType = target
    for case in node_cases._NodeTestCases:
        if case.model.graph.node[0].op_type in POOL_NODES:
            _CASES[case.name] = case
    return _CASES


def attributes(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def spec_call(node, x: np.ndarray) -> tuple[str, tuple, dict, int]:
    """``(op, params, cfg, storage_order)``: the spec call that computes ``node`` on ``x``."""
    attrs = attributes(node)
    d = x.ndim - 2
    op_type = node.op_type

    def take(name, default=None):
        return attrs.pop(name, default)

    if op_type in ("GlobalMaxPool", "GlobalAveragePool"):
        if attrs:
            raise NotMapped(f"{op_type} attributes {sorted(attrs)}")
        op = "adaptive_max_pool" if op_type == "GlobalMaxPool" else "adaptive_avg_pool"
        return op, (), {"output_size": (1,) * d}, 0
    kernel = tuple(take("kernel_shape"))
    if len(kernel) != d:
        raise NotMapped(f"kernel_shape {kernel} for a rank-{d} input")
    cfg: dict = {
        "kernel_size": kernel,
        "stride": tuple(take("strides", [1] * d)),
        "dilation": tuple(take("dilations", [1] * d)),
        "ceil_mode": bool(take("ceil_mode", 0)),
    }
    auto_pad = take("auto_pad", "NOTSET")
    pads = take("pads")
    if auto_pad == "NOTSET":
        pads = [0] * (2 * d) if pads is None else list(pads)
        cfg["padding"] = tuple((pads[a], pads[d + a]) for a in range(d))
    elif auto_pad in ("VALID", "SAME_UPPER", "SAME_LOWER") and pads is None:
        cfg["padding"] = {"VALID": "valid", "SAME_UPPER": "same", "SAME_LOWER": "same_lower"}[
            auto_pad
        ]
    else:
        raise NotMapped(f"auto_pad={auto_pad!r} with pads={pads!r}")
    params: tuple = ()
    storage_order = 0
    if op_type == "MaxPool":
        op = "max_pool"
        storage_order = take("storage_order", 0)
        if storage_order not in (0, 1):
            raise NotMapped(f"storage_order={storage_order!r}")
    elif op_type == "AveragePool":
        op = "avg_pool"
        cfg["count_include_pad"] = bool(take("count_include_pad", 0))
    elif op_type == "LpPool":
        op = "lp_pool"
        params = (np.float64(take("p", 2)),)
        cfg["sign"] = "abs"
    else:
        raise NotMapped(f"node {op_type}")
    if attrs:
        raise NotMapped(f"{op_type} attributes {sorted(attrs)} are not mapped")
    return op, params, cfg, storage_order


def onnx_indices(index: np.ndarray, x_shape, storage_order: int) -> np.ndarray:
    """The spec's per-plane row-major index as ONNX's ``Indices`` (flat over the tensor)."""
    n, c, *spatial = x_shape
    plane = math.prod(spatial)
    coords = np.unravel_index(index, spatial)
    order = "F" if storage_order == 1 else "C"
    within = np.ravel_multi_index(coords, spatial, order=order)
    base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
    return within + base.reshape((n, c) + (1,) * len(spatial))


def gamma(k: int) -> float:
    return k * U / (1 - k * U)


def bound(op: str, x: np.ndarray, params: tuple, cfg: dict, y: np.ndarray) -> np.ndarray:
    """The allowed ``|ONNX - spec|`` per output (see the module doc)."""
    record = spec.OPS[op]
    k = record.geometry(x.shape, **cfg).window_size
    if op in ("avg_pool", "adaptive_avg_pool"):
        mean_abs = record.forward(np.abs(x.astype(np.float64)), *params, **cfg)
        return (gamma(k) + 2 * U) * mean_abs + U * np.abs(y)
    if op == "lp_pool":
        p = float(params[0])
        return ((gamma(k) + 2 * U) / p + 3 * U) * np.abs(y)
    raise AssertionError(f"{op} is compared exactly")


def test_every_pooling_case_is_mapped():
    """The installed onnx has exactly the listed cases (a new one must be mapped here)."""
    names = set(pooling_cases())
    assert len(MAPPED) == len(set(MAPPED)) == 51
    assert names == set(MAPPED), (
        f"onnx's pooling cases not listed: {sorted(names - set(MAPPED))}; listed but "
        f"missing: {sorted(set(MAPPED) - names)}"
    )
    assert set(NEWLY_EXPRESSIBLE) <= set(MAPPED)


@pytest.mark.parametrize("name", MAPPED)
def test_spec_agrees_with_onnx_case(name):
    case = pooling_cases().get(name)
    assert case is not None, f"{name}: not among the installed onnx's cases"
    node = case.model.graph.node[0]
    (inputs, outputs) = case.data_sets[0]
    x = np.asarray(inputs[0])
    expected = [np.asarray(o) for o in outputs]
    op, params, cfg, storage_order = spec_call(node, x)  # NotMapped fails the case
    want_indices = len(expected) == 2
    got = spec.OPS[op](x, *params, return_indices=want_indices, **cfg)
    y, index = got if want_indices else (got, None)
    what = f"{name}: spec.{op}(x{', p' if params else ''}, {cfg})"
    assert y.shape == expected[0].shape, f"{what}: shape {y.shape}, ONNX {expected[0].shape}"
    assert y.dtype == expected[0].dtype, f"{what}: dtype {y.dtype}, ONNX {expected[0].dtype}"
    if spec.OPS[op].exact_for(**cfg):
        np.testing.assert_array_equal(y, expected[0], err_msg=what)
    else:
        err = np.abs(y.astype(np.float64) - expected[0].astype(np.float64))
        allowed = bound(op, x, params, cfg, y.astype(np.float64))
        if name in LITERAL_DECIMALS:
            allowed = allowed + 10.0 ** -LITERAL_DECIMALS[name]
        worst = np.unravel_index(np.argmax(err - allowed), err.shape)
        assert (err <= allowed).all(), (
            f"{what}: |spec - ONNX| = {err[worst]:.3g} > bound {allowed[worst]:.3g} at "
            f"{worst} (spec {y[worst]!r}, ONNX {expected[0][worst]!r})"
        )
    if want_indices:
        converted = onnx_indices(index, x.shape, storage_order)
        np.testing.assert_array_equal(converted, expected[1], err_msg=what + " Indices")


def test_storage_order_conversion_is_column_major():
    """The Indices layout by hand: a 2 x 3 plane, cell (1, 2) is 5 row-major, 5 = 1 + 2*2
    column-major; the second of two channels adds one plane (6)."""
    index = np.array([[[[5]], [[5]]]])  # [N=1, C=2, 1, 1]
    assert onnx_indices(index, (1, 2, 2, 3), 0).ravel().tolist() == [5, 11]
    assert onnx_indices(np.array([[[[3]]]]), (1, 1, 2, 3), 1).ravel().tolist() == [1]
    assert onnx_indices(index, (1, 2, 2, 3), 1).ravel().tolist() == [5, 11]
