"""Strong: every deliberately broken target (ndpool.conformance.mutants) is rejected,
with a failure message that shows the configuration and a runnable reproducer."""

import textwrap
import warnings

import pytest

from ndpool.conformance.killrate import kill
from ndpool.conformance.mutants import MUTANTS

EXAMPLES = 40
SEED = 1


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_killed(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        killed, failures = kill(name, EXAMPLES, SEED, stop_at_first=True)
    assert killed, f"mutant {name!r} ({MUTANTS[name].description}) survived the suite"
    (op, _prop), message = next(iter(failures.items()))
    assert "configuration:" in message or "on a configuration" in message, message
    assert MUTANTS[name].ops and op in MUTANTS[name].ops


def _reproducer(message: str) -> str:
    block = message.split("reproducer:\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


def test_reproducer_runs_and_shows_the_difference(capsys):
    killed, failures = kill("max-last-tie", EXAMPLES, SEED, stop_at_first=True)
    assert killed
    message = next(iter(failures.values()))
    code = _reproducer(message)
    exec(compile(code, "<reproducer>", "exec"), {})
    out = capsys.readouterr().out
    assert "target:" in out and "spec:" in out
