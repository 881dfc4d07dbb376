"""The ``tinygrad`` target's adapter (conformance/targets/tinygrad_tensor.py): how the spec's
configuration becomes tinygrad's ``max_pool2d`` / ``avg_pool2d`` arguments, what it declares,
and that the calls compute what the spec says on plain inputs (compared with
``ndpool.spec``), in the input's own dtype, forward and VJP. The argument tests need no
tinygrad; the others skip without it (pip install -e ".[tinygrad]")."""

import numpy as np
import pytest

from ndpool import spec
from ndpool.conformance.cases import Case, to_dtype
from ndpool.conformance.targets.base import NotProvided
from ndpool.conformance.targets.tinygrad_tensor import CAPABILITIES, PER_OP, _config

# -- arguments (no tinygrad needed) --------------------------------------------------------


def test_int_sizes_become_one_entry_per_pooled_axis():
    """tinygrad reads an int kernel_size as (k, k): the adapter always passes d entries."""
    for d in (1, 2, 3):
        cfg = _config({"kernel_size": 2, "stride": 3, "dilation": 1}, d)
        assert cfg["kernel_size"] == (2,) * d and cfg["stride"] == (3,) * d, (d, cfg)
        assert cfg["dilation"] == (1,) * d, (d, cfg)
    assert _config({"kernel_size": (2, 3), "stride": None}, 2)["stride"] is None


def test_padding_pairs_become_tinygrads_flat_form_last_axis_first():
    """(b_1, e_1), (b_2, e_2) -> (b_2, e_2, b_1, e_1): tinygrad's (left, right, top, bottom)."""
    cfg = _config({"kernel_size": (3, 3), "padding": ((0, 1), (1, 0))}, 2)
    assert cfg["padding"] == (1, 0, 0, 1), cfg
    assert _config({"kernel_size": (3, 3), "padding": (1, 0)}, 2)["padding"] == (1, 0)
    assert _config({"kernel_size": 3, "padding": 1}, 1)["padding"] == 1


def test_values_of_the_wrong_type_reach_tinygrad_as_they_are():
    cfg = _config({"kernel_size": 2.0, "dilation": True, "padding": ((True, 0),)}, 1)
    assert cfg["kernel_size"] == (2.0,) and cfg["dilation"] == (True,), cfg
    assert cfg["padding"] == (True, 0), cfg


def test_divisor_override_is_refused():
    with pytest.raises(ValueError, match="divisor_override"):
        _config({"kernel_size": 2, "divisor_override": 3}, 1)


def test_declared_capabilities():
    assert CAPABILITIES.layouts == ("contiguous",)
    assert CAPABILITIES.padding_forms == ("int", "ints", "pairs")
    assert CAPABILITIES.gradients == ("vjp",) and CAPABILITIES.differentiable == ("x",)
    assert set(CAPABILITIES.dtypes) == {"float16", "bfloat16", "float32", "float64"}
    assert CAPABILITIES.ranks == (1, 2, 3, 4, 5)
    assert PER_OP["max_pool"].return_indices and not PER_OP["avg_pool"].return_indices
    avg_keys = PER_OP["avg_pool"].keys("avg_pool")
    assert "count_include_pad" in avg_keys and "divisor_override" not in avg_keys
    assert "signed_zeros" not in PER_OP["max_pool"].keys("max_pool")


# -- the calls (tinygrad) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def target():
    pytest.importorskip("tinygrad")
    from ndpool.conformance.targets import load_target

    return load_target("tinygrad")


def _case(op, x, dtype="float32", batched=True, return_indices=False, **cfg):
    return Case(
        op=op,
        x=to_dtype(np.asarray(x, dtype=np.float64), dtype),
        cfg=cfg,
        dtype=dtype,
        layout="contiguous",
        batched=batched,
        return_indices=return_indices,
    )


def test_the_target_runs_on_tinygrads_python_device(target):
    from tinygrad import Device

    assert target.backend == "PYTHON" and Device.DEFAULT == "PYTHON", Device.DEFAULT


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", "float64"])
def test_max_pool_with_asymmetric_padding_equals_the_spec(target, dtype):
    """Pairs that differ per axis and per side: a swapped axis or side changes the result."""
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) % 11 - 5
    case = _case("max_pool", x, dtype, kernel_size=(2, 3), stride=(1, 2), padding=((1, 0), (0, 1)))
    got, want = target.forward(case), case.spec_forward()
    assert np.array_equal(got, want), f"{dtype}: expected\n{want}\ngot\n{got}"


def test_output_keeps_the_input_dtype(target):
    """A bfloat16 input gives bfloat16 values, reported as such (not float32)."""
    case = _case("avg_pool", np.arange(1.0, 7.0).reshape(1, 1, 6), "bfloat16", kernel_size=2)
    out = target._call(case)
    assert out.dtype.name == "bfloat16", out.dtype.name
    assert np.array_equal(target.forward(case), case.spec_forward())


def test_max_pool_indices_are_per_plane_in_rank_3_unbatched(target):
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 4 * 3).reshape(2, 3, 4, 3).astype(np.float64)  # [C, *S]
    case = _case(
        "max_pool",
        x,
        "float64",
        batched=False,
        return_indices=True,
        kernel_size=(2, 2, 2),
        stride=(1, 2, 1),
        padding=(1, 0, 1),
        ceil_mode=True,
    )
    (y, idx), (want_y, want_idx) = target.forward(case), case.spec_forward()
    assert np.array_equal(y, want_y), f"values: expected\n{want_y}\ngot\n{y}"
    assert np.array_equal(idx, want_idx), f"indices: expected\n{want_idx}\ngot\n{idx}"


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_with_ceil_mode_and_dilation_equals_the_spec(target, count_include_pad):
    """The divisor rule on a ceil window that overhangs the padding, in float64."""
    x = np.array([[[1.0, 2.0, 4.0, 8.0, 16.0, 32.0]]])
    cfg = dict(kernel_size=2, stride=2, padding=1, dilation=2, ceil_mode=True)
    case = _case("avg_pool", x, "float64", count_include_pad=count_include_pad, **cfg)
    got, want = target.forward(case), case.spec_forward()
    assert got.shape == want.shape and np.allclose(got, want, rtol=1e-15, atol=0), (
        f"count_include_pad={count_include_pad}: expected {want.ravel()}, got {got.ravel()}"
    )


def test_vjp_equals_the_spec(target):
    x = np.array([[[3.0, -1.0, 4.0, 1.5, -5.0, 9.0, 2.0]]])
    for op, cfg in (
        ("max_pool", dict(kernel_size=3, stride=2, padding=1)),
        ("avg_pool", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ):
        case = _case(op, x, "float64", **cfg)
        ct = np.array([[[1.0, 10.0, 100.0, 1000.0]]])
        (got,) = target.vjp(case, ct)
        (want,) = spec.vjp(op, (x,), ct, **cfg)
        assert np.allclose(got, want, rtol=1e-15, atol=0), f"{op}: expected {want}, got {got}"


def test_a_kernel_longer_than_the_input_is_rejected(target):
    with pytest.raises(AssertionError):
        target.forward(_case("max_pool", np.ones((1, 1, 3)), kernel_size=4))


def test_only_max_and_avg_are_provided_and_only_vjp(target):
    assert target.provides("max_pool") and target.provides("avg_pool")
    assert not target.provides("lp_pool") and not target.provides("adaptive_max_pool")
    assert target.provides_gradient("max_pool", "vjp")
    assert not target.provides_gradient("max_pool", "jvp")
    with pytest.raises(NotProvided):
        target.forward(
            Case(
                op="lp_pool", x=np.ones((1, 1, 4)), params=(np.array(2.0),), cfg={"kernel_size": 2}
            )
        )
