"""The properties: each a named check of one target on one op, for one drawn example.

``PROPERTIES`` maps a property name to a :class:`Property`. ``availability`` says
whether a property can run at all (the op has a strategy, the target provides the
op and, where needed, its gradients, the property applies to the op);
``run_example`` draws one example with Hypothesis' ``data`` and checks it, raising
:class:`PropertyFailure` (an ``AssertionError``) whose message shows the
configuration, the first mismatches with their window cells, an ULP error
histogram where relevant, and a runnable reproducer. A failure inside the scope of
a registered known deviation is recorded as a hit instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from ndpool import spec

from .cases import Case, array_code, reproducer, to_dtype
from .deviations import Deviation, Registry, accepts
from .discovery import Finding, failure_kind
from .ops import OP_INFO
from .record import Invalid
from .strategies import DRAWN_FACTS, cases, rng_of, tangent_like
from .targets.base import NotProvided, OutputMismatch, Target
from .tolerances import Allowed, Windows, mismatches, ulp_histogram

MAX_LISTED = 5


class PropertyFailure(AssertionError):
    """A target broke a property; ``case`` is the configuration it broke it on."""

    def __init__(self, message: str, case: Case | None = None):
        super().__init__(message)
        self.case = case

    @property
    def kind(self) -> str:
        """What failed, without the numbers (:func:`~.discovery.failure_kind`)."""
        return failure_kind(str(self))


class SetAside(Exception):
    """A drawn example that does not count: it lies in a registered region (``entry``,
    excluded from the drawn examples) or failed as a defect found already (``finding``)."""

    def __init__(self, entry: Deviation | None = None, finding: Finding | None = None):
        super().__init__(entry.id if entry is not None else finding.kind)
        self.entry = entry
        self.finding = finding


class DeviationSkip(Exception):
    """The case lies in a ``skip = true`` known deviation: the target is not called."""

    def __init__(self, entry: Deviation):
        super().__init__(entry.id)
        self.entry = entry


@dataclass
class Run:
    """One property being checked on one target: what an example's check needs beyond
    the drawn data -- the target, the property's name and the known-deviations registry.

    A drawn example never enters a registered region: the strategies do not draw inside
    the regions they can see (:meth:`excluded_scopes`), and an example found inside one
    after it is drawn is set aside before the target is called (:class:`SetAside`: it
    does not count towards the profile's examples). A pinned example (a corpus edge, a
    breaker) is checked wherever it lies: inside a ``skip`` region it is not run, inside
    another registered region its failure is a hit of the entry. ``findings``: the
    distinct failures found so far in this cell (discovery), whose repeats are set aside.
    """

    target: Target
    prop: str
    registry: Registry
    #: a corpus edge (:mod:`.corpus`) that pins the case's cells and geometry
    edge: Any = None
    #: an ``invalid_config`` breaker that pins which constraint is broken (called eagerly)
    breaker: Invalid | None = None
    #: told ``(case, what, args)`` before every call of the target (``ndpool check``'s
    #: workers report the example running, for a crash or a hang)
    observer: Callable[[Case, str, tuple], None] | None = None
    findings: list[Finding] = field(default_factory=list)
    #: the cases a pinned example called the target on (to tell which registered regions
    #: it checked, :func:`run_example`)
    called: list[Case] = field(default_factory=list)

    @property
    def pinned(self) -> bool:
        return self.edge is not None or self.breaker is not None

    def excluded_scopes(self, op: str) -> list[dict]:
        """The scopes of the registered regions a drawn case of ``op`` must stay out of
        whose facts are all drawn before the values (:data:`~.strategies.DRAWN_FACTS`):
        the strategies prune those choices instead of drawing and discarding."""
        if self.pinned:
            return []
        return [
            e.scope
            for e in self.registry.entries
            if e.covers(self.prop, op) and set(e.scope) <= set(DRAWN_FACTS)
        ]

    def breakers(self, op: str) -> list[Invalid]:
        """The breakers a drawn ``invalid_config`` example may pick: every one of
        :func:`invalid_breakers` but those a registered region holds whole (a scope of
        ``broken_key`` / ``broken_constraint`` / ``broken_type`` alone that names the
        breaker's key, constraint and wrong value's type); a breaker whose constraint only
        the spec's error tells stays."""
        every = invalid_breakers(op, self.target)
        if self.pinned:
            return every
        named = {"broken_key", "broken_constraint", "broken_type"}
        scopes = [
            e.scope
            for e in self.registry.entries
            if e.covers(self.prop, op) and e.scope and set(e.scope) <= named
        ]

        def held(inv: Invalid) -> bool:
            facts = {
                "broken_key": inv.key,
                "broken_constraint": inv.constraint,
                "broken_type": inv.given,
            }
            return any(
                all(facts[k] is not None and accepts(w, facts[k]) for k, w in scope.items())
                for scope in scopes
            )

        return [inv for inv in every if not held(inv)]

    def observe(self, case: Case, what: str, args: tuple) -> None:
        if self.observer is not None:
            self.observer(case, what, args)

    def draw(self, data, op: str, ctx: dict | None = None) -> Case:
        """A case of ``op`` within the target's capabilities (``ctx`` steers it; a corpus
        ``edge`` pins it)."""
        ctx = {**(ctx or {}), "property": self.prop, "edge": self.edge}
        ctx["excluded"] = self.excluded_scopes(op)
        return data.draw(cases(OP_INFO[op], self.target.capabilities(op), ctx), label="case")

    def guard(self, case: Case) -> None:
        """Before the target is called: set a case aside (:class:`SetAside`) inside the
        region of a crash found already, and a drawn case inside a registered region; raise
        :class:`DeviationSkip` where a ``skip`` entry covers a pinned case."""
        for found in self.findings:  # a crash found already: never call it again
            if found.crash and found.holds(case):
                raise SetAside(finding=found)
        entry = self.registry.match(self.prop, case.op, case, skip_only=self.pinned)
        if entry is None:
            if self.pinned:
                self.called.append(case)
            return
        if self.pinned:
            raise DeviationSkip(entry)
        raise SetAside(entry=entry)

    def invoke(self, case: Case, what: str, fn, *args):
        """Call the target; an exception on a configuration the spec accepts fails."""
        self.guard(case)
        self.observe(case, what, args)
        try:
            return fn(*args)
        except NotProvided:
            raise
        except OutputMismatch as exc:
            raise PropertyFailure(
                f"{what}: {exc}\nconfiguration: {case.describe()}\nreproducer:\n"
                + _indent(reproducer(case, self.target.construct, _call_code(what, args))),
                case,
            ) from exc
        except Exception as exc:
            raise PropertyFailure(
                f"{what}: the target raised {type(exc).__name__}: {exc}\n"
                f"on a configuration the spec accepts: {case.describe()}\n"
                "reproducer:\n"
                + _indent(reproducer(case, self.target.construct, _call_code(what, args))),
                case,
            ) from exc


class SuiteError(RuntimeError):
    """The suite itself is wrong (e.g. a drawn 'invalid' configuration the spec accepts)."""


@dataclass(frozen=True)
class Property:
    name: str
    description: str
    check: Callable[[Run, str, st.DataObject], None]
    gradients: tuple[str, ...] = ()
    applies: Callable[[str, Target], str | None] = lambda op, target: None


# -- helpers -----------------------------------------------------------------------------
def _call_code(what: str, args) -> str:
    mode = _mode_arg(args[2] if len(args) > 2 else "default")
    if what.startswith("jvp") and len(args) > 1:
        tangents = ", ".join(array_code(t) for t in args[1])
        return f"tangents = ({tangents},)\nprint(target.jvp(case, tangents{mode}))"
    if what.startswith("vjp") and len(args) > 1:
        return f"cotangent = {array_code(args[1])}\nprint(target.vjp(case, cotangent{mode}))"
    return "print(target.forward(case))"


def _mode_arg(mode: str) -> str:
    """The reproducer's derivative-mode argument (none for the default)."""
    return "" if mode == "default" else f", mode={mode!r}"


def _derivative_mode(data, target: Target, case: Case, kind: str, refs) -> str:
    """One of the target's ways to form the derivative ``kind`` of the case, whose spec
    derivative is ``refs`` (arrays, or ``None`` for an input without one)."""
    finite = all(np.isfinite(r).all() for r in refs if r is not None)
    modes = target.derivative_modes(case, kind, finite)
    return data.draw(st.sampled_from(modes), label=f"{kind} mode") if len(modes) > 1 else modes[0]


def _fail(title: str, case: Case, target: Target, body: list[str], call: str):
    text = "\n".join(
        [
            title,
            f"configuration: {case.describe()}",
            *body,
            "reproducer:",
            _indent(reproducer(case, target.construct, call)),
        ]
    )
    raise PropertyFailure(text, case)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def plain(v) -> str:
    """A value as a reader writes it: ``3.0``, ``-0.0``, ``nan``, not ``np.float64(3.0)``."""
    return repr(v.item() if isinstance(v, np.generic | np.ndarray) and np.ndim(v) == 0 else v)


def _mismatch_lines(
    case, got, ref, allowed: Allowed, bad, windows: Windows | None, ref_name: str = "spec"
) -> list[str]:
    lines = []
    idxs = np.argwhere(bad)
    for idx in idxs[:MAX_LISTED]:
        t = tuple(int(i) for i in idx)
        lo, hi = allowed.lo[t], allowed.hi[t]
        rng = "exactly" if allowed.exact else f"allowed [{plain(lo)}, {plain(hi)}]"
        line = f"  at {t}: {ref_name} {plain(ref[t])}, target {plain(got[t])} ({rng})"
        if windows is not None and got.shape == ref.shape:
            bt = t if case.batched else (0, *t)
            if len(bt) == windows.w.ndim - 1:
                cells = windows.w[bt]
                real = windows.call.real[bt[2:]]
                shown = ["pad" if not r else repr(float(v)) for v, r in zip(cells, real)]
                line += f"; window cells [{', '.join(shown)}]"
        lines.append(line)
    if len(idxs) > MAX_LISTED:
        lines.append(f"  ... and {len(idxs) - MAX_LISTED} more")
    return lines


def _compare(title, case, target, got, ref, allowed, call, windows=None, ulps=True, against="spec"):
    """Fail unless ``got`` lies within ``allowed`` around ``ref`` (``against`` names where
    ``ref`` came from: the spec, or the target's own output for a metamorphic relation)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        _fail(
            f"{title}: shape {got.shape} from the target, {ref.shape} expected ({against})",
            case,
            target,
            [],
            call,
        )
    bad = mismatches(got, ref, allowed, case.dtype)
    if bad.any():
        ref_name = "spec" if against == "spec" else "expected"
        body = _mismatch_lines(case, got, ref, allowed, bad, windows, ref_name)
        if ulps and not allowed.exact:
            body.append(ulp_histogram(got, ref, case.dtype))
        _fail(
            f"{title}: {int(bad.sum())} of {bad.size} elements differ from the "
            + ("spec" if against == "spec" else f"expected value ({against})"),
            case,
            target,
            body,
            call,
        )


FORWARD_CALL = "print('target:', target.forward(case))\nprint('spec:  ', case.spec_forward())"


# -- forward and indices ------------------------------------------------------------------
def _windows(case: Case) -> Windows | None:
    """The case's windows for failure messages (None for a composition such as s3_pool)."""
    return Windows(case) if OP_INFO[case.op].shows_windows else None


def _selects(case: Case) -> bool:
    """The forward value is a selection of an input cell (compared exactly with itself)."""
    return OP_INFO[case.op].selects(case.cfg)


def check_forward(run: Run, op: str, data) -> None:
    target = run.target
    case = run.draw(data, op)
    ref = case.spec_forward()
    got = run.invoke(case, "forward", run.target.forward, case)
    allowed = OP_INFO[op].forward_allowed(case, ref)
    _compare("forward value", case, target, got, ref, allowed, FORWARD_CALL, _windows(case))


def check_indices(run: Run, op: str, data) -> None:
    target = run.target
    case = run.draw(data, op, {"return_indices": True})
    ref_y, ref_i = case.spec_forward()
    got = run.invoke(case, "forward with return_indices", run.target.forward, case)
    if not isinstance(got, tuple) or len(got) != 2:
        _fail("indices: the target did not return (values, indices)", case, target, [], "")
    got_y, got_i = got
    win = Windows(case)
    _compare(
        "indices (values)",
        case,
        target,
        got_y,
        ref_y,
        Allowed.radius(ref_y, 0, True),
        FORWARD_CALL,
        win,
    )
    got_i = np.asarray(got_i)
    exact = Allowed.radius(ref_i.astype(np.float64), 0, True)
    _compare(
        "indices",
        case,
        target,
        got_i.astype(np.float64),
        ref_i,
        exact,
        FORWARD_CALL,
        win,
        ulps=False,
    )


# -- derivatives ---------------------------------------------------------------------------
def _differentiable(target: Target, op: str) -> tuple[str, ...]:
    return target.capabilities(op).inputs_with_derivatives(op)


def _tangents(data, case: Case, diff) -> tuple[np.ndarray, ...]:
    """A tangent per differentiable input; zeros for the others (``None`` where the input
    itself is absent)."""
    return tuple(
        None
        if p is None
        else tangent_like(data.draw, p, case.dtype)
        if name in diff
        else np.zeros(np.shape(p))
        for name, p in zip(case.record.inputs, case.primals)
    )


def _note_scale(case: Case, *arrays) -> None:
    """Record the largest finite magnitude of the tangents / cotangent drawn for ``case``
    (``meta["derivative_scale"]``): a region's fact may need it (a power rule's
    ``p |x|^(p-1) t`` that leaves the dtype's range, :mod:`.facts`)."""
    given = [np.asarray(a, dtype=np.float64) for a in arrays if a is not None]
    finite = [np.abs(a[np.isfinite(a)]) for a in given]
    case.meta["derivative_scale"] = float(max((a.max() for a in finite if a.size), default=0))


def _grad_case(data, run: Run, op):
    info = OP_INFO[op]
    return run.draw(data, op, {"regimes": info.gradient_regimes, "finite_p": True})


def check_jvp(run: Run, op: str, data) -> None:
    target = run.target
    case = _grad_case(data, run, op)
    diff = _differentiable(target, op)
    tangents = _tangents(data, case, diff)
    _note_scale(case, tangents[0])
    with np.errstate(all="ignore"):
        ref_y, ref_dot = spec.jvp(op, case.primals, tangents, **case.cfg)
    mode = _derivative_mode(data, target, case, "jvp", [ref_dot])
    got_y, got_dot = run.invoke(case, "jvp", run.target.jvp, case, tangents, mode)
    call = (
        f"tangents = ({', '.join(array_code(t) for t in tangents)},)\n"
        "from ndpool import spec\n"
        f"print('target:', target.jvp(case, tangents{_mode_arg(mode)})[1])\n"
        "print('spec:  ', spec.jvp(case.op, case.primals, tangents, **case.cfg)[1])"
    )
    win = _windows(case)
    primal = OP_INFO[op].forward_allowed(case, ref_y)
    _compare("jvp (primal output)", case, target, got_y, ref_y, primal, call, win)
    allowed = OP_INFO[op].jvp_allowed(case, tangents, ref_dot, diff)
    _compare("jvp (tangent output)", case, target, got_dot, ref_dot, allowed, call, win)


def check_vjp(run: Run, op: str, data) -> None:
    target = run.target
    case = _grad_case(data, run, op)
    diff = _differentiable(target, op)
    ref_y = np.asarray(case.spec_forward())
    cot = tangent_like(data.draw, ref_y, case.dtype)
    _note_scale(case, cot)
    with np.errstate(all="ignore"):
        ref_bars = spec.vjp(op, case.primals, cot, **case.cfg)
    mode = _derivative_mode(data, target, case, "vjp", ref_bars)
    got_bars = run.invoke(case, "vjp", run.target.vjp, case, cot, mode)
    got_bars = tuple(got_bars) + (None,) * (len(case.primals) - len(tuple(got_bars)))
    call = (
        f"cotangent = {array_code(cot)}\n"
        "from ndpool import spec\n"
        f"print('target:', target.vjp(case, cotangent{_mode_arg(mode)}))\n"
        "print('spec:  ', spec.vjp(case.op, case.primals, cotangent, **case.cfg))"
    )
    allowed = OP_INFO[op].vjp_allowed(case, cot, ref_bars, diff)
    for name, got, ref, a in zip(case.record.inputs, got_bars, ref_bars, allowed):
        if a is None:
            continue
        if got is None:
            _fail(f"vjp: no cotangent for {name}", case, target, [], call)
        _compare(f"vjp (cotangent of {name})", case, target, got, ref, a, call)


def _dot0(t, b) -> np.ndarray:
    """``t * b`` with ``0 * anything = 0``."""
    t = np.asarray(t, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(t == 0, 0.0, t * b)


def check_adjoint(run: Run, op: str, data) -> None:
    target = run.target
    case = _grad_case(data, run, op)
    diff = _differentiable(target, op)
    tangents = _tangents(data, case, diff)
    ref_y = np.asarray(case.spec_forward())
    cot = tangent_like(data.draw, ref_y, case.dtype)
    _note_scale(case, tangents[0], cot)
    with np.errstate(all="ignore"):
        _, ref_dot = spec.jvp(op, case.primals, tangents, **case.cfg)
        ref_bars = spec.vjp(op, case.primals, cot, **case.cfg)
    jvp_mode = _derivative_mode(data, target, case, "jvp", [ref_dot])
    vjp_mode = _derivative_mode(data, target, case, "vjp", ref_bars)
    _, got_dot = run.invoke(case, "jvp", run.target.jvp, case, tangents, jvp_mode)
    got_bars = run.invoke(case, "vjp", run.target.vjp, case, cot, vjp_mode)
    with np.errstate(all="ignore"):
        # the spec's convention: a zero tangent contributes 0 even against a NaN partial
        lhs = float(np.sum(_dot0(cot, got_dot)))
        rhs = 0.0
        for name, t, b in zip(case.record.inputs, tangents, got_bars):
            if name in diff and b is not None and t is not None:
                rhs += float(np.sum(_dot0(t, b)))
        bound = OP_INFO[op].adjoint_bound(case, tangents, cot, diff, ref_dot, ref_bars)
    # the spec's derivatives in the target's dtype: NaN (undefined), or overflowing it
    spec_finite = np.isfinite(to_dtype(ref_dot, case.dtype)).all() and all(
        np.isfinite(to_dtype(b, case.dtype)).all()
        for name, b in zip(case.record.inputs, ref_bars)
        if name in diff and b is not None
    )
    if not spec_finite:
        return  # no identity to check where the derivative itself is not finite
    if not math.isfinite(bound):
        return  # the inner products overflow float64: the identity says nothing there
    if not abs(lhs - rhs) <= bound:
        call = (
            f"tangents = ({', '.join(array_code(t) for t in tangents)},)\n"
            f"cotangent = {array_code(cot)}\n"
            f"_, y_dot = target.jvp(case, tangents{_mode_arg(jvp_mode)})\n"
            f"bars = target.vjp(case, cotangent{_mode_arg(vjp_mode)})\n"
            "print(np.sum(y_dot * cotangent), sum(np.sum(t * b) for t, b in zip(tangents, bars)"
            " if b is not None))"
        )
        _fail(
            f"adjoint identity: <JVP(v), u> = {plain(lhs)} but <v, VJP(u)> = {plain(rhs)} "
            f"(difference {plain(abs(lhs - rhs))}, allowed {plain(bound)})",
            case,
            target,
            [],
            call,
        )


# -- shapes and invalid configurations -----------------------------------------------------
def check_output_shape(run: Run, op: str, data) -> None:
    target = run.target
    caps = target.capabilities(op)
    ret = spec.OPS[op].returns_indices and caps.return_indices
    ctx = {
        "regimes": ("grid",),
        "return_indices": ret,
        "batch": (0, 2) if caps.empty_batch else (1, 2),
    }
    case = run.draw(data, op, ctx)
    expected = spec.output_shape(op, case.x.shape, **case.cfg)
    got = run.invoke(case, "forward", run.target.forward, case)
    shapes = [np.shape(g) for g in got] if isinstance(got, tuple) else [np.shape(got)]
    for what, shape in zip(("values", "indices"), shapes):
        if tuple(shape) != tuple(expected):
            _fail(
                f"output shape ({what}): target {tuple(shape)}, spec.output_shape {expected}",
                case,
                target,
                [],
                "print(np.shape(target.forward(case)))\n"
                "from ndpool import spec\n"
                "print(spec.output_shape(case.op, case.x.shape, **case.cfg))",
            )


def _geometry_breakers(op: str, keys, caps) -> list[Invalid]:
    def breaker(cid, what, key, make):
        return Invalid(cid, what, key, make, geometry=True)

    adaptive = spec.OPS[op].adaptive
    out = [breaker("C1", "input rank below d + 1", "x", _break_rank)]
    out.append(breaker("C7", "a spatial extent of 0", "x", _break_extent))
    if adaptive:
        out.append(breaker("C9", "output_size with 0", "output_size", _break_output_size))
        return out
    out.append(
        breaker("C2", "kernel_size with 0 or < 0", "kernel_size", _break_positive("kernel_size"))
    )
    if "stride" in keys:
        out.append(breaker("C3", "stride with 0 or < 0", "stride", _break_positive("stride")))
    if "dilation" in keys:
        out.append(breaker("C4", "dilation 0", "dilation", _break_positive("dilation")))
    if "padding" in keys and "ints" in caps.padding_forms:
        out.append(breaker("C5", "negative padding", "padding", _break_negative_padding))
    out.append(breaker("C8", "input shorter than the kernel", "kernel_size", _break_short))
    return out


#: values of the wrong type, by what the keyword or input holds (``(what, value)``)
WRONG_SIZES = (("a float", 2.0), ("a string", "2"), ("a bool", True), ("a complex", 2 + 0j))
WRONG_PADDINGS = (
    ("a float", 1.0),
    ("a string", "1"),
    ("a bool", True),
    ("an unknown mode", "full"),
)
WRONG_FLAGS = (("a string", "no"), ("an int", 1), ("None", None), ("the string 'False'", "False"))
WRONG_REALS = (
    ("a string", "2"),
    ("a complex", 2 + 1j),
    ("a bool", True),
    ("a list of strings", ["2"]),
)
SIZE_KEYS = ("kernel_size", "stride", "dilation", "output_size", "grid_size")


def _set(key: str, value):
    return lambda draw, caps, channels: {key: value}


def _wrong_type(name: str, slot: str, what: str, value) -> Invalid:
    """The breaker that passes ``value`` (of the wrong type) as ``name`` (in ``slot``: the
    keyword, or ``paramN``)."""
    return Invalid(
        None, f"{name}={value!r} ({what})", name, _set(slot, value), given=type(value).__name__
    )


def type_breakers(op: str, caps) -> list[Invalid]:
    """A value of the wrong type for every keyword and parameter of ``op`` the target
    declares: sizes given as floats, strings, bools or complex numbers, flags given as
    strings, ints or None, enumerated options given as other types, real parameters given
    as strings, complex numbers, bools, ``None``. The spec names the constraint."""
    record = spec.OPS[op]
    keys = caps.keys(op)
    out = []
    for key in keys:
        option = next((o for o in record.options if o.name == key), None)
        if key in SIZE_KEYS:
            wrong = WRONG_SIZES
        elif key == "padding":
            wrong = WRONG_PADDINGS
        elif key == "ceil_mode" or (option is not None and option.flag):
            wrong = WRONG_FLAGS
        elif option is not None and option.values is not None and not option.convention:
            wrong = (("an int", 1), ("None", None), ("bytes", str(option.default).encode()))
        elif key == "divisor_override":
            wrong = (("a float", 2.0), ("a string", "2"), ("a bool", True))
        else:
            continue
        out += [_wrong_type(key, key, what, v) for what, v in wrong]
    if record.returns_indices and caps.return_indices:
        out += [
            _wrong_type("return_indices", "return_indices", what, v) for what, v in WRONG_FLAGS[:2]
        ]
    for i, s in enumerate(record.input_specs[1:]):
        if s.kind not in ("channel", "window"):
            continue
        wrong = WRONG_REALS + ((("None", None),) if not s.optional else ())
        out += [_wrong_type(s.name, f"param{i}", what, v) for what, v in wrong]
    return out


def _spatial(case: Case) -> tuple[int, ...]:
    return case.x.shape[-case.d :]


def _size_tuple(case: Case, key: str) -> list:
    v = case.cfg.get(key)
    return list(v) if isinstance(v, (tuple, list)) else [v] * case.d


def _break_rank(data, case: Case) -> Case:
    key = "output_size" if case.record.adaptive else "kernel_size"
    cfg = dict(case.cfg, **{key: tuple(_size_tuple(case, key))})
    x = case.x.reshape(-1)[: int(np.prod(_spatial(case)))].reshape(_spatial(case))
    return case.with_x(x, cfg=cfg, batched=False, meta={**case.meta, "rank_broken": True})


def _break_extent(data, case: Case) -> Case:
    a = data.draw(st.integers(0, case.d - 1), label="axis")
    shape = list(case.x.shape)
    shape[len(shape) - case.d + a] = 0
    return case.with_x(np.zeros(shape))


def _break_output_size(data, case: Case) -> Case:
    sizes = _size_tuple(case, "output_size")
    a = data.draw(st.integers(0, case.d - 1), label="axis")
    sizes[a] = data.draw(st.sampled_from((0, -1)), label="bad size")
    return case.with_x(case.x, cfg=dict(case.cfg, output_size=tuple(sizes)))


def _break_positive(key: str):
    def make(data, case: Case) -> Case:
        vals = (
            _size_tuple(case, key)
            if case.cfg.get(key) is not None
            else _size_tuple(case, "kernel_size")
        )
        if key == "dilation" and case.cfg.get(key) is None:
            vals = [1] * case.d
        a = data.draw(st.integers(0, case.d - 1), label="axis")
        vals[a] = data.draw(st.sampled_from((0, -1)), label="bad value")
        return case.with_x(case.x, cfg=dict(case.cfg, **{key: tuple(vals)}))

    return make


def _pads(case: Case) -> list[int]:
    p = case.cfg.get("padding", 0)
    if isinstance(p, int):
        return [p] * case.d
    if isinstance(p, str) or any(isinstance(v, (tuple, list)) for v in p):
        return [0] * case.d
    return list(p)


def _break_negative_padding(data, case: Case) -> Case:
    pads = _pads(case)
    a = data.draw(st.integers(0, case.d - 1), label="axis")
    pads[a] = -1
    return case.with_x(case.x, cfg=dict(case.cfg, padding=tuple(pads)))


def _break_short(data, case: Case) -> Case:
    a = data.draw(st.integers(0, case.d - 1), label="axis")
    kernel = _size_tuple(case, "kernel_size")
    kernel[a] = 3
    cfg = dict(case.cfg, kernel_size=tuple(kernel), ceil_mode=False)
    if "padding" in cfg:
        cfg["padding"] = 0
    if "stride" in cfg:
        cfg["stride"] = 1
    if "dilation" in cfg:
        cfg["dilation"] = 1
    shape = list(case.x.shape)
    shape[len(shape) - case.d + a] = 1
    cfg = {k: v for k, v in cfg.items() if k in case.cfg or k == "kernel_size"}
    return case.with_x(np.zeros(shape), cfg=cfg)


def _apply_op_breaker(inv: Invalid, data, case: Case) -> Case:
    """Apply an op's breaker: ``paramN`` replaces input ``N`` after x, ``x`` the input,
    anything else a config key; a callable value is applied to the current one."""
    changes = inv.make(data.draw, None, case.x.shape[1 if case.batched else 0])
    params = list(case.params)
    cfg = dict(case.cfg)
    x = case.x
    for key, value in changes.items():
        if key.startswith("param"):
            i = int(key[5:])
            params[i] = value(params[i]) if callable(value) else value
        elif key == "x":
            x = value(x) if callable(value) else value
        else:
            cfg[key] = value
    return case.with_x(x, params=tuple(params), cfg=cfg)


def invalid_breakers(op: str, target: Target) -> list[Invalid]:
    """Every way the suite breaks ``op`` within what ``target`` declares: the geometry's
    constraints, the op's own (its record), and wrong types (:func:`type_breakers`)."""
    caps = target.capabilities(op)
    keys = caps.keys(op)
    out = _geometry_breakers(op, keys, caps)
    inputs = spec.OPS[op].inputs
    typed = () if caps.typed_config else tuple(type_breakers(op, caps))
    for inv in OP_INFO[op].invalid + typed:
        if inv.key in ("per_channel", "per_position"):
            ok = inv.key in caps.param_forms
        elif inv.key == "values":  # the input's values (e.g. a negative cell): always
            ok = True
        elif inv.key == "return_indices":  # (only drawn where the target declares indices)
            ok = True
        else:
            ok = inv.key in keys or inv.key in inputs
        if ok:
            out.append(inv)
    return out


def check_invalid_config(run: Run, op: str, data) -> None:
    target = run.target
    caps = target.capabilities(op)
    breakers = [] if run.breaker else run.breakers(op)
    if not (run.breaker or breakers):
        reject()  # every breaker lies in a registered region
    inv = run.breaker or data.draw(st.sampled_from(breakers), label="constraint to break")
    ctx = {"regimes": ("grid",), "batch": (1, 2), "batched": (True,)}
    base = run.draw(data, op, ctx)
    if run.registry.match("forward", op, base) is not None:
        # the valid case the breaker starts from lies in a registered forward deviation (a
        # dtype or rank the target lacks): its error there would come from that, not from
        # the broken constraint, and pass for a rejection. Draw another.
        reject()
    case = inv.make(data, base) if inv.geometry else _apply_op_breaker(inv, data, base)
    case.meta["broken_constraint"] = inv.constraint
    try:
        with np.errstate(all="ignore"):
            spec.OPS[op].function(*case.primals, **case.cfg)
    except spec.ConstraintError as exc:
        spec_error = exc
    else:
        raise SuiteError(f"the suite drew {inv.what} but the spec accepts {case.describe()}")
    if inv.constraint not in (None, spec_error.constraint):
        raise SuiteError(
            f"the suite drew {inv.constraint} ({inv.what}) but the spec says {spec_error}"
        )
    case.meta["broken_constraint"] = spec_error.constraint
    case.meta["broken_key"] = inv.key
    case.meta["broken_type"] = inv.given
    run.guard(case)
    modes = ("eager",) if run.breaker else target.call_modes(op)
    mode = data.draw(st.sampled_from(modes), label="call mode")
    call = f"target.forward_in(case, {mode!r})"
    run.observe(case, f"forward ({mode})", (case,))
    try:
        got = target.forward_in(case, mode)
    except NotProvided:
        raise
    except OutputMismatch:
        got = None  # an output of the wrong kind: accepted, and not the spec's error
    except Exception as exc:
        if caps.error_ids and not str(exc).startswith(f"{spec_error.constraint}:"):
            _fail(
                f"invalid configuration ({inv.what}; {mode}): rejected, but the message does not "
                f"start with {spec_error.constraint}: {type(exc).__name__}: {exc}",
                case,
                target,
                [f"spec: {spec_error}"],
                call,
            )
        return
    shown = "" if got is None else np.asarray(got[0] if isinstance(got, tuple) else got).ravel()[:8]
    _fail(
        f"invalid configuration accepted ({inv.what}; {mode}): the spec raises '{spec_error}', "
        "the target returned a value",
        case,
        target,
        [f"target output: {shown}"],
        f"{call}  # the spec raises {type(spec_error).__name__}",
    )


# -- metamorphic -----------------------------------------------------------------------------
def _values(out):
    return out[0] if isinstance(out, tuple) else out


def _own_forward(run: Run, case: Case, relation: str) -> np.ndarray:
    """The target's forward values for a metamorphic relation, after checking their shape
    against the spec's shape function: the relation compares the target with itself, so a
    wrong-shape output must fail here, before any tolerance is shaped after it."""
    out = run.invoke(case, "forward", run.target.forward, case)
    y = np.asarray(_values(out), dtype=np.float64)
    want = tuple(spec.output_shape(case.op, case.x.shape, **case.cfg))
    if y.shape != want:
        _fail(
            f"{relation}: shape {y.shape} from the target, {want} expected (spec.output_shape)",
            case,
            run.target,
            [],
            "print(np.shape(target.forward(case)))",
        )
    return y


def check_permutation(run: Run, op: str, data) -> None:
    target = run.target
    ctx = {"batch": (2, 3), "channels": (2, 3), "batched": (True,)}
    case = run.draw(data, op, ctx)
    rng = rng_of(data.draw)
    pn = rng.permutation(case.x.shape[0])
    pc = rng.permutation(case.x.shape[1])
    params = tuple(
        _permute_input(p, s.kind, pn, pc) for p, s in zip(case.params, case.record.input_specs[1:])
    )
    moved = case.with_x(case.x[pn][:, pc], params=params)
    y = _own_forward(run, case, "permutation equivariance")
    y2 = _own_forward(run, moved, "permutation equivariance")
    expected = y[pn][:, pc]
    call = (
        f"pn, pc = {pn.tolist()!r}, {pc.tolist()!r}\n"
        "moved = Case(**{**case.__dict__, 'x': case.x[pn][:, pc]})\n"
        "print(np.asarray(target.forward(case))[pn][:, pc] - target.forward(moved))"
    )
    if _selects(case):
        allowed = Allowed.radius(expected, 0, True)
    else:  # each plane within its bound: positions may take different (vectorized) paths
        bound = OP_INFO[op].forward_allowed(moved, moved.spec_forward()).radius_of
        allowed = Allowed.radius(expected, 2 * bound)
    _compare(
        f"permutation equivariance (batch order {pn.tolist()}, channel order {pc.tolist()})",
        case,
        target,
        y2,
        expected,
        allowed,
        call,
        against="the target's own output, permuted",
    )


def _permute_input(p, kind: str, pn, pc):
    """An input after x under the batch / channel permutation: per-channel parameters
    follow the channels, draws (``[N, C, *O(, K)]``) follow both, per-layer parameters
    (``()``, ``[K]``) and index inputs (shared by every plane) stay."""
    if p is None or kind == "index":
        return p
    if kind in ("output", "cell"):
        return p[pn][:, pc]
    if kind == "window":
        return p[pc] if np.ndim(p) == 2 else p
    return p[pc] if np.ndim(p) else p  # channel, position: [C] or [C, *O]


def _shifted_input(p, kind: str, d: int, a: int, t: int):
    """An input after x under a shift of the outputs by ``t`` on spatial axis ``a``: draws
    (``[N, C, *O(, K)]``) and per-position parameters (``[C, *O]``) drop their first ``t``
    positions there; the others stay."""
    if p is None or not (kind in ("output", "cell") or (kind == "position" and np.ndim(p) > 1)):
        return p
    ax = np.ndim(p) - d - (kind == "cell") + a
    return np.take(p, np.arange(t, p.shape[ax]), axis=ax)


def check_translation(run: Run, op: str, data) -> None:
    target = run.target
    ctx = {"no_padding": True, "no_ceil": True, "translate": True}
    case = run.draw(data, op, ctx)
    a, t, s = case.meta["translate_axis"], case.meta["translate_by"], case.meta["stride"]
    ax = case.x.ndim - case.d + a
    # inputs per output position shift with the outputs (the first t are dropped)
    params = tuple(
        _shifted_input(p, s.kind, case.d, a, t)
        for p, s in zip(case.params, case.record.input_specs[1:])
    )
    shifted = case.with_x(
        np.take(case.x, np.arange(t * s, case.x.shape[ax]), axis=ax), params=params
    )
    y = _own_forward(run, case, "translation equivariance")
    y2 = _own_forward(run, shifted, "translation equivariance")
    expected = np.take(y, np.arange(t, y.shape[ax]), axis=ax)
    exact = _selects(case)
    if exact:
        allowed = Allowed.radius(expected, 0, True)
    else:
        b1 = OP_INFO[op].forward_allowed(shifted, shifted.spec_forward()).radius_of
        allowed = Allowed.radius(expected, 2 * b1)
    call = (
        f"shifted = Case(**{{**case.__dict__, 'x': np.take(case.x, np.arange({t * s}, "
        f"case.x.shape[{ax}]), axis={ax})}})\n"
        "y = target.forward(case)\n"
        f"print(np.take(y, range({t}, y.shape[{ax}]), axis={ax}) - target.forward(shifted))"
    )
    _compare(
        f"translation equivariance (shift by {t} stride(s) of {s} on spatial axis {a})",
        case,
        target,
        y2,
        expected,
        allowed,
        call,
        against="the target's own output, shifted",
    )


def check_monotonicity(run: Run, op: str, data) -> None:
    target = run.target
    ctx = {"regimes": ("grid", "floats", "neg_inf", "zeros")}
    case = run.draw(data, op, ctx)
    rng = rng_of(data.draw)
    delta = rng.integers(0, 3, size=case.x.shape).astype(np.float64)
    bigger = case.with_x(to_dtype(case.x + delta, case.dtype))
    y = _own_forward(run, case, "monotonicity")
    y2 = _own_forward(run, bigger, "monotonicity")
    slack = 0.0
    if OP_INFO[op].monotone_slack and not _selects(case):
        # monotone in exact arithmetic; each evaluation may round by its forward bound
        slack = (
            OP_INFO[op].forward_allowed(case, case.spec_forward()).radius_of
            + OP_INFO[op].forward_allowed(bigger, bigger.spec_forward()).radius_of
        )
    with np.errstate(invalid="ignore"):
        bad = ~((y2 >= y - slack) | (np.isnan(y) & np.isnan(y2)))
    if bad.any():
        idx = [tuple(int(i) for i in j) for j in np.argwhere(bad)[:MAX_LISTED]]
        _fail(
            f"monotonicity: x <= x' elementwise but f(x') < f(x) at {len(np.argwhere(bad))} "
            "elements",
            case,
            target,
            [f"  at {i}: f(x) = {plain(y[i])}, f(x') = {plain(y2[i])}" for i in idx],
            f"delta = {array_code(delta)}\n"
            "bigger = Case(**{**case.__dict__, 'x': case.x + delta})\n"
            "print(target.forward(bigger) - target.forward(case))",
        )


def check_scaling(run: Run, op: str, data) -> None:
    target = run.target
    ctx = {"regimes": ("grid", "floats")}
    case = run.draw(data, op, ctx)
    alpha = data.draw(st.sampled_from((2.0, 4.0)), label="alpha")
    info = OP_INFO[op]
    scaled = case.with_x(case.x * alpha, params=tuple(info.scale_params(case.params, alpha)))
    y = _own_forward(run, case, "positive scaling")
    y2 = _own_forward(run, scaled, "positive scaling")
    expected = alpha * y
    if _selects(case):
        allowed = Allowed.radius(expected, 0, True)
    else:
        b = OP_INFO[op].forward_allowed(case, case.spec_forward()).radius_of
        b2 = OP_INFO[op].forward_allowed(scaled, scaled.spec_forward()).radius_of
        allowed = Allowed.radius(expected, alpha * b + b2)
    params = ", ".join(array_code(p) for p in scaled.params)
    call = (
        f"scaled = Case(**{{**case.__dict__, 'x': case.x * {alpha}, "
        f"'params': ({params}{',' if len(scaled.params) == 1 else ''})}})\n"
        f"print(target.forward(scaled) - {alpha} * target.forward(case))"
    )
    _compare(
        f"positive scaling (alpha = {alpha})",
        case,
        target,
        y2,
        expected,
        allowed,
        call,
        against=f"{alpha} x the target's own output",
    )


# -- the registry ---------------------------------------------------------------------------------
def _needs_indices(op: str, target: Target) -> str | None:
    if not spec.OPS[op].returns_indices:
        return "the op has no indices"
    if not target.capabilities(op).return_indices:
        return "not provided: the target declares no return_indices"
    return None


def _sliding(op: str, target: Target) -> str | None:
    if spec.OPS[op].adaptive or not OP_INFO[op].translation:
        return "translation equivariance holds for sliding windows only"
    return None


def _monotone(op: str, target: Target) -> str | None:
    return None if OP_INFO[op].monotone else "the op is not monotone"


def _scales(op: str, target: Target) -> str | None:
    return None if OP_INFO[op].scale_params is not None else "no scaling relation"


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property("forward", "forward value against the spec", check_forward),
        Property(
            "indices", "values and indices against the spec", check_indices, applies=_needs_indices
        ),
        Property("jvp", "JVP against the spec's", check_jvp, gradients=("jvp",)),
        Property("vjp", "VJP against the spec's", check_vjp, gradients=("vjp",)),
        Property(
            "adjoint",
            "<JVP(v), u> = <v, VJP(u)> on the target alone",
            check_adjoint,
            gradients=("jvp", "vjp"),
        ),
        Property("output_shape", "output shape against spec.output_shape", check_output_shape),
        Property(
            "invalid_config",
            "rejects what the spec rejects: broken constraints and wrong types",
            check_invalid_config,
        ),
        Property(
            "permutation_equivariance", "batch/channel permutations commute", check_permutation
        ),
        Property(
            "translation_equivariance",
            "interior windows shift with the input",
            check_translation,
            applies=_sliding,
        ),
        Property(
            "monotonicity", "x <= x' implies f(x) <= f(x')", check_monotonicity, applies=_monotone
        ),
        Property(
            "positive_scaling",
            "f(alpha x) = alpha f(x) for alpha > 0",
            check_scaling,
            applies=_scales,
        ),
    )
}


def availability(target: Target, op: str, prop: str) -> tuple[str, str] | None:
    """``None`` if the property can run, else ``(status, reason)``; status is one of
    ``"no strategy"``, ``"not provided"``, ``"n/a"``."""
    if op not in OP_INFO:
        return "no strategy", f"no strategy for op {op!r} (add its record to conformance/ops)"
    if not target.provides(op):
        return "not provided", f"not provided: target {target.name!r} has no {op}"
    p = PROPERTIES[prop]
    for kind in p.gradients:
        if not target.provides_gradient(op, kind):
            return "not provided", f"not provided: target {target.name!r} has no {kind} for {op}"
    reason = p.applies(op, target)
    if reason:
        status = "not provided" if reason.startswith("not provided") else "n/a"
        return status, reason
    return None


def run_example(run: Run, op: str, data) -> None:
    """Draw and check one example of ``run.prop`` on ``op``. A pinned example's failure
    inside a known deviation (and a skipped pin) is recorded as a hit of its entry; a
    drawn example inside a registered region, or failing as a defect found already in
    this cell, raises :class:`SetAside` (counted by the caller, not by the budget)."""
    run.called.clear()
    try:
        PROPERTIES[run.prop].check(run, op, data)
        if run.pinned:  # a pin that checked a registered region and conformed there
            entries = (run.registry.match(run.prop, op, case) for case in run.called)
            for entry_id in {e.id for e in entries if e is not None}:
                run.registry.clean[entry_id] += 1
    except DeviationSkip as skipped:
        run.registry.hit(skipped.entry)
    except PropertyFailure as failure:
        entry = failure.case is not None and run.registry.match(run.prop, op, failure.case)
        if entry:
            if not run.pinned:  # a derived case (a permuted or shifted one) in a region
                raise SetAside(entry=entry) from None
            run.registry.hit(entry)
            return
        kind = failure.kind
        for found in run.findings:
            if found.covers(kind, failure.case):
                raise SetAside(finding=found) from None
        raise
