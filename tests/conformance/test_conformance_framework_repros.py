"""Every reproducer in docs/frameworks/repro/ still reproduces its registered deviation
(exits 1): a framework that fixed one makes its test fail here, so the entry in
conformance/deviations/<target>.toml and the reproducer can be retired. Run in-process
(runpy) to keep the imports shared; skipped when the framework is not installed."""

import runpy
from pathlib import Path

import pytest

REPRO = Path(__file__).resolve().parents[2] / "docs" / "frameworks" / "repro"
NEEDS = {
    "onnxruntime": ("onnx", "onnxruntime"),
    "onnx-reference": ("onnx",),
    "jax": ("jax",),
    "torch-compile": ("torch",),
}
SCRIPTS = sorted(REPRO.glob("*.py"))


def _target(path: Path) -> str:
    return next(t for t in sorted(NEEDS, key=len, reverse=True) if path.name.startswith(t + "-"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_reproducer_still_reproduces(script, capsys):
    for mod in NEEDS[_target(script)]:
        pytest.importorskip(mod)
    deviation = script.stem[len(_target(script)) + 1 :]
    toml = Path(__file__).resolve().parents[2] / "conformance" / "deviations"
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
