"""The ``tensorflow`` target's adapter (conformance/targets/tensorflow_nn.py): the NHWC
round trip, the padding forms, the argmax index conversion, the routes to tf.nn.pool and
max_pool_with_argmax, and the gradients, each compared with the spec (never with the
adapter's own output). Skipped when TensorFlow is not installed (pip install -e
".[tensorflow]"). The suite itself runs with ``ndpool check --target tensorflow``."""

import numpy as np
import pytest

from ndpool import spec
from ndpool.conformance.cases import Case

tf = pytest.importorskip("tensorflow")

from ndpool.conformance.targets import tensorflow_nn  # noqa: E402


@pytest.fixture(scope="module")
def target():
    return tensorflow_nn.make_target()


def _x(shape, seed=0):
    """Distinct small integers (exact in every float dtype, no ties)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64) - 7).reshape(shape)


def _case(op, x, dtype="float64", batched=True, return_indices=False, **cfg):
    return Case(op, x, cfg=cfg, dtype=dtype, batched=batched, return_indices=return_indices)


@pytest.mark.parametrize(
    "shape, cfg",
    [
        ((2, 3, 7), {"kernel_size": 2}),
        ((2, 3, 5, 6), {"kernel_size": (2, 3), "stride": (1, 2), "padding": "same"}),
        ((1, 2, 4, 5, 3), {"kernel_size": (2, 2, 1), "stride": 1, "padding": "valid"}),
        ((2, 3, 5, 6), {"kernel_size": (2, 3), "stride": 1, "padding": ((1, 0), (0, 2))}),
        ((1, 2, 9), {"kernel_size": 3, "stride": 1, "padding": 1}),
        ((2, 3, 7, 5), {"kernel_size": (2, 2), "stride": 1, "dilation": (2, 1)}),
    ],
)
def test_max_pool_forward_equals_spec(target, shape, cfg):
    """channels-first in, channels-first out: the NHWC transposes, explicit pairs, SAME and
    tf.nn.pool's dilation agree with the spec exactly."""
    x = _x(shape)
    dtype = "float32" if len(shape) == 5 else "float64"  # MaxPool3D has no float64
    got = target.forward(_case("max_pool", x, dtype=dtype, **cfg))
    want = spec.max_pool(x, **cfg)
    np.testing.assert_array_equal(got, want, err_msg=f"max_pool {shape} {cfg}")


def test_unbatched_input_runs_as_a_batch_of_one(target):
    x = _x((3, 8))
    cfg = {"kernel_size": (3,), "stride": (2,)}
    got = target.forward(_case("max_pool", x, batched=False, **cfg))
    np.testing.assert_array_equal(got, spec.max_pool(x, **cfg))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_avg_pool_divides_by_the_real_cells(target, padding):
    """TensorFlow's SAME average never counts the padding: the spec's count_include_pad=False
    (the only value the adapter declares)."""
    x = _x((2, 3, 5, 4))
    cfg = {"kernel_size": (3, 2), "stride": (2, 1), "padding": padding, "count_include_pad": False}
    got = target.forward(_case("avg_pool", x, **cfg))
    want = spec.avg_pool(x, **cfg)
    np.testing.assert_allclose(got, want, rtol=4 * 2.0**-53, err_msg=f"avg_pool {cfg}")
    caps = target.capabilities("avg_pool")
    assert caps.option_values["count_include_pad"] == (False,)
    with pytest.raises(ValueError, match="never counts the padding"):
        target.forward(_case("avg_pool", x, **{**cfg, "count_include_pad": True}))


def test_indices_are_the_spec_per_plane_indices(target):
    x = _x((2, 3, 5, 6), seed=3)
    cfg = {"kernel_size": (2, 3), "stride": (2, 2), "padding": "same"}
    y, idx = target.forward(_case("max_pool", x, return_indices=True, **cfg))
    want_y, want_idx = spec.max_pool(x, return_indices=True, **cfg)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(idx, want_idx)


@pytest.mark.parametrize("batch_in_index", [False, True])
def test_argmax_flattening_is_the_documented_one(batch_in_index):
    """tf.nn.max_pool_with_argmax's index is ((b * H + y) * W + x) * C + c (b only with
    include_batch_in_index), built here from the spec's own per-plane indices."""
    n, c, h, w = 2, 3, 4, 6
    x = _x((n, c, h, w), seed=5)
    _, plane = spec.max_pool(x, kernel_size=(2, 3), return_indices=True)
    b = np.arange(n).reshape(n, 1, 1, 1)
    ch = np.arange(c).reshape(1, c, 1, 1)
    want = ((b * h * w if batch_in_index else 0) + plane) * c + ch
    _, got = tf.nn.max_pool_with_argmax(
        tf.constant(np.transpose(x, (0, 2, 3, 1))),
        (2, 3),
        (2, 3),
        "VALID",
        include_batch_in_index=batch_in_index,
    )
    np.testing.assert_array_equal(np.transpose(got.numpy(), (0, 3, 1, 2)), want)


def test_an_index_of_another_channel_is_never_valid():
    """[N, *O, C] channels-last argmax, C = 2: plane index 4 is 4 * 2 + c in channel c."""
    right = np.array([8, 9]).reshape(1, 1, 1, 2)
    np.testing.assert_array_equal(tensorflow_nn.plane_indices(right, 2), [[[[4]], [[4]]]])
    swapped = np.array([9, 8]).reshape(1, 1, 1, 2)
    np.testing.assert_array_equal(tensorflow_nn.plane_indices(swapped, 2), [[[[-1]], [[-1]]]])


def test_zero_padding_is_valid_and_other_padding_is_explicit():
    assert tensorflow_nn._padding(0, 2) == "VALID"
    assert tensorflow_nn._padding(((0, 0), (0, 0)), 2) == "VALID"
    assert tensorflow_nn._padding("same", 1) == "SAME"
    assert tensorflow_nn._padding((1, (0, 2)), 2) == [[0, 0], [1, 1], [0, 2], [0, 0]]
    assert tensorflow_nn._padding(True, 1) == [[0, 0], [True, True], [0, 0]]  # TF judges it


def test_a_dilation_with_a_stride_reaches_tensorflow_and_is_registered(target):
    """tf.nn.pool raises for a dilation with a stride above 1; the adapter passes the call
    on (no discard), and the registry's dilated-strided-not-implemented holds the case."""
    from ndpool.conformance.deviations import Registry

    case = _case("max_pool", _x((1, 1, 9)), kernel_size=2, stride=2, dilation=2)
    with pytest.raises(ValueError, match="dilation_rate"):
        target.forward(case)
    registry = Registry.load("tensorflow", target.deviations_file)
    assert registry.match("forward", "max_pool", case).id == "dilated-strided-not-implemented"
    undilated = _case("max_pool", _x((1, 1, 9)), kernel_size=2, stride=2)
    assert registry.match("forward", "max_pool", undilated) is None


@pytest.mark.parametrize(
    "op, cfg",
    [
        ("max_pool", {"kernel_size": (2, 2), "stride": 1, "padding": "same"}),
        ("max_pool", {"kernel_size": (3,), "stride": 2}),
        ("avg_pool", {"kernel_size": (2, 3), "stride": 1, "padding": "same"}),
    ],
)
def test_gradients_equal_the_spec(target, op, cfg):
    """VJP from GradientTape, JVP from ForwardAccumulator (no dilation: see the registry's
    dilated-jvp-fails-after-32-shapes)."""
    if op == "avg_pool":
        cfg = {**cfg, "count_include_pad": False}
    shape = (2, 2, 5, 4) if len(cfg["kernel_size"]) == 2 else (2, 2, 7)
    x = _x(shape, seed=1)
    case = _case(op, x, **cfg)
    y = spec.OPS[op].function(x, **cfg)
    rng = np.random.default_rng(2)
    u = rng.integers(-3, 4, y.shape).astype(np.float64)
    v = rng.integers(-3, 4, x.shape).astype(np.float64)
    # a sum of at most 6 terms |w * u| <= 3, each rounded (max: exact, one term)
    atol = 6 * 3 * 2 * 2.0**-53
    (got_bar,) = target.vjp(case, u)
    (want_bar,) = spec.vjp(op, (x,), u, **cfg)
    np.testing.assert_allclose(got_bar, want_bar, rtol=0, atol=atol, err_msg=f"vjp {op} {cfg}")
    got_y, got_dot = target.jvp(case, (v,))
    want_y, want_dot = spec.jvp(op, (x,), (v,), **cfg)
    np.testing.assert_allclose(got_y, want_y, rtol=4 * 2.0**-53)
    np.testing.assert_allclose(got_dot, want_dot, rtol=0, atol=atol, err_msg=f"jvp {op} {cfg}")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "int8", "uint16", "int64"])
def test_other_dtypes_come_back_in_their_dtype(target, dtype):
    x = np.abs(_x((1, 2, 6))) if dtype.startswith("u") else _x((1, 2, 6))
    out = tensorflow_nn.pool(target.tensor(x, dtype), kind="max", d=1, batched=True, kernel_size=2)
    assert out.dtype.name == dtype
    got = target.forward(_case("max_pool", x, dtype=dtype, kernel_size=2))
    np.testing.assert_array_equal(got, spec.max_pool(x, kernel_size=2))


def test_capabilities_are_what_tensorflow_computes(target):
    max_caps = target.capabilities("max_pool")
    assert max_caps.ranks == (1, 2, 3)
    assert "uint32" not in max_caps.dtypes and "int8" in max_caps.dtypes
    assert max_caps.layouts == ("contiguous",)
    assert "same_lower" not in max_caps.padding_forms
    assert "ceil_mode" not in max_caps.keys("max_pool")
    avg_caps = target.capabilities("avg_pool")
    assert not avg_caps.return_indices and "divisor_override" not in avg_caps.keys("avg_pool")
    assert not target.provides("lp_pool") and not target.provides("adaptive_max_pool")


def test_every_registry_entry_is_classified():
    from pathlib import Path

    import tomllib

    path = Path(tensorflow_nn.__file__).with_name("deviations") / "tensorflow.toml"
    entries = tomllib.loads(path.read_text())["deviation"]
    kinds = ("Bug", "Capability:", "Not implemented:")
    unclassified = [e["id"] for e in entries if not e["reason"].startswith(kinds)]
    assert not unclassified, f"entries whose reason does not start with {kinds}: {unclassified}"
