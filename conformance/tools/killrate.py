"""Kill rate: run every mutant of a set through the suite, per profile, and write its page:
``mutants.MUTANTS`` (the spec with one rule changed, docs/conformance/kill-rate.md) or
``triton_mutants.TRITON_MUTANTS`` (the Triton kernels with one line changed, on the
``triton`` target, docs/conformance/kill-rate-triton.md).

    python -m ndpool.conformance.tools.killrate [--mutants spec|triton] [--profiles quick ci]
        [--seed S] [--out PATH]

A mutant is killed when at least one property fails on one of the ops it breaks. Each
profile runs exactly as ``ndpool check --profile P`` does: the edge corpus first, then the
profile's drawn examples per op x property.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from ..properties import PROPERTIES
from ..runner import PROFILES, CheckContext
from .mutants import CORE_OPS, MUTANTS
from .triton_mutants import TRITON_MUTANTS, patched_site


def kill(name: str, profile: str = "quick", seed_value: int = 0, stop_at_first: bool = False):
    """``(killed, {(op, property): the failure's message})`` for one mutant of
    ``MUTANTS``, checked with ``profile`` (the edge corpus and the profile's examples) from
    ``seed_value``."""
    mutant = MUTANTS[name]
    return kill_target(mutant.target(), mutant.ops, profile, seed_value, stop_at_first)


def kill_target(target, ops, profile: str, seed_value: int, stop_at_first: bool = False):
    """``(killed, failures)`` for ``target`` checked on ``ops`` (every property)."""
    ctx = CheckContext(target, profile=profile, seed=seed_value)
    failures = {}
    for op in ops:
        for prop in PROPERTIES:
            out = ctx.run(op, prop)
            if out.status == "fail":
                failures[(op, prop)] = out.message
                if stop_at_first:
                    return True, failures
    return bool(failures), failures


def kill_triton(
    name: str | None, profile: str, seed_value: int, stop_at_first: bool = True, ops=None
):
    """``(killed, failures)`` for the ``triton`` target with the source mutant ``name``
    applied (``None``: the kernels as they are, the control), checked on ``ops`` (default:
    the mutant's, every core op for the control), run in a fresh interpreter that imports
    a patched copy of ndpool under Triton's interpreter."""
    if ops is None:
        ops = CORE_OPS if name is None else TRITON_MUTANTS[name].ops
    with tempfile.TemporaryDirectory(prefix="ndpool-mutant-") as tmp:
        site = patched_site(None if name is None else TRITON_MUTANTS[name], Path(tmp))
        env = dict(os.environ, PYTHONPATH=str(site), TRITON_INTERPRET="1")
        command = [sys.executable, "-m", "ndpool.conformance.tools.killrate", "--check-patched",
                   "--profiles", profile, "--seed", str(seed_value)]  # fmt: skip
        command += ["--check-ops", *ops]
        if not stop_at_first:
            command.append("--all-failures")
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"the triton mutant run {name!r} crashed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["killed"], {tuple(k.split(" ", 1)): v for k, v in result["failures"].items()}


def _check_patched(ops, profile: str, seed_value: int, stop_at_first: bool) -> int:
    """The child of :func:`kill_triton`: check the (patched) triton target and print the
    result as one JSON line."""
    from ..targets.triton_kernels import make_target

    target = make_target("cpu")
    kernels = sys.modules["ndpool.impl.triton.kernels"].__file__
    site = os.environ.get("PYTHONPATH", "")
    if not kernels.startswith(site):
        raise RuntimeError(f"the kernels came from {kernels}, not the patched copy in {site}")
    killed, failures = kill_target(target, ops, profile, seed_value, stop_at_first)
    failures = {f"{op} {prop}": message for (op, prop), message in failures.items()}
    print(json.dumps({"killed": killed, "failures": failures}))
    return 0


#: per mutant set: the mutants, the page it writes, how its mutants are made
SETS = {
    "spec": (
        MUTANTS,
        "docs/conformance/kill-rate.md",
        "Each mutant is a deliberately broken target (conformance/tools/mutants.py: the spec, "
        "NumPy in/out, with one rule changed).",
    ),
    "triton": (
        TRITON_MUTANTS,
        "docs/conformance/kill-rate-triton.md",
        "Each mutant is the `triton` target (ndpool.impl's Triton kernels, run on the CPU by "
        "Triton's interpreter) with one line of its source changed "
        "(conformance/tools/triton_mutants.py: the kernels, their launchers, geometry or entry "
        "points), each run in a fresh interpreter that imports the patched copy. The control "
        "(the kernels as they are, checked on every core op) must pass the same run. At the "
        "first profile every property runs; at the others a mutant stops at its first failure.",
    ),
}

#: the control row of the triton set: no patch
CONTROL = "(none: the control)"


def _run_set(which: str, profiles, seed_value: int):
    """``(results {name: {profile: (killed, properties)}}, [(profile, killed, secs)])``;
    the triton set stops each mutant at its first failure after the first profile (a
    fresh interpreter per mutant makes every property of every profile slow)."""
    mutants = SETS[which][0]
    names = list(mutants) if which == "spec" else [CONTROL, *mutants]
    results: dict[str, dict[str, tuple]] = {name: {} for name in names}
    summary = []
    for i, profile in enumerate(profiles):
        start = time.perf_counter()
        killed = 0
        for name in names:
            if which == "spec":
                ok, failures = kill(name, profile, seed_value)
            else:
                mutant = None if name == CONTROL else name
                ok, failures = kill_triton(mutant, profile, seed_value, stop_at_first=i > 0)
            killed += ok and name != CONTROL
            props = sorted({p for _, p in failures})
            results[name][profile] = (ok, props)
            verdict = (
                ("FAILED" if ok else "PASSED")
                if name == CONTROL
                else ("KILLED" if ok else "SURVIVED")
            )
            print(f"{profile:8s} {verdict:8s} {name}: {', '.join(props)}", flush=True)
        summary.append((profile, killed, time.perf_counter() - start))
    return results, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", choices=sorted(SETS), default="spec",
                        help="spec: the spec-wrapping mutants (default); triton: source "
                        "mutants of the Triton kernels, on the triton target")  # fmt: skip
    parser.add_argument("--profiles", nargs="+", default=["quick", "ci"], choices=sorted(PROFILES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="the page to write (default: the set's page under docs/)")
    parser.add_argument("--check-patched", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--all-failures", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check-ops", nargs="+", default=CORE_OPS, help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if ns.check_patched:
        return _check_patched(ns.check_ops, ns.profiles[0], ns.seed, not ns.all_failures)
    mutants, default_out, about = SETS[ns.mutants]
    out = Path(ns.out or default_out)
    results, summary = _run_set(ns.mutants, ns.profiles, ns.seed)
    total = len(mutants)
    set_flag = "" if ns.mutants == "spec" else f" --mutants {ns.mutants}"
    lines = [
        "# Kill rate of the conformance suite"
        + ("" if ns.mutants == "spec" else f" on the {ns.mutants} target"),
        "",
        f"Generated by `python -m ndpool.conformance.tools.killrate{set_flag} "
        f"--profiles {' '.join(ns.profiles)} --seed {ns.seed}` (do not edit by hand).",
        "",
        about + " A mutant is *killed* when at least one property fails on an op it breaks. Every "
        "profile runs as `ndpool check --profile P` does: the edge corpus "
        "(docs/conformance/edges.md) first, then the profile's examples per op x property.",
        "",
    ]
    for profile, killed, secs in summary:
        lines.append(
            f"- **{profile}** ({PROFILES[profile]} examples per op x property): "
            f"**{killed}/{total} killed = {100 * killed / total:.0f}%** in {secs:.0f} s"
        )
    control = results.get(CONTROL)
    if control is not None:
        verdicts = ", ".join(
            f"{p}: {'FAILED (' + ', '.join(v[1]) + ')' if v[0] else 'passed'}"
            for p, v in control.items()
        )
        lines.append(f"- control (the kernels unchanged, every core op): {verdicts}")
    lines += ["", "| mutant | what is broken | " + " | ".join(ns.profiles) + " | killed by |"]
    lines.append("|---|---|" + "---|" * len(ns.profiles) + "---|")
    for name, mutant in mutants.items():
        cells = ["yes" if results[name][p][0] else "**no**" for p in ns.profiles]
        props = results[name][ns.profiles[0]][1]
        lines.append(
            f"| `{name}` | {mutant.description} | {' | '.join(cells)} | {', '.join(props)} |"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    for profile, killed, secs in summary:
        print(f"{profile}: kill rate {killed}/{total} in {secs:.0f} s")
    print(f"written to {out}")
    control_quiet = control is None or not any(v[0] for v in control.values())
    return 0 if control_quiet and all(k == total for _, k, _ in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
