"""One negative test per numbered constraint (spec.CONSTRAINTS), named after it.

Each test breaks exactly one constraint and checks that the ValueError names it
(the message starts with the id) and the offending value.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from ndpool import spec
from ndpool.spec.constraints import CAPABILITY_LIMITS

X = np.zeros((1, 2, 5, 5))  # [N, C, H, W]


def broken(constraint: str, *match: str):
    """Context manager: a ValueError whose message starts with ``constraint:``."""
    pattern = re.escape(constraint) + r": .*" + ".*".join(re.escape(m) for m in match)
    return pytest.raises(ValueError, match=pattern)


def test_C1_input_rank_fits_kernel():
    with broken("C1", "rank 2", "kernel_size=(2, 2)"):
        spec.max_pool(np.zeros((2, 5)), kernel_size=(2, 2))  # needs rank 3 or 4
    with broken("C1", "rank 1"):
        spec.avg_pool(np.zeros(5), kernel_size=2)  # an int kernel means batched: d = -1


def test_C2_kernel_size_positive():
    with broken("C2", "kernel_size=(2, 0)"):
        spec.max_pool(X, kernel_size=(2, 0))


def test_C3_stride_positive():
    with broken("C3", "stride=-1"):
        spec.avg_pool(X, kernel_size=2, stride=-1)


def test_C4_dilation_positive():
    with broken("C4", "dilation=(1, 0)"):
        spec.max_pool(X, kernel_size=2, dilation=(1, 0))


def test_C5_padding_form():
    with broken("C5", "padding='full'"):
        spec.max_pool(X, kernel_size=2, padding="full")
    with broken("C5", "padding=((1, -1), 0)"):
        spec.max_pool(X, kernel_size=2, padding=((1, -1), 0))


def test_padding_past_half_the_kernel_is_no_constraint():
    """C6 is a capability limit a target may declare, not a constraint of the spec."""
    assert "C6" not in spec.CONSTRAINTS
    assert "C6" in CAPABILITY_LIMITS
    # kernel 2 (stride 2), padding 2: the first window on each axis reads [-2, -1], padding
    y = spec.max_pool(X, kernel_size=2, padding=2)
    assert y.shape == (1, 2, 4, 4)
    assert np.isneginf(y[..., 0, :]).all() and np.isneginf(y[..., :, 0]).all()
    assert (y[..., 1:, 1:] == 0).all()
    assert spec.max_pool(X, kernel_size=2, padding=2, dilation=3).shape == (1, 2, 3, 3)


def test_C7_spatial_extent_at_least_one():
    with broken("C7", "(5, 0)"):
        spec.avg_pool(np.zeros((1, 2, 5, 0)), kernel_size=(1, 1))
    with broken("C7", "(0,)"):
        spec.adaptive_max_pool(np.zeros((1, 2, 0)), output_size=(1,))


def test_C8_output_extent_at_least_one():
    with broken("C8", "output extent 0", "effective kernel 7"):
        spec.max_pool(X, kernel_size=(3, 3), dilation=(1, 3))


def test_C9_output_size():
    with broken("C9", "output_size=(2, 0)"):
        spec.adaptive_avg_pool(X, output_size=(2, 0))


def test_C10_norm_type():
    with broken("C10", "-1.0"):
        spec.lp_pool(X, -1.0, kernel_size=2)
    with broken("C10", "nan"):
        spec.lp_pool(X, np.nan, kernel_size=2)
    with broken("C10", "inf", "sign='abs' only"):
        spec.lp_pool(X, np.inf, kernel_size=2, sign="signed")


def test_C11_beta():
    with broken("C11", "beta=[1.0, 0.0]"):
        spec.smooth_max_pool(X, np.array([1.0, 0.0]), kernel_size=2)
    with broken("C11", "inf"):
        spec.smooth_max_pool(X, np.inf, kernel_size=2)


def test_C12_per_channel_parameter_shape():
    with broken("C12", "norm_type has shape (3,)", "(2,)"):
        spec.lp_pool(X, np.ones(3), kernel_size=2)


def test_C13_divisor_override():
    with broken("C13", "divisor_override=0"):
        spec.avg_pool(X, kernel_size=2, divisor_override=0)
    with broken("C13", "divisor_override=1.5"):
        spec.avg_pool(X, kernel_size=2, divisor_override=1.5)


def test_C14_enumerated_option():
    with broken("C14", "sign='neg'"):
        spec.lp_pool(X, 2.0, kernel_size=2, sign="neg")
    with broken("C14", "padding_policy='edge'"):
        spec.smooth_max_pool(X, 1.0, kernel_size=2, padding_policy="edge")


def test_constraint_errors_are_value_errors_with_the_id():
    with pytest.raises(spec.ConstraintError) as info:
        spec.max_pool(X, kernel_size=0)
    assert isinstance(info.value, ValueError) and info.value.constraint == "C2"


@pytest.mark.parametrize(
    "call",
    [
        lambda: spec.max_pool(X, kernel_size=2, ceil_mode="no"),
        lambda: spec.max_pool(X, kernel_size=2, ceil_mode=1),
        lambda: spec.max_pool(X, kernel_size=2, return_indices="no"),
        lambda: spec.avg_pool(X, kernel_size=2, count_include_pad=None),
    ],
    ids=["ceil_mode-str", "ceil_mode-int", "return_indices-str", "count_include_pad-None"],
)
def test_C22_flags_are_bools(call):
    with broken("C22", "must be True or False"):
        call()
    with pytest.raises(TypeError):  # a type error too
        call()
    assert spec.max_pool(X, kernel_size=2, ceil_mode=np.bool_(True)).shape == (1, 2, 3, 3)


def test_C23_shapes_are_integers():
    with broken("C23", "8.5"):
        spec.output_shape("max_pool", (1, 1, 8.5), kernel_size=2)
    with broken("C23", "-1"):
        spec.output_shape("max_pool", (1, 1, -1), kernel_size=2)
    assert spec.output_shape("max_pool", (np.int64(1), 1, 8), kernel_size=2) == (1, 1, 4)
    assert spec.output_shape("max_pool", (1, 1, 10**12), kernel_size=3) == (1, 1, 333333333333)


@pytest.mark.parametrize(
    "p",
    ["2", True, 2 + 1j, np.array([1.0, 2j]), None],
    ids=["str", "bool", "complex", "c128", "None"],
)
def test_C24_parameters_are_real_numbers(p):
    with broken("C24", "norm_type"):
        spec.lp_pool(X, p, kernel_size=2)
    assert spec.lp_pool(X, np.int64(2), kernel_size=2).shape == (1, 2, 2, 2)


def test_every_constraint_has_a_negative_test():
    """A ``test_Cn_...`` function somewhere under tests/ for every id in CONSTRAINTS."""
    tests = pathlib.Path(__file__).resolve().parents[1]
    source = "\n".join(p.read_text() for p in tests.rglob("test_*.py"))
    named = set(re.findall(r"^def (test_C\d+)_", source, flags=re.M))
    missing = [c for c in spec.CONSTRAINTS if f"test_{c}" not in named]
    assert not missing, f"constraints without a negative test named test_<id>_...: {missing}"
