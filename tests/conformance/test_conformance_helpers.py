"""Meta-tests of the suite's helpers: strategies, tolerances, deviations, targets, reports."""

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndpool import spec
from ndpool.conformance import deviations as devs
from ndpool.conformance.cases import Case, to_dtype
from ndpool.conformance.cli import build_parser, main
from ndpool.conformance.facts import FACTS
from ndpool.conformance.ops import OP_INFO
from ndpool.conformance.properties import PROPERTIES, availability
from ndpool.conformance.reporting import Matrix, to_html, to_json, to_markdown
from ndpool.conformance.runner import run_property
from ndpool.conformance.strategies import cases
from ndpool.conformance.targets import Capabilities, NumpyTarget, load_target
from ndpool.conformance.targets.base import DEVIATIONS_DIR
from ndpool.conformance.tolerances import Allowed, mismatches, ulp_histogram

CAPS = Capabilities(dtypes=("float16", "float32", "float64"))


@pytest.mark.parametrize("op", sorted(OP_INFO))
@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(data=st.data())
def test_drawn_cases_are_valid(op, data):
    case = data.draw(cases(OP_INFO[op], CAPS, {"property": "forward"}))
    case.spec_forward()  # the spec accepts every drawn case (no filtering needed)
    assert case.d in CAPS.ranks
    assert np.array_equal(to_dtype(case.x, case.dtype), case.x, equal_nan=True)


def test_strategies_cover_ranks_1_to_5():
    seen = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(cases(OP_INFO["max_pool"], CAPS, {"property": "forward"}))
    def collect(case):
        seen.add(case.d)

    collect()
    assert seen == {1, 2, 3, 4, 5}


def test_the_gumbel_temperature_is_drawn_in_every_form():
    """A scalar, one per channel and one per channel and output position ``[C, *O]``
    (the ``position`` kind): each is drawn."""
    seen = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(cases(OP_INFO["gumbel_pool"], CAPS, {"property": "forward"}))
    def collect(case):
        t = np.asarray(case.params[0])
        out = spec.output_shape("gumbel_pool", case.x.shape, **case.cfg)
        channels = case.x.shape[-case.d - 1]
        if t.ndim == 0:
            seen.add("scalar")
        elif t.shape == (channels,):
            seen.add("per_channel")
        else:
            assert t.shape == (channels, *out[-case.d :]), (t.shape, out)
            seen.add("per_position")

    collect()
    assert seen == {"scalar", "per_channel", "per_position"}, seen


def test_op_without_entry_is_no_strategy():
    missing = [op for op in spec.OPS if op not in OP_INFO]
    target = load_target("ndpool.spec")
    for op in missing:
        assert availability(target, op, "forward")[0] == "no strategy"
    out = run_property(target, "not-an-op-in-opinfo", "forward")
    assert out.status == "no strategy"


def test_missing_op_is_not_provided():
    target = NumpyTarget(types.SimpleNamespace(max_pool=spec.max_pool), name="only-max")
    assert availability(target, "avg_pool", "forward")[0] == "not provided"
    assert availability(target, "max_pool", "jvp")[0] == "not provided"  # no gradients
    assert availability(target, "max_pool", "forward") is None
    assert run_property(target, "max_pool", "forward", 5).status == "pass"


def test_module_attribute_target():
    module = types.ModuleType("user_pooling_target")
    module.ops = types.SimpleNamespace(avg_pool=spec.avg_pool)
    sys.modules["user_pooling_target"] = module
    try:
        target = load_target("user_pooling_target:ops")
    finally:
        del sys.modules["user_pooling_target"]
    assert target.provides("avg_pool") and not target.provides("max_pool")


def test_bfloat16_rounding_is_to_nearest_even():
    vals = np.array([1.0, 1.00390625, 1.005859375, 1 + 2**-8 + 2**-20, -3.0e38, np.nan])
    got = to_dtype(vals, "bfloat16")
    assert got[0] == 1.0 and got[1] == 1.0  # tie -> even
    assert got[2] == 1.0078125 and got[3] == 1.0078125
    assert np.isnan(got[5])


def test_mismatch_semantics():
    ref = np.array([1.0, np.nan, np.inf, 0.0, -0.0])
    exact = Allowed.radius(ref, 0, exact=True)
    got = np.array([1.0, np.nan, np.inf, 0.0, 0.0])
    assert mismatches(got, ref, exact, "float32").tolist() == [False] * 4 + [True]
    loose = Allowed.radius(ref, 0.5)
    got = np.array([1.4, 2.0, -np.inf, 0.6, -0.0])
    assert mismatches(got, ref, loose, "float32").tolist() == [False, True, True, True, False]
    assert "(1,2]" in ulp_histogram(np.float32([1 + 2**-22]), np.float32([1.0]), "float32")


def test_deviation_scope_and_staleness(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        '[[deviation]]\nid = "a"\nproperty = "forward"\nop = "max_pool"\n'
        'scope = { dtype = ["float16"], d = 2 }\nreason = "r"\n'
        '[[deviation]]\nid = "b"\nproperty = ["vjp"]\nop = "*"\nreason = "r"\n'
    )
    reg = devs.Registry.load("t", path)
    x2 = np.zeros((1, 1, 2, 2))
    case = Case("max_pool", x2, cfg={"kernel_size": 2}, dtype="float16")
    assert reg.match("forward", "max_pool", case).id == "a"
    assert reg.match("forward", "max_pool", Case("max_pool", x2, cfg={"kernel_size": 2})) is None
    assert reg.match("vjp", "avg_pool", case).id == "b"
    reg.hit(reg.entries[0])
    reg.clean["a"] += 1  # a hit wins: it still deviates
    assert reg.stale() == [] and [e.id for e in reg.not_sampled()] == ["b"]
    reg.clean["b"] += 1  # checked in its region, conformed
    assert [e.id for e in reg.stale()] == ["b"] and reg.not_sampled() == []
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[deviation]]\nid = "c"\nproperty = "forward"\nop = "max_pool"\n'
        'scope = { no_such_fact = 1 }\nreason = "r"\n'
    )
    with pytest.raises(devs.RegistryError, match="unknown scope fact"):
        devs.Registry.load("t", bad)


def test_torch_registry_parses_and_uses_known_facts():
    reg = devs.Registry.load("torch", load_target("torch").deviations_file)
    assert reg.entries
    for entry in reg.entries:
        assert set(entry.scope) <= set(FACTS), entry.id
        assert set(entry.properties) <= set(PROPERTIES) | {"*"}, entry.id
        assert set(entry.ops) <= set(spec.OPS) | {"*"}, entry.id
        assert entry.reason.strip()


def test_matrix_and_reports():
    m = Matrix()
    m.set("t", "max_pool", "forward", "pass")
    m.set("t", "max_pool", "jvp", "fail", "boom")
    m.set("t", "avg_pool", "forward", "not provided", "not provided: ...")
    text = m.render_text("t")
    assert "FAIL" in text and "NOT CONFORMANT" in text
    assert to_json(m)["targets"]["t"]["failures"] == {"max_pool/jvp": "boom"}
    assert "| max_pool |" in to_markdown(m)
    assert "<table" in to_html(m)


def test_cli_arguments():
    ns = build_parser().parse_args(
        [
            "check",
            "--target",
            "torch",
            "--op",
            "max_pool",
            "avg_pool",
            "--seed",
            "3",
            "--profile",
            "ci",
            "--report",
            "r.json",
            "--junit-xml",
            "j.xml",
        ]
    )
    assert ns.target == "torch" and ns.op == ["max_pool", "avg_pool"] and ns.seed == 3
    assert ns.profile == "ci" and ns.report == "r.json" and ns.junit_xml == "j.xml"
    assert main(["check", "--op", "no_such_op"]) == 3  # a set-up error, before any run


def test_every_registry_is_documented():
    """The deviations page shows every built-in registry as a generated table
    (docs/hooks/registry_tables.py), each entry linked to its reproducer."""
    import sys
    from pathlib import Path

    docs = Path(__file__).parents[2] / "docs"
    sys.path.insert(0, str(docs / "hooks"))
    try:
        import registry_tables
    finally:
        sys.path.pop(0)
    page = (docs / "conformance" / "deviations.md").read_text()
    for path in sorted(DEVIATIONS_DIR.glob("*.toml")):
        assert f"<!-- ndpool:registry {path.stem} -->" in page, f"{path.stem} not on the page"
        table = registry_tables.markdown(path.stem, "../frameworks/repro")
        for entry in devs.Registry.load(path.stem, path).entries:
            assert f"`{entry.id}`](../frameworks/repro/{path.stem}-{entry.id}.py)" in table


def test_lp_partial_bounds_where_the_value_overflows():
    """Lp's value overflows float64 by definition here (p = 1/2, cells near 1e308) while
    its partials t_i / y are finite: their bounds come from the scaled ratios, so a
    one-ulp difference passes and a 1e-9 relative one fails (before, the ratio read
    t / inf = 0 and the bound had zero width)."""
    x = np.array([8.07e307, -3.38e307, -1.38e307, 5.89e307]).reshape(1, 1, 2, 2)
    case = Case("lp_pool", x, (np.array(0.5),), {"kernel_size": (2, 2)}, "float64")
    cot = np.array([2.0]).reshape(1, 1, 1, 1)
    with np.errstate(all="ignore"):
        assert np.isinf(case.spec_forward()).all()
        ref = spec.vjp("lp_pool", case.primals, cot, **case.cfg)
    allowed = OP_INFO["lp_pool"].vjp_allowed(case, cot, ref, ("x", "norm_type"))[0]
    assert np.isfinite(ref[0]).all() and (ref[0] != 0).all()
    ulp = np.spacing(np.abs(ref[0]))
    assert not mismatches(ref[0] + ulp, ref[0], allowed, "float64").any()
    assert mismatches(ref[0] * (1 + 1e-9), ref[0], allowed, "float64").all()


def test_lp_partial_bounds_admit_the_chain_rule_order():
    """A float32 Lp whose x-partials follow the chain rule, ``y t^(p-1) / sum t^p`` with
    ``y = (sum t^p)^(1/p)`` and ``1/p`` rounded to float32, conforms: the root's error
    (|log y| units, as the forward bound allows) enters such a partial once, which the
    bound must cover for p < 2 too."""
    x = np.array([3.18e-34, 8.21e-35, 1.77e-34, 3.36e-35, 3.35e-34]).reshape(1, 1, 5)
    x = x.astype(np.float32).astype(np.float64)
    p = 0.75
    case = Case("lp_pool", x, (np.array(p),), {"kernel_size": (3,), "dilation": (2,)}, "float32")
    cot = np.array([2.0]).reshape(1, 1, 1)
    ref = spec.vjp("lp_pool", case.primals, cot, **case.cfg)
    t = x.astype(np.float32)[0, 0, [0, 2, 4]]
    total = np.sum(t ** np.float32(p), dtype=np.float32)
    y = total ** (np.float32(1) / np.float32(p))
    chain = np.zeros_like(x)
    chain[0, 0, [0, 2, 4]] = (2 * y * t ** np.float32(p - 1) / total).astype(np.float64)
    allowed = OP_INFO["lp_pool"].vjp_allowed(case, cot, ref, ("x", "norm_type"))[0]
    assert not mismatches(chain, ref[0], allowed, "float32").any(), (chain, ref[0])


def test_derivative_bounds_near_the_top_of_the_range_are_not_zero():
    """A JVP whose value is near float64's largest (Lp's p-derivative of cells near 1e307)
    has a bound of a few units there: the products of a bound are formed small factors
    first, so ``a (m + 1) u`` does not overflow to inf (read as 0) on the way."""
    x = np.array([1.95e307, 4.36e306, 7.32e305, -1.58e307, 7.98e306, 6.42e306, -1.63e307,
                  -5.13e306]).reshape(1, 1, 4, 2, 1)  # fmt: skip
    cfg = {"kernel_size": (3, 2, 1), "dilation": (1, 1, 2)}
    case = Case("lp_pool", x, (np.array(1.0),), cfg, "float64")
    tangents = (np.array([2.0, 1, 0, -2, -1, -3, -3, -3]).reshape(x.shape), np.array(2.0))
    with np.errstate(all="ignore"):
        _, ref = spec.jvp("lp_pool", case.primals, tangents, **case.cfg)
    assert np.isfinite(ref).all() and np.abs(ref).max() > 1e307
    allowed = OP_INFO["lp_pool"].jvp_allowed(case, tangents, ref, ("x", "norm_type"))
    assert (allowed.hi - allowed.lo > 0).all()
    assert not mismatches(ref + np.spacing(np.abs(ref)), ref, allowed, "float64").any()


def test_invalid_config_starts_from_a_case_the_target_computes(tmp_path):
    """A breaker's valid base case never lies in a registered forward deviation (a dtype
    the target lacks): the target's error there would come from the gap, not from the
    broken constraint, and read as a rejection. The target here raises for float16 (its
    registered gap) and accepts a bool kernel size; the run must see the bool accepted."""
    from ndpool.conformance.runner import CheckContext

    def max_pool(x, *args, kernel_size, **kwargs):
        if x.dtype == np.float16:
            raise NotImplementedError("no float16 kernel")
        k = int(kernel_size) if isinstance(kernel_size, bool) else kernel_size
        return spec.max_pool(x, *args, kernel_size=k, **kwargs)

    caps = Capabilities(dtypes=("float16", "float32"))
    target = NumpyTarget(types.SimpleNamespace(max_pool=max_pool), name="gap", capabilities=caps)
    path = tmp_path / "gap.toml"
    path.write_text(
        '[[deviation]]\nid = "no-float16"\nproperty = "forward"\n'
        'op = "max_pool"\nscope = { dtype = "float16" }\nreason = "r"\n'
    )
    called = []
    ctx = CheckContext(
        target,
        profile="quick",
        seed=0,
        deviations=path,
        observer=lambda case, what, args: called.append(case),
        discover=True,  # on past the first failure: every breaker is drawn
    )
    outcome = ctx.run("max_pool", "invalid_config")
    assert called and all(c.dtype != "float16" for c in called), [c.dtype for c in called]
    assert outcome.status == "fail" and "kernel_size=True" in outcome.message, outcome.message
