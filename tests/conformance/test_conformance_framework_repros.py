"""Every reproducer in docs/frameworks/repro/ still reproduces its registered deviation
(exits 1): a framework that fixed one makes its test fail here, so the entry in
conformance/targets/deviations/<target>.toml and the reproducer can be retired. A reproducer of a
``[[convention]]`` (a framework convention the spec names as an option) exits 1 while the
framework differs from the spec's default and equals the spec under that option. Run
in-process (runpy) to keep the imports shared; skipped when the framework is not installed.

The registered conventions and the adapters agree: each ``[[convention]]`` is the value the
target's capabilities declare for that option, and each convention option an adapter
declares is registered (with its reason); a convention is drawn only where a target declares
it, and reaches the spec reference but not the framework call."""

import runpy
from pathlib import Path

import pytest

from ndpool import spec
from ndpool.conformance.targets import BUILTIN_TARGETS
from ndpool.conformance.targets.base import triton_before_tensorflow

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPRO = Path(__file__).resolve().parents[2] / "docs" / "frameworks" / "repro"
REGISTRIES = Path(__file__).resolve().parents[2] / "conformance" / "targets" / "deviations"
#: the packages each built-in target's reproducers import
NEEDS = {name.split("@")[0]: builtin.requires for name, builtin in BUILTIN_TARGETS.items()}
SCRIPTS = sorted(REPRO.glob("*.py"))


def _target(path: Path) -> str:
    return next(t for t in sorted(NEEDS, key=len, reverse=True) if path.name.startswith(t + "-"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_reproducer_still_reproduces(script, capsys):
    # the reproducers share this process: importing keras (its default backend) loads
    # TensorFlow, and Triton loaded after it (by torch._dynamo in a later torch reproducer)
    # aborts the process, so Triton goes first, as the targets do
    triton_before_tensorflow()
    for mod in NEEDS[_target(script)]:
        pytest.importorskip(mod)
    deviation = script.stem[len(_target(script)) + 1 :]
    toml = REGISTRIES
    assert f'id = "{deviation}"' in (toml / f"{_target(script)}.toml").read_text(), (
        f"{script.name}: no deviation {deviation!r} in {_target(script)}.toml"
    )
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert exit_info.value.code == 1, (
        f"{script.name} no longer reproduces (exit {exit_info.value.code}): the deviation "
        f"{deviation!r} may be fixed; retire its registry entry.\n{out}"
    )


@pytest.mark.parametrize("target", sorted(t for t in NEEDS if (REGISTRIES / f"{t}.toml").exists()))
def test_every_registry_entry_has_a_reproducer(target):
    """A registry entry is a claim about the installed framework; its reproducer is what
    verifies it (the drawn examples never enter a registered region)."""
    data = tomllib.loads((REGISTRIES / f"{target}.toml").read_text())
    ids = [e["id"] for kind in ("deviation", "convention") for e in data.get(kind, [])]
    missing = [i for i in ids if not (REPRO / f"{target}-{i}.py").is_file()]
    assert not missing, (
        f"{target}.toml entries without docs/frameworks/repro/{target}-<id>.py: {missing}"
    )


def _conventions(target: str) -> list[dict]:
    return tomllib.loads((REGISTRIES / f"{target}.toml").read_text()).get("convention", [])


@pytest.mark.parametrize("target", sorted(t for t in NEEDS if (REGISTRIES / f"{t}.toml").exists()))
def test_registered_conventions_are_the_adapters_declared_ones(target):
    for mod in NEEDS[target]:
        pytest.importorskip(mod)
    from ndpool.conformance.targets import load_target

    loaded = load_target(target)
    registered = {(c["op"], c["option"]): c["value"] for c in _conventions(target)}
    for (op, option), value in registered.items():
        declared = loaded.capabilities(op).option_values.get(option)
        assert declared == (value,), (
            f"{target}.toml registers the convention {option}={value!r} for {op}, but "
            f"the adapter declares {declared!r}"
        )
        assert option in loaded.capabilities(op).keys(op), f"{target}: {op} lacks {option}"
    for op, record in spec.OPS.items():
        if not loaded.provides(op):
            continue
        for option in (o.name for o in record.conventions):
            declared = loaded.capabilities(op).option_values.get(option)
            if declared:
                assert (op, option) in registered, (
                    f"the {target} adapter declares {option}={declared!r} for {op} but "
                    f"{target}.toml has no [[convention]] for it (classify it, with a reason)"
                )


def test_follow_conventions_keeps_the_option_from_the_framework_call():
    from ndpool.conformance.targets import Capabilities, follow_conventions

    caps = Capabilities(option_values={"signed_zeros": ("ordered",)})
    cfg = {"kernel_size": 2, "signed_zeros": "ordered", "empty_window": "-inf"}
    assert follow_conventions("max_pool", cfg, caps) == {"kernel_size": 2}
    with pytest.raises(ValueError, match="follows signed_zeros='ordered'"):
        follow_conventions("max_pool", {**cfg, "signed_zeros": "tie"}, caps)
    with pytest.raises(ValueError, match="follows empty_window='-inf'"):  # undeclared: default
        follow_conventions("max_pool", {**cfg, "empty_window": "lowest"}, caps)


def test_conventions_are_drawn_only_where_declared():
    from hypothesis import find

    from ndpool.conformance.ops import OP_INFO
    from ndpool.conformance.strategies import cases
    from ndpool.conformance.targets import Capabilities

    plain = find(cases(OP_INFO["max_pool"], Capabilities()), lambda c: True)
    assert "signed_zeros" not in plain.cfg and "empty_window" not in plain.cfg
    jax_like = Capabilities(option_values={"signed_zeros": ("ordered",)})
    case = find(cases(OP_INFO["max_pool"], jax_like), lambda c: True)
    assert case.cfg["signed_zeros"] == "ordered" and "empty_window" not in case.cfg
