"""The strategies draw what a target declares: padding past half the kernel (windows wholly
in padding) unless the target declares the capability limit C6, and integer dtypes only
where declared, for ops that take them and properties that hold on integers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndpool.conformance import strategies
from ndpool.conformance.cases import INTEGER_DTYPES, to_dtype
from ndpool.conformance.facts import FACTS
from ndpool.conformance.ops import OP_INFO
from ndpool.conformance.targets.base import ALL_DTYPES, Capabilities
from ndpool.conformance.tolerances import geometry

SETTINGS = settings(
    max_examples=150, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


def _draw_many(op: str, caps: Capabilities, ctx: dict) -> list:
    drawn = []

    @SETTINGS
    @given(st.data())
    def draw(data):
        drawn.append(data.draw(strategies.cases(OP_INFO[op], caps, dict(ctx))))

    draw()
    return drawn


def _pads_within_half(case) -> bool:
    g = geometry(case)
    cfg_dil = case.cfg.get("dilation", 1)
    k = case.cfg["kernel_size"]
    ks = list(k) if isinstance(k, (tuple, list)) else [k] * case.d
    dls = list(cfg_dil) if isinstance(cfg_dil, (tuple, list)) else [cfg_dil] * case.d
    for axis, kk, dl in zip(g.axes, ks, dls):
        eff = dl * (kk - 1) + 1
        begin = -int(axis.position[0, 0])
        end = int(axis.position[-1, -1]) - (axis.length - 1) if axis.position.size else 0
        if begin > eff // 2 or (not case.cfg.get("ceil_mode") and end > eff // 2):
            return False
    return True


def test_padding_limit_is_validated():
    with pytest.raises(ValueError, match="padding_limit"):
        Capabilities(padding_limit="kernel")
    assert Capabilities().padding_limit is None


def test_a_target_with_the_half_kernel_limit_is_never_drawn_past_it():
    caps = Capabilities(padding_forms=("int", "ints", "pairs"), padding_limit="half_kernel")
    cases = _draw_many("max_pool", caps, {"property": "forward"})
    assert cases
    past = [c.describe() for c in cases if not _pads_within_half(c)]
    assert not past, f"drawn past the declared limit C6: {past[:3]}"
    assert not any(FACTS["empty_window"](c) and "dilation" not in c.cfg for c in cases)


def test_a_target_without_a_limit_is_drawn_windows_wholly_in_padding():
    caps = Capabilities(padding_forms=("int", "ints", "pairs"))
    cases = _draw_many("avg_pool", caps, {"property": "forward"})
    past = [c for c in cases if not _pads_within_half(c)]
    assert len(past) >= len(cases) // 10, f"{len(past)} of {len(cases)} past half the kernel"
    assert any(FACTS["empty_window"](c) for c in past), "no window wholly in padding drawn"


def test_integer_dtypes_are_drawn_only_where_declared():
    default = _draw_many("max_pool", Capabilities(), {"property": "forward"})
    assert {c.dtype for c in default} <= set(ALL_DTYPES)
    caps = Capabilities(dtypes=("float32", "int8", "uint8"))
    drawn = _draw_many("max_pool", caps, {"property": "forward"})
    assert {"int8", "uint8"} <= {c.dtype for c in drawn}
    for c in drawn:
        if c.dtype in INTEGER_DTYPES and c.x.size:
            info = np.iinfo(np.dtype(c.dtype))
            assert (c.x == np.round(c.x)).all() and c.x.min() >= info.min and c.x.max() <= info.max
            y = np.asarray(c.spec_forward())
            if y.size and FACTS["empty_window"](c):  # the dtype's minimum, not -inf
                assert np.isfinite(y).all() and y.min() == info.min
    # an op that takes no integers, and the properties that hold on floats only
    assert {c.dtype for c in _draw_many("avg_pool", caps, {"property": "forward"})} == {"float32"}
    for prop in strategies.FLOAT_ONLY_PROPERTIES:
        assert {c.dtype for c in _draw_many("max_pool", caps, {"property": prop})} == {"float32"}


def test_to_dtype_of_an_integer_dtype_rounds_and_saturates():
    assert to_dtype([1.4, -300.0, 300.0], "int8").tolist() == [1.0, -128.0, 127.0]
    assert to_dtype([-1.0, 256.0], "uint8").tolist() == [0.0, 255.0]
    assert to_dtype([2.0**60], "int64").tolist() == [2.0**53]  # float64 carries it exactly
    with pytest.raises(ValueError, match="no int8 value"):
        to_dtype([np.nan], "int8")
