"""Strong: every deliberately broken target (ndpool.conformance.tools.mutants) is rejected
by the quick profile (the edge corpus and 12 examples per op x property), with a failure
message that shows the configuration and a runnable reproducer."""

import textwrap
import types
import warnings

import numpy as np
import pytest

from ndpool.conformance.tools.killrate import kill
from ndpool.conformance.tools.mutants import MUTANTS

PROFILE = "quick"
SEED = 1


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_killed(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        killed, failures = kill(name, PROFILE, SEED, stop_at_first=True)
    assert killed, f"mutant {name!r} ({MUTANTS[name].description}) survived the quick profile"
    (op, _prop), message = next(iter(failures.items()))
    assert "configuration:" in message or "on a configuration" in message, message
    assert MUTANTS[name].ops and op in MUTANTS[name].ops


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_computes_a_plain_case(name):
    """A mutant's one bug lies in an edge class, so on a plain finite input (distinct
    values, no padding; a batch of one) each op it breaks returns its value, JVP and VJP
    without raising: a mutant that raised there (a helper called with the wrong arguments)
    would be "killed" by its own crash, not by the suite."""
    from ndpool import spec

    target = MUTANTS[name].target()
    x = np.linspace(-1.0, 1.5, 24).reshape(1, 2, 3, 4)[..., ::-1] ** 3
    for op in MUTANTS[name].ops:
        record = spec.OPS[op]
        cfg = {"output_size" if record.windows.name == "adaptive" else "kernel_size": 2}
        params = tuple(np.full(2, 2.0) for _ in record.input_specs[1:])  # p = 2, beta = 2
        primals = (x, *params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(target.namespace, op)(*primals, **cfg)
            tangents = tuple(np.ones_like(a) for a in primals)
            target._gradient("jvp", op)(primals, tangents, **cfg)
            target._gradient("vjp", op)(primals, np.ones_like(y), **cfg)
        assert np.shape(y) == spec.output_shape(op, x.shape, **cfg), (op, np.shape(y))


def _reproducer(message: str) -> str:
    block = message.split("reproducer:\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


def test_reproducer_runs_and_shows_the_difference(capsys):
    killed, failures = kill("max-last-tie", PROFILE, SEED, stop_at_first=True)
    assert killed
    message = next(iter(failures.values()))
    code = _reproducer(message)
    exec(compile(code, "<reproducer>", "exec"), {})
    out = capsys.readouterr().out
    assert "target:" in out and "spec:" in out


def _one_short(x, **cfg):
    """avg_pool whose output misses its last position on the last axis (or gains one when
    that axis has a single position): never the spec's shape."""
    from ndpool import spec

    y = spec.avg_pool(x, **cfg)
    if y.shape[-1] > 1:
        return y[..., :-1]
    return np.concatenate([y, y], axis=-1)


@pytest.mark.parametrize(
    "prop",
    ["permutation_equivariance", "translation_equivariance", "monotonicity", "positive_scaling"],
)
def test_metamorphic_property_rejects_wrong_shape_cleanly(prop):
    """A metamorphic relation compares the target with itself; a target whose output has
    the wrong shape must fail with a shape message, not crash while shaping the tolerance
    (avg_pool: its tolerance comes from the spec's output, of the spec's shape)."""
    from ndpool.conformance.runner import run_property
    from ndpool.conformance.targets import load_target

    target = load_target(types.SimpleNamespace(avg_pool=_one_short))
    out = run_property(target, "avg_pool", prop, 10, SEED, shrink=False)
    assert out.status == "fail", out
    assert "expected (spec.output_shape)" in out.message, out.message
