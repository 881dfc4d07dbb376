"""The ``openvino`` target's adapter (conformance/targets/openvino_ops.py): how the spec's
configuration becomes MaxPool-14 / AvgPool-16 attributes, what it declares, and that the
models it builds compute what the spec says on plain inputs (compared with ``ndpool.spec``),
in the input's own precision. The attribute tests need no OpenVINO; the others skip without
it (pip install -e ".[openvino]")."""

import numpy as np
import pytest

from ndpool import spec
from ndpool.conformance.cases import Case, to_dtype
from ndpool.conformance.targets.base import NotProvided
from ndpool.conformance.targets.openvino_ops import capabilities, node_attributes

# -- attributes (no OpenVINO needed) ---------------------------------------------------------


def test_explicit_padding_forms_become_pads_begin_and_end():
    cases = {
        1: ([1, 1], [1, 1]),
        (1, 2): ([1, 2], [1, 2]),
        ((0, 1), (2, 0)): ([0, 2], [1, 0]),
    }
    for padding, (begin, end) in cases.items():
        attrs = node_attributes("max_pool", {"kernel_size": 3, "padding": padding}, 2)
        assert (attrs["pads_begin"], attrs["pads_end"], attrs["auto_pad"]) == (begin, end, None), (
            f"padding={padding!r}: expected pads {begin}/{end}, got {attrs}"
        )


@pytest.mark.parametrize(
    "padding, auto_pad", [("valid", "valid"), ("same", "same_upper"), ("same_lower", "same_lower")]
)
def test_padding_modes_become_auto_pad(padding, auto_pad):
    attrs = node_attributes("avg_pool", {"kernel_size": 2, "padding": padding}, 1)
    assert attrs["auto_pad"] == auto_pad, f"padding={padding!r}: got {attrs}"


def test_stride_defaults_to_the_kernel_and_ceil_mode_is_ceil_torch():
    attrs = node_attributes("max_pool", {"kernel_size": (2, 3), "ceil_mode": True}, 2)
    assert attrs["strides"] == [2, 3] and attrs["dilations"] == [1, 1], attrs
    assert attrs["rounding_type"] == "ceil_torch", attrs  # "ceil" keeps a window in the padding
    floor = node_attributes("max_pool", {"kernel_size": 2, "stride": 1}, 1)
    assert floor["rounding_type"] == "floor" and floor["strides"] == [1], floor


def test_count_include_pad_is_the_negation_of_exclude_pad():
    for include in (True, False):
        attrs = node_attributes("avg_pool", {"kernel_size": 2, "count_include_pad": include}, 1)
        assert attrs["exclude_pad"] is (not include), f"count_include_pad={include}: {attrs}"
    assert node_attributes("avg_pool", {"kernel_size": 2}, 1)["exclude_pad"] is False


def test_divisor_override_is_not_provided():
    with pytest.raises(NotProvided):
        node_attributes("avg_pool", {"kernel_size": 2, "divisor_override": 3}, 1)


def test_declared_capabilities():
    base, per_op = capabilities(bfloat16=True)
    assert base.ranks == (1, 2, 3) and base.gradients == () and not base.empty_batch
    assert "bfloat16" in base.dtypes and "float64" in base.dtypes
    assert "divisor_override" not in per_op["avg_pool"].keys("avg_pool")
    assert "count_include_pad" in per_op["avg_pool"].keys("avg_pool")
    assert "bfloat16" not in capabilities(bfloat16=False)[0].dtypes


# -- the models (OpenVINO) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def target():
    pytest.importorskip("openvino")
    from ndpool.conformance.targets import load_target

    return load_target("openvino")


def _case(op, x, dtype="float32", **kw):
    cfg = {k: v for k, v in kw.items() if k not in ("layout", "batched", "return_indices")}
    return Case(
        op=op,
        x=to_dtype(np.asarray(x, dtype=np.float64), dtype),
        cfg=cfg,
        dtype=dtype,
        layout=kw.get("layout", "contiguous"),
        batched=kw.get("batched", True),
        return_indices=kw.get("return_indices", False),
    )


def _spec(case):
    return case.spec_forward()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "strided"])
def test_max_pool_equals_the_spec(target, dtype, layout):
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) % 7 - 3
    case = _case("max_pool", x, dtype, kernel_size=(2, 3), stride=(1, 2), padding=1, layout=layout)
    got = target.forward(case)
    want = _spec(case)
    assert np.array_equal(got, want), f"{dtype} {layout}: expected\n{want}\ngot\n{got}"


def test_max_pool_indices_are_per_plane(target):
    """axis=2: the index is flat over one (N, C) plane, not over the tensor (several planes)."""
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 5 * 4).reshape(2, 3, 5, 4).astype(np.float64)
    case = _case(
        "max_pool", x, kernel_size=2, stride=1, padding=((1, 0), (0, 1)), return_indices=True
    )
    y, idx = target.forward(case)
    want_y, want_idx = _spec(case)
    assert np.array_equal(y, want_y), f"values: expected\n{want_y}\ngot\n{y}"
    assert np.array_equal(idx, want_idx), f"indices: expected\n{want_idx}\ngot\n{idx}"


def test_unbatched_input_and_same_lower_with_dilation(target):
    x = np.array([[1.0, 5.0, 2.0, 4.0, 3.0, 0.0, 6.0]])
    case = _case(
        "max_pool",
        x,
        kernel_size=(2,),
        stride=(2,),
        dilation=(2,),
        padding="same_lower",
        batched=False,
    )
    got, want = target.forward(case), _spec(case)
    assert got.shape == want.shape == (1, 4) and np.array_equal(got, want), (want, got)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_equals_the_spec_in_float32(target, count_include_pad):
    """float32 in float32: the plugin's default inference precision on a bfloat16-capable CPU
    is bf16; 1 + 2^-20 is lost in bfloat16, so a bf16 computation fails here."""
    x = np.array([[[1.0, 1.0 + 2.0**-20, 1.0 + 2.0**-20, 1.0, 3.0]]])
    case = _case(
        "avg_pool",
        x,
        kernel_size=3,
        stride=1,
        padding=1,
        dilation=1,
        count_include_pad=count_include_pad,
    )
    got, want = target.forward(case), _spec(case)
    assert np.allclose(got, want, rtol=4 * 2.0**-24, atol=0), (
        f"count_include_pad={count_include_pad}: expected {want.ravel()}, got {got.ravel()}"
    )
    assert (got != 1.0).any(), "float32 was computed in a lower precision"


def test_compiled_models_are_cached_and_compiled_for_the_input_precision(target):
    target._compiled.clear()
    x = np.ones((1, 2, 6))
    case = _case("avg_pool", x, kernel_size=2)
    target.forward(case)
    target.forward(case)
    assert len(target._compiled) == 1, "the same (op, config, shape, dtype) compiled twice"
    target.forward(_case("avg_pool", x, "float16", kernel_size=2))
    assert len(target._compiled) == 2
    hints = {str(c.get_property("INFERENCE_PRECISION_HINT")) for c in target._compiled.values()}
    # float32 compiles in f32, not in the bf16 that the plugin picks by default on a CPU
    # with bfloat16; float16 in f16 where the CPU has FP16 among its optimization
    # capabilities -- where it has not (an AMD EPYC with avx512_bf16 and no FP16), the
    # plugin takes a request for f16 as bf16 (the pooling itself still rounds to float16:
    # test_float16_is_computed_in_float16)
    caps = target._core.get_property(target.ov_device, "OPTIMIZATION_CAPABILITIES")
    half = "<Type: 'float16'>" if "FP16" in caps else "<Type: 'bfloat16'>"
    assert hints == {"<Type: 'float32'>", half}, (hints, caps)


def test_float16_is_computed_in_float16(target):
    """Means of float16 values that bfloat16 cannot hold (1 + 2**-9: 7 bits of fraction)
    come out as float16 arithmetic gives them, whatever precision hint the plugin reports."""
    x = np.array([[[1 + 2**-9, 1 + 2**-9, 1 + 3 * 2**-10, 1.0]]])
    case = _case("avg_pool", x, "float16", kernel_size=2)
    got = np.asarray(target.forward(case)).ravel()
    want = np.asarray(_spec(case)).ravel().astype(np.float16)  # the exact means, rounded
    assert got.tolist() == want.tolist() == [1 + 2**-9, 1 + 2**-9], (got, want)


def test_the_cache_keeps_the_most_recently_used_models(target, monkeypatch):
    from ndpool.conformance.targets import openvino_ops

    monkeypatch.setattr(openvino_ops, "CACHE_SIZE", 2)
    target._compiled.clear()
    cases = [_case("max_pool", np.ones((1, 1, n)), kernel_size=2) for n in (4, 5, 6)]
    target.forward(cases[0])
    target.forward(cases[1])
    target.forward(cases[0])  # now the most recently used
    target.forward(cases[2])  # drops cases[1]
    shapes = [key[2] for key in target._compiled]
    assert shapes == [(1, 1, 4), (1, 1, 6)], f"kept {shapes}"


def test_a_kernel_longer_than_the_input_is_rejected(target):
    case = _case("max_pool", np.ones((1, 1, 3)), kernel_size=4)
    with pytest.raises(RuntimeError):
        target.forward(case)


def test_only_max_and_avg_are_provided(target):
    assert target.provides("max_pool") and target.provides("avg_pool")
    assert not target.provides("lp_pool") and not target.provides("adaptive_max_pool")
    assert not target.provides_gradient("max_pool", "vjp")
    x = np.ones((1, 1, 4))
    with pytest.raises(NotProvided):
        target.forward(Case(op="lp_pool", x=x, params=(np.array(2.0),), cfg={"kernel_size": 2}))


def test_spec_agrees_with_openvinos_documented_example(target):
    """MaxPool example 5 of OpenVINO's pooling shape rules (rounding_type ceil_torch)."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    case = _case(
        "max_pool", x, kernel_size=2, stride=2, padding=1, ceil_mode=True, return_indices=True
    )
    y, idx = target.forward(case)
    assert np.array_equal(y, [[[[1, 3], [7, 9]]]]) and np.array_equal(idx, [[[[0, 2], [6, 8]]]])
    assert np.array_equal(y, spec.max_pool(x, kernel_size=2, stride=2, padding=1, ceil_mode=True))
