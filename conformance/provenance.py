"""What a report records of the software a run ran on: ndpool's version and, in a git
checkout, its commit; Python's version; and the versions of the packages the target is
made of (a built-in target's ``requires``; for a user's ``module:attribute``, the
distribution that installed the module, where one did).

``ndpool report merge`` refuses shards whose software differs (:mod:`.merge`): the shards
of one campaign can run on several machines and days apart, and a merge of shards of two
torch versions or two ndpool commits would be the verdict of no run at all.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

#: the folders of ndpool's packages in a source checkout (``git`` is asked whether they
#: hold changes that are not committed)
_PACKAGE_DIRS = ("spec", "impl", "conformance")


def software(target: str) -> dict[str, str]:
    """``{"ndpool": ..., "python": ..., package: version, ...}`` for a run of ``target``
    (a built-in name, ``name@opset`` or ``module:attribute``)."""
    owners = importlib.metadata.packages_distributions()
    out = {"ndpool": ndpool_version(), "python": platform.python_version()}
    for name in target_packages(target, owners):
        out[name] = _distribution_version(name, owners) or "not installed"
    return out


def ndpool_version() -> str:
    """The installed version, with the commit where ndpool runs from a git checkout
    (``0.1.0 (git 1a2b3c4d5e6f)``, ``+ changes`` where its packages' files differ from
    that commit)."""
    version = _distribution_version("ndpool", {}) or "unknown (not installed)"
    commit = _git_commit(Path(__file__).resolve().parent.parent)
    return f"{version} ({commit})" if commit else version


def target_packages(target: str, owners: dict[str, list[str]]) -> list[str]:
    """The import names of the packages ``target`` is made of (``owners``: the import
    names' distributions, :func:`importlib.metadata.packages_distributions`)."""
    from .targets import BUILTIN_TARGETS

    name = target.split("@", 1)[0]
    if name in BUILTIN_TARGETS:
        return list(BUILTIN_TARGETS[name].requires)
    top = target.partition(":")[0].split(".")[0]
    if not top or top == "ndpool":
        return []
    return [top] if owners.get(top) else []


def _distribution_version(name: str, owners: dict[str, list[str]]) -> str | None:
    for dist in owners.get(name, [name]):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _git_commit(root: Path) -> str | None:
    """``git <12 hex digits>`` (``+ changes`` where ndpool's package folders differ from
    it) when ``root`` is a git work tree holding them, else ``None``."""
    if not all((root / d).is_dir() for d in _PACKAGE_DIRS):
        return None

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != root:  # installed inside someone else's repository
        return None
    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return None
    changed = git("status", "--porcelain", "--", *_PACKAGE_DIRS)
    return f"git {commit}" + (" + changes" if changed else "")
