"""Source mutants of the Triton path (ndpool.conformance.tools.triton_mutants): every patch
still applies to the current source, each changes exactly the file it names, and the
kill-rate machinery really runs the patched kernels -- a mutant is killed and the
unpatched copy passes the same checks. The full table is docs/conformance/kill-rate-triton.md
(``python -m ndpool.conformance.tools.killrate --mutants triton``)."""

from __future__ import annotations

import filecmp

import pytest

from ndpool.conformance.tools.killrate import kill_triton
from ndpool.conformance.tools.triton_mutants import (
    PACKAGES,
    TRITON_MUTANTS,
    package_root,
    patched_site,
    patched_source,
)
from ndpool.spec import OPS


@pytest.mark.parametrize("name", sorted(TRITON_MUTANTS))
def test_the_patch_applies_once_and_changes_the_source(name):
    mutant = TRITON_MUTANTS[name]
    package, _, rest = mutant.path.partition("/")
    original = (package_root(package) / rest).read_text()
    patched = patched_source(mutant)
    assert patched != original
    assert mutant.ops and all(op in OPS for op in mutant.ops)


def test_a_patch_that_no_longer_applies_is_an_error():
    from dataclasses import replace

    stale = replace(TRITON_MUTANTS["max-last-tie"], old="text that is not in the kernels")
    with pytest.raises(ValueError, match="occurs 0 times"):
        patched_source(stale)


def test_the_patched_copy_differs_in_one_file_only(tmp_path):
    mutant = TRITON_MUTANTS["avg-vjp-doubled"]
    site = patched_site(mutant, tmp_path)
    differing = []
    for package in PACKAGES:
        for path in package_root(package).rglob("*.py"):
            copy = site / "ndpool" / package / path.relative_to(package_root(package))
            if not filecmp.cmp(path, copy, shallow=False):
                differing.append(f"{package}/{path.relative_to(package_root(package))}")
    assert differing == [mutant.path]


@pytest.mark.parametrize("name", ["max-last-tie", "avg-vjp-doubled"])
def test_a_kernel_mutant_is_killed_and_the_unpatched_kernels_pass(name):
    """The same ops and profile: the mutant fails a property, the control does not (so
    the failure is the patch's, run from the patched copy)."""
    pytest.importorskip("triton")
    killed, failures = kill_triton(name, "quick", 0, stop_at_first=True)
    assert killed, f"{name} survived the quick profile on the triton target"
    op, _prop = next(iter(failures))
    assert op in TRITON_MUTANTS[name].ops
    clean, control = kill_triton(None, "quick", 0, stop_at_first=True, ops=(op,))
    assert not clean, f"the unpatched kernels failed {list(control)}"
