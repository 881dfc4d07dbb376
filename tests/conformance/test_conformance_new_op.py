"""Adding an op: a small op registered through the same records a real op uses is picked
up by the suite (its properties run, a conforming target passes, a broken one fails), and
the file list of docs/contributing.md matches the tree for every built-in op."""

import re
import types
from pathlib import Path

import numpy as np
import pytest

from ndpool import spec
from ndpool.conformance import ops
from ndpool.conformance.properties import PROPERTIES, availability
from ndpool.conformance.record import OpInfo, always
from ndpool.conformance.runner import run_property
from ndpool.conformance.targets import Capabilities, NumpyTarget
from ndpool.conformance.tolerances import window_vjp_bound
from ndpool.spec.op import Op, pick
from ndpool.spec.selection import first_maximizer, selection_rules

ROOT = Path(__file__).resolve().parents[2]


# -- the new op: min pooling, the smallest real cell (ties: the first) -------------------------
def _select(w, params, call):
    return first_maximizer(-w, call.real)


def _value(w, params, call):
    return pick(w, _select(w, params, call), np.inf)


MIN_POOL = Op("min_pool", _value, *selection_rules(_select), exact=True, select=_select)


@MIN_POOL.defines
def min_pool(x, *, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):  # fmt: skip
    """The smallest real cell of every window."""
    return MIN_POOL.forward(x, kernel_size=kernel_size, stride=stride, padding=padding,
                            dilation=dilation, ceil_mode=ceil_mode,
                            return_indices=return_indices)  # fmt: skip


MIN_POOL_INFO = OpInfo(
    "min_pool", selects=always, exact_jvp=always, vjp_bound=window_vjp_bound, scale_params=None
)


@pytest.fixture
def registered(monkeypatch):
    """min_pool in the spec's registry and the suite's records, for this test only."""
    monkeypatch.setitem(spec.OPS, "min_pool", MIN_POOL)
    monkeypatch.setitem(ops.OP_INFO, "min_pool", MIN_POOL_INFO)
    return MIN_POOL


def _target(fn):
    namespace = types.SimpleNamespace(min_pool=fn, jvp=spec.jvp, vjp=spec.vjp)
    caps = Capabilities(dtypes=("float32", "float64"), error_ids=True)
    return NumpyTarget(namespace, name="my-min-pool", capabilities=caps)


def test_register_checks_the_record():
    with pytest.raises(ValueError, match="registered already"):
        spec.register(spec.OPS["max_pool"])
    with pytest.raises(ValueError, match=r"not an op of ndpool\.spec"):
        ops.register(MIN_POOL_INFO)


def test_the_suite_picks_up_a_registered_op(registered):
    target = _target(min_pool)
    ran = [prop for prop in PROPERTIES if availability(target, "min_pool", prop) is None]
    assert {"forward", "indices", "jvp", "vjp", "adjoint", "invalid_config"} <= set(ran)
    for prop in ran:
        out = run_property(target, "min_pool", prop, max_examples=20, seed_value=3)
        assert out.status == "pass", f"{prop}: {out.message}"


def test_a_broken_implementation_of_the_new_op_fails(registered):
    def last_minimum(x, **cfg):  # ties go to the last minimizer
        y = spec.max_pool(-np.asarray(x)[..., ::-1], **cfg)
        return -(y[0][..., ::-1] if isinstance(y, tuple) else y[..., ::-1])

    out = run_property(_target(last_minimum), "min_pool", "forward", 50, seed_value=0)
    assert out.status == "fail"


def _contributing_files() -> list[list[str]]:
    """The new-op file list of docs/contributing.md: per item, its path patterns (with
    ``<family>`` and ``<op>``; several where the item says ``a`` or ``b``)."""
    text = (ROOT / "docs" / "contributing.md").read_text()
    section = text.split("## Adding an op", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^- ((?:`[^`]+`)(?: or `[^`]+`)*):", section, flags=re.M)
    return [re.findall(r"`([^`]+)`", item) for item in items]


@pytest.mark.parametrize("op", sorted(spec.OPS))
def test_every_op_has_the_files_contributing_names(op):
    family = Path(spec.OPS[op].function.__module__.replace(".", "/")).name
    paths = _contributing_files()
    assert paths, "docs/contributing.md lists no files under '## Adding an op'"
    for alternatives in paths:
        found = [
            c
            for pattern in alternatives
            for c in ROOT.glob(pattern.replace("<family>", family).replace("<op>", op))
            if op in c.read_text().lower()
        ]
        assert found, f"{op}: none of {alternatives} exists and names it"
