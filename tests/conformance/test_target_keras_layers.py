"""The ``keras-tensorflow``, ``keras-jax`` and ``keras-torch`` adapters
(conformance/targets/keras_layers.py): what they declare, and that each runs the Keras layer
on its own backend, in its layout, and matches the spec where Keras and the spec agree.

Keras fixes its backend when it is imported, and Keras' torch backend cannot load after
TensorFlow in one process, so every check that imports Keras runs in a fresh Python process
per backend (``_run``); skipped where keras or the backend is not installed."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from ndpool.conformance.targets import BUILTIN_TARGETS
from ndpool.conformance.targets.keras_layers import BACKENDS, capabilities


def _installed(*modules: str) -> None:
    """Skip unless the modules are installed; never imports them here (keras would import
    its default backend, tensorflow, into the test process)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None, reason="keras is not installed"
)


def _run(backend: str, body: str) -> str:
    """Run ``body`` in a fresh process where ``target = load_target('keras-<backend>')``;
    return its output (the test fails with the output when the process does)."""
    _installed(backend)
    code = textwrap.dedent(
        f"""
        import warnings
        warnings.simplefilter("ignore")
        import numpy as np
        from ndpool import spec
        from ndpool.conformance.cases import Case
        from ndpool.conformance.targets import load_target
        target = load_target("keras-{backend}")
        keras = target.keras()  # the backend loads on first use
        """
    ) + textwrap.dedent(body)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, f"keras-{backend}:\n{run.stdout}\n{run.stderr[-4000:]}"
    return run.stdout


def test_the_three_targets_are_registered_on_one_module():
    for backend in BACKENDS:
        builtin = BUILTIN_TARGETS[f"keras-{backend}"]
        assert builtin.module == "keras_layers", builtin
        assert builtin.options == {"backend": backend}, builtin
        assert set(builtin.requires) == {"keras", backend}, builtin


@pytest.mark.parametrize("backend", BACKENDS)
def test_declares_what_keras_pooling_layers_have(backend):
    _, per_op = capabilities(backend)
    assert set(per_op) == {"max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool"}
    for op, c in per_op.items():
        assert c.ranks == (1, 2, 3), (op, c.ranks)
        assert c.batched == (True,), (op, c.batched)  # a layer takes [N, ...] only
        assert c.layouts == ("contiguous", "channels_last"), (op, c.layouts)
        assert not c.return_indices, op
        assert set(c.padding_forms) == {"valid", "same"}, (op, c.padding_forms)
    assert per_op["max_pool"].config_keys[:3] == ("kernel_size", "stride", "padding")
    assert "dilation" not in per_op["max_pool"].config_keys  # Keras has none
    assert per_op["avg_pool"].option_values == {"count_include_pad": (False,)}
    assert per_op["adaptive_avg_pool"].config_keys == ("output_size",)
    # jax's lax.max orders -0.0 < +0.0 (a [[convention]] in keras-jax.toml); the others tie
    ordered = {"signed_zeros": ("ordered",)} if backend == "jax" else {}
    assert per_op["max_pool"].option_values == ordered
    assert per_op["adaptive_max_pool"].option_values == ordered


def test_an_unknown_backend_is_refused():
    from ndpool.conformance.targets.keras_layers import keras_on, make_target

    with pytest.raises(ValueError, match="unknown Keras backend"):
        make_target(backend="numpy")
    with pytest.raises(ValueError, match="unknown Keras backend"):
        keras_on("mxnet")


@pytest.mark.parametrize("backend", BACKENDS)
def test_runs_on_its_own_backend_and_matches_the_spec(backend):
    """The forward, JVP and VJP of each op in both data formats, against the spec, on the
    backend's own tensors; a max VJP goes to the spec's cell."""
    out = _run(
        backend,
        f"""
        assert keras.config.backend() == {backend!r}, keras.config.backend()
        rng = np.random.default_rng(1)
        x = rng.permutation(2 * 3 * 5 * 4).reshape(2, 3, 5, 4).astype(np.float64) / 8
        cases = [
            ("max_pool", dict(kernel_size=(2, 3), stride=(1, 2), padding="same")),
            ("max_pool", dict(kernel_size=2, stride=None, padding="valid")),
            ("avg_pool", dict(kernel_size=3, stride=1, padding="same", count_include_pad=False)),
            ("avg_pool", dict(kernel_size=(2, 2), stride=(2, 1), padding="valid")),
            ("adaptive_max_pool", dict(output_size=(1, 1))),
            ("adaptive_avg_pool", dict(output_size=(2, 3))),  # (not global: see the registries)
            ("adaptive_avg_pool", dict(output_size=(2, None))),
        ]
        for op, cfg in cases:
            for layout in ("contiguous", "channels_last"):
                case = Case(op, x, cfg=cfg, dtype="float64", layout=layout)
                y = target.forward(case)
                want = case.spec_forward()
                assert y.shape == want.shape and np.allclose(y, want, rtol=1e-12, atol=0), (
                    op, cfg, layout, y, want)
                t = rng.standard_normal(x.shape)
                _, y_dot = target.jvp(case, (t,))
                _, want_dot = spec.jvp(op, (x,), (t,), **cfg)
                assert np.allclose(y_dot, want_dot, rtol=1e-12, atol=1e-15), (op, cfg, layout)
                ct = rng.standard_normal(want.shape)
                (x_bar,) = target.vjp(case, ct)
                (want_bar,) = spec.vjp(op, (x,), ct, **cfg)
                assert np.allclose(x_bar, want_bar, rtol=1e-12, atol=1e-15), (op, cfg, layout)
        raw = target._call(Case("max_pool", x, cfg=dict(kernel_size=2), dtype="float32"))
        print(type(raw).__module__, type(raw).__name__)
        print("ok")
        """,
    )
    assert out.strip().endswith("ok"), out
    module = out.strip().splitlines()[-2]
    assert module.split(".")[0] == {"tensorflow": "tensorflow", "jax": "jaxlib", "torch": "torch"}[
        backend
    ] or module.startswith(backend), module


@pytest.mark.parametrize("backend", BACKENDS)
def test_keeps_the_dtype_and_rejects_what_keras_lacks(backend):
    """A layer computes in the case's dtype (not Keras' float32 default policy); the
    options Keras has no argument for are refused, not emulated."""
    out = _run(
        backend,
        """
        x = np.arange(8, dtype=np.float64).reshape(1, 1, 8)
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            case = Case("max_pool", x, cfg=dict(kernel_size=2), dtype=dtype)
            y = target.forward(case)  # Target.expect raises unless the dtype is kept
            assert np.array_equal(y, [[[1, 3, 5, 7]]]), (dtype, y)
        refused = [
            ("max_pool", dict(kernel_size=2, dilation=2)),
            ("max_pool", dict(kernel_size=2, ceil_mode=True)),
            ("avg_pool", dict(kernel_size=2, count_include_pad=True)),
            ("avg_pool", dict(kernel_size=2, divisor_override=3)),
            ("max_pool", dict(kernel_size=2, padding=1)),
            ("max_pool", dict(kernel_size=0)),
        ]
        for op, cfg in refused:
            try:
                target.forward(Case(op, x, cfg=cfg, dtype="float32"))
            except Exception:
                continue
            raise AssertionError(f"accepted {op} {cfg}")
        print("ok")
        """,
    )
    assert out.strip().endswith("ok"), out


def test_keras_torch_refuses_to_load_after_tensorflow():
    """Keras' torch backend imports triton, which aborts a process that imported
    TensorFlow first: the adapter says so instead of crashing."""
    _installed("tensorflow", "torch", "triton")
    code = textwrap.dedent(
        """
        import tensorflow
        from ndpool.conformance.targets.keras_layers import BackendClash, keras_on
        try:
            keras_on("torch")
        except BackendClash as exc:
            print("refused:", exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and "refused:" in run.stdout, run.stdout + run.stderr[-2000:]


def test_switches_between_backends_in_one_process():
    """The three Keras targets in one process (as test_conformance_framework_repros loads
    them): each call runs on its target's backend, torch after tensorflow included."""
    _installed("tensorflow", "torch")
    out = _run(
        "jax",
        """
        tf_target = load_target("keras-tensorflow")
        torch_target = load_target("keras-torch")
        case = Case("avg_pool", np.arange(6.0).reshape(1, 1, 6), cfg=dict(kernel_size=3))
        order = [(target, "jax"), (tf_target, "tensorflow"), (torch_target, "torch"),
                 (target, "jax"), (tf_target, "tensorflow")]
        for t, name in order:
            y = t.forward(case)
            import keras as k  # the package as it is now (set_backend reloads it)

            assert k.config.backend() == name, (k.config.backend(), name)
            assert np.array_equal(y, [[[1.0, 4.0]]]), (name, y)
        print("ok")
        """,
    )
    assert out.strip().endswith("ok"), out


def test_making_the_targets_imports_no_framework():
    """Loading a Keras target (as the suite does to read its capabilities) imports neither
    keras nor a backend: the backend is chosen on the first call."""
    code = textwrap.dedent(
        """
        import sys
        from ndpool.conformance.targets import load_target
        targets = [load_target(f"keras-{b}") for b in ("tensorflow", "jax", "torch")]
        assert [t.capabilities("max_pool").ranks for t in targets] == [(1, 2, 3)] * 3
        loaded = sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules)
        print("loaded:", loaded)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "loaded: []" in run.stdout, run.stdout
