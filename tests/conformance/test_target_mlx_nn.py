"""The ``mlx`` target's adapter (conformance/targets/mlx_nn.py): mlx.nn MaxPool / AvgPool on
channels-last arrays, mx.jvp / mx.vjp. Every value is compared with the spec (ndpool.spec),
never with the adapter's own output; the declared capabilities are the ones MLX has.
Skipped when mlx is not installed (pip install -e ".[mlx]")."""

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")

from ndpool import spec  # noqa: E402
from ndpool.conformance.cases import INTEGER_DTYPES, Case  # noqa: E402
from ndpool.conformance.targets import NotProvided, load_target  # noqa: E402
from ndpool.conformance.targets.base import OutputMismatch  # noqa: E402
from ndpool.conformance.targets.mlx_nn import make_target, mlx_array  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DTYPES = ("float16", "bfloat16", "float32", "float64")
#: the tolerance of a float16 / bfloat16 average against the float64 spec (a few ulps)
RTOL = {"float16": 4e-3, "bfloat16": 3e-2, "float32": 1e-6, "float64": 1e-13}


@pytest.fixture(scope="module")
def target():
    return make_target()


def _distinct(shape, dtype, seed=0):
    """Values without ties (so that max's derivatives have one winner), exact in ``dtype``."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    v = rng.permutation(n).astype(np.float64) - n // 2
    if dtype == "bfloat16":  # 8 bits of mantissa: keep the integers small
        v = v / 4
    return v.reshape(shape)


GEOMETRIES = [
    ((2, 3, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 6), {"kernel_size": (2,)}),
    ((2, 2, 5, 4), {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0)}),
    ((1, 3, 4, 4), {"kernel_size": 2}),
    ((1, 2, 3, 4, 5), {"kernel_size": (2, 3, 2), "stride": 1, "padding": (1, 1, 0)}),
]


def test_declares_what_mlx_has(target):
    assert target.name == "mlx"
    assert [op for op in spec.OPS if target.provides(op)] == ["max_pool", "avg_pool"]
    for op in ("max_pool", "avg_pool"):
        caps = target.capabilities(op)
        assert caps.ranks == (1, 2, 3), caps.ranks
        assert caps.batched == (True,), "mlx.nn pooling has no unbatched form"
        assert caps.padding_forms == ("int", "ints"), caps.padding_forms
        assert caps.config_keys == ("kernel_size", "stride", "padding"), caps.config_keys
        assert caps.return_indices is False
        ints = set(INTEGER_DTYPES) if op == "max_pool" else set()
        assert set(caps.dtypes) == set(DTYPES) | ints, caps.dtypes
        assert set(caps.gradients) == {"jvp", "vjp"}
        assert caps.inputs_with_derivatives(op) == ("x",)
        assert not caps.option_values, "MLX follows the spec's defaults: no conventions"


def test_load_target_builds_it():
    assert load_target("mlx").name == "mlx"


def test_make_target_rejects_other_devices_and_options():
    with pytest.raises(ValueError, match="CPU"):
        make_target("cuda")
    with pytest.raises(ValueError, match="no options"):
        make_target(opset=3)


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "strided"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_forward_matches_the_spec(target, op, dtype, layout, geometry):
    shape, cfg = GEOMETRIES[geometry]
    case = Case(op=op, x=_distinct(shape, dtype), cfg=cfg, dtype=dtype, layout=layout)
    got = target.forward(case)
    want = case.spec_forward()
    assert got.shape == want.shape, f"{case.describe()}: shape {got.shape}, spec {want.shape}"
    if op == "max_pool":
        np.testing.assert_array_equal(got, want, err_msg=case.describe())
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=0, err_msg=case.describe())


@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_keep_the_dtype(target, dtype):
    """mx.array makes a float64 NumPy array float32 unless told: the adapter must not."""
    case = Case(op="avg_pool", x=_distinct((1, 2, 4), dtype), cfg={"kernel_size": 2}, dtype=dtype)
    out = target._call(case)
    assert str(out.dtype).endswith(dtype), f"{dtype} input gave {out.dtype}"
    target.forward(case)  # raises OutputMismatch on another dtype


def test_a_wrong_dtype_is_caught(target):
    """The check the dtype test relies on: a float32 result for a float64 case fails."""
    x = _distinct((1, 1, 4), "float32")
    out = target._call(Case(op="max_pool", x=x, cfg={"kernel_size": 2}, dtype="float32"))
    with pytest.raises(OutputMismatch):
        target.outputs(Case(op="max_pool", x=x, cfg={"kernel_size": 2}, dtype="float64"), out)


def test_max_padding_is_ignored_and_avg_counts_it(target):
    """MaxPool pads with -inf (as if absent), AvgPool with zeros counted in the divisor:
    the spec's max and its avg with count_include_pad=True (its default)."""
    x = np.array([[[-1.0, -2.0]]])
    cfg = {"kernel_size": 2, "padding": 1}
    got_max = target.forward(Case(op="max_pool", x=x, cfg=cfg))
    got_avg = target.forward(Case(op="avg_pool", x=x, cfg=cfg))
    np.testing.assert_array_equal(got_max, spec.max_pool(x, **cfg))
    np.testing.assert_array_equal(got_max, [[[-1.0, -2.0]]])
    np.testing.assert_array_equal(got_avg, spec.avg_pool(x, **cfg, count_include_pad=True))
    np.testing.assert_array_equal(got_avg, [[[-0.5, -1.0]]])


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
@pytest.mark.parametrize("geometry", range(len(GEOMETRIES)))
def test_jvp_and_vjp_match_the_spec(target, op, dtype, layout, geometry):
    shape, cfg = GEOMETRIES[geometry]
    case = Case(op=op, x=_distinct(shape, dtype), cfg=cfg, dtype=dtype, layout=layout)
    tangent = _distinct(shape, dtype, seed=1) / 8
    y, y_dot = target.jvp(case, (tangent,))
    want_y, want_dot = spec.jvp(op, (case.x,), (tangent,), **cfg)
    rtol = RTOL[dtype]
    # an average of tangents can cancel to ~0: an absolute bound of a few roundings of the
    # largest term as well
    atol = 16 * rtol * np.abs(tangent).max()
    np.testing.assert_allclose(y, want_y, rtol=rtol, err_msg=f"JVP primal, {case.describe()}")
    np.testing.assert_allclose(
        y_dot, want_dot, rtol=rtol, atol=atol, err_msg=f"JVP, {case.describe()}"
    )
    cotangent = _distinct(want_y.shape, dtype, seed=2) / 8
    (x_bar,) = target.vjp(case, cotangent)
    (want_bar,) = spec.vjp(op, (case.x,), cotangent, **cfg)
    atol = 16 * rtol * np.abs(cotangent).max()
    np.testing.assert_allclose(
        x_bar, want_bar, rtol=rtol, atol=atol, err_msg=f"VJP, {case.describe()}"
    )


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "strided"])
def test_mlx_array_holds_the_values_in_the_layout(layout):
    x = _distinct((2, 3, 4, 5), "float64")
    a = mlx_array(x, "float64", layout)
    assert a.dtype == mx.float64
    np.testing.assert_array_equal(np.array(a), x)


@pytest.mark.parametrize(
    "case, why",
    [
        (Case(op="max_pool", x=np.zeros((2, 4)), cfg={"kernel_size": 2}, batched=False), "batch"),
        (Case(op="max_pool", x=np.zeros((1, 1, 4)), cfg={"kernel_size": 2, "dilation": 2}), "dil"),
        (
            Case(op="avg_pool", x=np.zeros((1, 1, 4)), cfg={"kernel_size": 2, "ceil_mode": True}),
            "c",
        ),
        (
            Case(
                op="avg_pool", x=np.zeros((1, 1, 4)), cfg={"kernel_size": 2, "divisor_override": 3}
            ),
            "divisor",
        ),
        (
            Case(
                op="avg_pool",
                x=np.zeros((1, 1, 4)),
                cfg={"kernel_size": 2, "count_include_pad": False},
            ),
            "count",
        ),
        (
            Case(op="max_pool", x=np.zeros((1, 1, 4)), cfg={"kernel_size": 2}, return_indices=True),
            "idx",
        ),
        (Case(op="max_pool", x=np.zeros((1, 1, 2, 2, 2, 2)), cfg={"kernel_size": 1}), "rank 4"),
        (
            Case(
                op="lp_pool", x=np.zeros((1, 1, 4)), params=(np.array(2.0),), cfg={"kernel_size": 2}
            ),
            "lp",
        ),
    ],
)
def test_what_mlx_lacks_is_not_provided(target, case, why):
    with pytest.raises(NotProvided):
        target.forward(case)


def test_the_spec_defaults_of_absent_keys_are_accepted(target):
    cfg = {"kernel_size": 2, "dilation": 1, "ceil_mode": False, "count_include_pad": True}
    case = Case(op="avg_pool", x=_distinct((1, 2, 4), "float64"), cfg=cfg)
    np.testing.assert_allclose(target.forward(case), case.spec_forward(), rtol=1e-13)


@pytest.mark.parametrize(
    "cfg",
    [
        {"kernel_size": 0},
        {"kernel_size": 2, "stride": 0},
        {"kernel_size": 2, "padding": -1},
        {"kernel_size": 2.0},
        {"kernel_size": "2"},
        {"kernel_size": 2, "padding": (1.0,)},
        {"kernel_size": 2, "padding": "same"},
        {"kernel_size": 2, "padding": ((1, 0),)},
    ],
)
@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
def test_invalid_configurations_are_rejected(target, op, cfg):
    case = Case(op=op, x=np.zeros((1, 1, 4)), cfg=cfg)
    with pytest.raises(Exception) as info:
        target.forward(case)
    assert not isinstance(info.value, NotProvided), f"{cfg}: reported as not provided"


def test_sizes_reach_mlx_as_python_ints(target):
    """MLX's layers take isinstance(v, int) sizes: NumPy integers are passed as ints."""
    cfg = {"kernel_size": np.int64(2), "stride": (np.int32(1),), "padding": np.int64(1)}
    case = Case(op="max_pool", x=_distinct((1, 2, 5), "float64"), cfg=cfg)
    np.testing.assert_array_equal(target.forward(case), case.spec_forward())


def test_every_registry_entry_is_classified():
    from ndpool.conformance.targets.base import DEVIATIONS_DIR

    data = tomllib.loads((DEVIATIONS_DIR / "mlx.toml").read_text())
    for entry in data["deviation"]:
        assert entry["reason"].startswith(("Bug", "Capability", "Not implemented")), entry["id"]
    assert not data.get("convention"), "MLX declares no convention option"


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
def test_every_derivative_mode_matches_the_spec(target, op):
    shape, cfg = GEOMETRIES[2]
    case = Case(op=op, x=_distinct(shape, "float64"), cfg=cfg, layout="channels_last")
    tangent = _distinct(shape, "float64", seed=1) / 8
    want_y, want_dot = spec.jvp(op, (case.x,), (tangent,), **cfg)
    cotangent = _distinct(want_y.shape, "float64", seed=2) / 8
    (want_bar,) = spec.vjp(op, (case.x,), cotangent, **cfg)
    jvp_modes = target.derivative_modes(case, "jvp", True)
    vjp_modes = target.derivative_modes(case, "vjp", True)
    assert set(jvp_modes) == {"default", "mx.compile"}, jvp_modes
    assert set(vjp_modes) == {"default", "mx.compile", "mx.grad"}, vjp_modes
    for mode in jvp_modes:
        y, y_dot = target.jvp(case, (tangent,), mode)
        np.testing.assert_allclose(y, want_y, rtol=1e-13, err_msg=mode)
        np.testing.assert_allclose(y_dot, want_dot, rtol=1e-13, atol=1e-15, err_msg=mode)
    for mode in vjp_modes:
        (x_bar,) = target.vjp(case, cotangent, mode)
        np.testing.assert_allclose(x_bar, want_bar, rtol=1e-13, atol=1e-15, err_msg=mode)


@pytest.mark.parametrize("mode", ["eager", "mx.compile"])
def test_each_call_mode_computes_and_rejects(target, mode):
    assert mode in target.call_modes("max_pool")
    case = Case(
        op="max_pool", x=_distinct((1, 2, 5), "float32"), cfg={"kernel_size": 2}, dtype="float32"
    )
    np.testing.assert_array_equal(target.forward_in(case, mode), case.spec_forward())
    with pytest.raises(ValueError, match="positive"):
        target.forward_in(case.with_x(case.x, cfg={"kernel_size": 0}), mode)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_integer_max_pool_matches_the_spec(target, dtype):
    """MaxPool of an integer array, exactly, in its dtype. The padding (the float -inf cast
    to the dtype) is not reached here: every window holds a cell at the dtype's maximum;
    padded windows of negative int8 / int16 values are a registered deviation."""
    info = np.iinfo(np.dtype(dtype))
    top = min(int(info.max), 2**53)
    x = np.arange(2 * 3 * 6, dtype=np.float64).reshape(2, 3, 6) % 5
    x[..., ::2] = top  # every window of 2 holds one
    cfg = {"kernel_size": 2, "stride": 1, "padding": 1}
    case = Case(op="max_pool", x=x, cfg=cfg, dtype=dtype)
    got = target.forward(case)
    assert str(target._call(case).dtype).endswith(dtype)
    np.testing.assert_array_equal(got, case.spec_forward(), err_msg=case.describe())


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "uint16", "uint32"])
def test_integer_padding_is_the_dtype_minimum(target, dtype):
    """In these dtypes the -inf padding casts to the dtype's minimum, which ignores it, as the
    spec does (int8 / int16 cast it to 0: registered, max-int8-int16-padding-zero)."""
    info = np.iinfo(np.dtype(dtype))
    x = np.array([[[float(info.min), float(info.min) + 1.0]]])
    case = Case(op="max_pool", x=x, cfg={"kernel_size": 2, "stride": 1, "padding": 1}, dtype=dtype)
    np.testing.assert_array_equal(target.forward(case), case.spec_forward())
