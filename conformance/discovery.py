"""Distinct failures: what tells one defect of a target from another, and the regions a
run excludes once a defect is found.

A property can fail for several reasons on one target (float16 not implemented, a wrong
value at a ``-inf`` window, a crash under dilation). Hypothesis shrinks every failure to
one minimal example, so the first defect found would hide the others until it is
registered. With discovery on (``ndpool check --discover``; the default of the thorough
profile) the runner records each failure's :class:`Finding` -- its *kind* (the failure's
title with the numbers taken out, a size per axis of any rank read as ``(N, …)``:
"forward: N of N elements differ from the spec", "vjp:
the target raised NotImplementedError: ...") and its *region* (the facts of
:data:`REGION_FACTS` the minimal example has) -- and searches again with the rest of the
budget; a later example whose failure has a found kind inside a found region is set aside
(not counted), so the next search can only end at a different defect.

A region is the conjunction of the facts the minimal example shows: Hypothesis shrinks a
failure towards the simplest input that still fails, so what is left (a NaN, a dilation,
padding, float16) is what the defect needs, or at least what its minimal example has.
A defect whose minimal examples differ in a fact (one dtype, then another) is listed once
per region; the list names each region, so a reader sees them side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .cases import Case
from .facts import FACTS

#: the facts that describe a failure's region: the value classes and geometry features
#: the defects of the built-in targets turn on (see the registries), each read off the
#: minimal example; a false or empty fact is left out of the region
REGION_FACTS = (
    "dtype",
    "broken_constraint",
    "nan_count_in_a_window",
    "nonfinite_input",
    "empty_window",
    "zero_window",
    "neg_inf_window",
    "pos_inf_max",
    "max_tie",
    "signed_zero_tie",
    "subnormal_input",
    "window_sum_out_of_range",
    "lp_zero_in_window",
    "lp_power_out_of_range",
    "dilated",
    "padded",
    "padded_after_first_axis",
    "ceil_mode",
    "partial_ceil_window",
    "padding_over_half_kernel",
    "input_shorter_than_kernel",
    "stride_past_int32",
    "empty_batch",
    "zero_channels",
    "empty_input",
    "return_indices",
)

#: facts that are part of a region even where they are falsy (the dtype always is, but
#: for a raise: :meth:`Finding.of`)
_ALWAYS = ("dtype",)

#: a number on its own (not the digits of a name such as float16, avg_pool3d or C10)
_NUMBER = re.compile(
    r"(?<![A-Za-z_\d])[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)(?![A-Za-z_\d])", re.IGNORECASE
)
#: a bracketed run of numbers once they are ``N`` (a size per axis: ``(N, N, N)``,
#: ``(N,)``), so one message of a different rank is the same kind
_NUMBERS = re.compile(r"([(\[])N(?:(?:, N)+,?|,)([)\]])")
#: a first line that says only where an error was raised (Keras wraps every error of a
#: layer's call in it), not what it was: the kind reads on to the next line
_WHERE_ONLY = re.compile(r"Exception encountered when calling ([\w.]+\.call\(\))\.?$")
#: terminal colours and TensorFlow's ``{{function_node …}}`` prefix of a kernel's error
_NOISE = re.compile(r"\x1b\[[\d;]*m|\{\{function_node [^}]*\}\}\s*")
#: the longest kind kept (a framework's error message can run for lines)
KIND_CHARS = 160


def failure_kind(message: str) -> str:
    """A failure's kind: its first line (and the next, where the first says only where an
    error was raised: :data:`_WHERE_ONLY`) with every number replaced by ``N``, and a
    bracketed run of them by ``N, …`` (so two examples of one defect, in any rank, have
    the same kind).

    >>> failure_kind("forward: 3 of 8 elements differ from the spec\\nconfiguration: ...")
    'forward: N of N elements differ from the spec'
    >>> failure_kind("vjp: the target raised RuntimeError: index 7 is out of bounds (size 4)")
    'vjp: the target raised RuntimeError: index N is out of bounds (size N)'
    >>> failure_kind("raised ValueError: window_dilation=(1, 1, 2) vs [1, 2]; (3,) (4)")
    'raised ValueError: window_dilation=(N, …) vs [N, …]; (N, …) (N)'

    A first line that only says where the error was raised reads on to the cause:

    >>> failure_kind("jvp: the target raised ValueError: Exception encountered when calling "
    ...     "MaxPooling1D.call().\\n\\n\\x1b[1m{{function_node a}} Negative dimension size\\x1b[0m")
    'jvp: the target raised ValueError: MaxPooling1D.call(): Negative dimension size'
    """
    lines = [_NOISE.sub("", line).strip() for line in message.strip().splitlines()]
    lines = [line for line in lines if line]
    first = lines[0] if lines else ""
    if _WHERE_ONLY.search(first) and len(lines) > 1:  # "… raised E: Layer.call(): cause"
        first = _WHERE_ONLY.sub(r"\1:", first) + " " + lines[1]
    return shorten(_NUMBERS.sub(r"\1N, …\2", _NUMBER.sub("N", first)))


def shorten(kind: str) -> str:
    """``kind`` cut to :data:`KIND_CHARS` at a word's end (a framework's message can run
    for lines; one of exactly that length is taken as cut already)."""
    if len(kind) < KIND_CHARS:
        return kind
    return kind[: kind.rfind(" ", 0, KIND_CHARS)].rstrip(" ,:;(") + " …"


def region_of(case: Case) -> dict[str, Any]:
    """The facts of :data:`REGION_FACTS` that ``case`` has (a fact that cannot be read on
    this case, e.g. a geometry fact of a deliberately broken one, is left out)."""
    region = {}
    for name in REGION_FACTS:
        try:
            value = FACTS[name](case)
        except Exception:  # a fact this op or this broken case has no answer for
            continue
        if name in _ALWAYS or (value not in (None, False, "0", 0)):
            region[name] = value
    return region


@dataclass
class Finding:
    """One distinct failure of a cell: its kind, its region and its minimal example's
    message (configuration, mismatches, reproducer)."""

    kind: str
    region: dict[str, Any]
    message: str
    #: the examples set aside because they failed in the same way inside the region
    absorbed: int = 0
    #: a raise's example's facts (its region is empty: the message tells it apart)
    seen: dict[str, Any] = field(default_factory=dict)
    #: a run with the registry set aside (``--unregistered``): the id of the entry that
    #: covers the minimal example, ``None`` for a failure no entry covers (a new one)
    entry: str | None = "?"
    #: the target crashed (or hung) the process on the example: the search that goes on
    #: sets its region aside before the target is called (:meth:`holds`)
    crash: bool = False

    @classmethod
    def of(cls, message: str, case: Case | None) -> Finding:
        """The finding of a failure's ``message`` on ``case``. A raise is told apart by
        its message alone (which names what failed: "avg_pool3d_out_frame not implemented
        for 'Half'"), so its region is empty and the facts of its example are kept as
        ``seen``; a wrong value is told apart by its kind and its region."""
        kind = failure_kind(message)
        facts = region_of(case) if case is not None else {}
        if " the target raised " in kind:
            return cls(kind, {}, message, seen=facts)
        return cls(kind, facts, message)

    def covers(self, kind: str, case: Case | None) -> bool:
        """A failure of ``kind`` on ``case`` is this finding again: the same kind, and
        ``case`` has every fact of the region (with the same value)."""
        return kind == self.kind and self.holds(case)

    def holds(self, case: Case | None) -> bool:
        """``case`` has every fact of the region (with the same value)."""
        if case is None:
            return False
        for name, want in self.region.items():
            try:
                if FACTS[name](case) != want:
                    return False
            except Exception:
                return False
        return True

    def describe(self) -> str:
        return f"{self.kind} [{where(self.to_json())}]"

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "region": {k: _plain(v) for k, v in self.region.items()},
            "seen": {k: _plain(v) for k, v in self.seen.items()},
            "absorbed": self.absorbed,
            "message": self.message,
            **({} if self.entry == "?" else {"entry": self.entry}),
            **({"crash": True} if self.crash else {}),
        }


def where(finding: dict) -> str:
    """A finding's region in words (a raise's: any input, and the facts it was seen on)."""
    if finding["region"]:
        return "region: " + ", ".join(f"{k}={v}" for k, v in finding["region"].items())
    seen = ", ".join(f"{k}={v}" for k, v in finding.get("seen", {}).items())
    return "any input" + (f"; seen on {seen}" if seen else "")


def _plain(v):
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def summary(findings: list[Finding]) -> str:
    """The message of a cell with several distinct failures: a numbered list of their kinds
    and regions, then each one's minimal example in full."""
    head = [f"{len(findings)} distinct failure(s) (discovery):"]
    head += [f"  [{i}] {f.describe()}" for i, f in enumerate(findings, 1)]
    body = [f"[{i}] {f.message.strip()}" for i, f in enumerate(findings, 1)]
    return "\n".join(head) + "\n\n" + "\n\n".join(body)
