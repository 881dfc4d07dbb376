"""What a report records of the software a run ran on (ndpool.conformance.provenance):
ndpool's version and commit, Python's, the target's packages' -- each checked against an
independent source (importlib.metadata, git, the packages' own __version__)."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess

import pytest

from ndpool.conformance import provenance

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_a_builtin_target_records_its_packages():
    torch = pytest.importorskip("torch")
    ran_on = provenance.software("torch-compile")
    assert ran_on["python"] == platform.python_version()
    assert ran_on["ndpool"].startswith(importlib.metadata.version("ndpool"))
    assert ran_on["torch"] == torch.__version__
    assert set(ran_on) == {"ndpool", "python", "torch"}


def test_a_users_target_records_the_distribution_of_its_module():
    hypothesis = pytest.importorskip("hypothesis")
    ran_on = provenance.software("hypothesis.strategies:anything")
    assert ran_on["hypothesis"] == hypothesis.__version__
    # a module no distribution installed (a file beside the tests) records no package
    assert set(provenance.software("campaign_targets:last_tie")) == {"ndpool", "python"}


def _git(cwd, *args):
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@needs_git
def test_the_commit_of_a_checkout_and_its_uncommitted_changes(tmp_path):
    root = tmp_path / "ndpool"
    for d in ("spec", "impl", "conformance"):
        (root / d).mkdir(parents=True)
        (root / d / "x.py").write_text("x = 1\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = _git(root, "rev-parse", "--short=12", "HEAD")
    assert provenance._git_commit(root) == f"git {head}"
    (root / "spec" / "x.py").write_text("x = 2\n")
    assert provenance._git_commit(root) == f"git {head} + changes"
    _git(root, "checkout", "-q", "--", "spec")
    (root / "conformance" / "new.py").write_text("")  # a new module is a change too
    assert provenance._git_commit(root) == f"git {head} + changes"
    # ndpool installed inside another repository (a venv in a project) is not that commit
    inner = root / "spec" / "site" / "ndpool"
    for d in ("spec", "impl", "conformance"):
        (inner / d).mkdir(parents=True)
    assert provenance._git_commit(inner) is None
    # not a checkout at all
    plain = tmp_path / "plain"
    for d in ("spec", "impl", "conformance"):
        (plain / d).mkdir(parents=True)
    assert provenance._git_commit(plain) is None
