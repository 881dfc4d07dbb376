"""Generate docs/frameworks.md, "Pooling semantics across frameworks", by running probes.

    python -m ndpool.conformance.tools.frameworks_page docs/frameworks.md
    python -m ndpool.conformance.tools.frameworks_page --discovery [--commit REV] REPORT.json

The second form keeps the distinct failures of a discovery run (``ndpool check --discover
--unregistered --report REPORT.json``; several reports may follow) in
``docs/frameworks/discovery/<target>.json`` (kinds, regions, registry entries; not the
counterexamples; ``--commit``: the ndpool commit the run was made on, which the page
names), which the page's "Distinct failures" section lists.

Every row is a convention, every column a target; a cell is what the target returned on
the row's probe (a tiny input, through the same :class:`~ndpool.conformance.targets.Target`
adapters the suite checks), marked ✓ where it equals the spec's result and ✗ where it
does not, with a link to the reproducer of the registered deviation behind a ✗. Where the
row's convention is a named spec option that the target's adapter declares (a
``[[convention]]`` of its registry), the spec runs with that value and the cell says
"convention: option='value'", linked to the script that shows it.
Configurations a target cannot express (its declared capabilities) say so instead.
``tests/conformance/test_conformance_frameworks_page.py`` regenerates the page and fails
when the checked-in one is stale.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ndpool import spec

from ..cases import Case
from ..deviations import Registry, tomllib
from ..discovery import REGION_FACTS, failure_kind, shorten, where
from ..runner import DISCOVER_BY_DEFAULT
from ..targets import NotProvided, load_target
from ..targets.base import DEVIATIONS_DIR

DOCS = Path(__file__).resolve().parents[2] / "docs"  # conformance/tools/ -> the repository
COLUMNS = (
    "ndpool.impl",
    "torch",
    "torch-compile",
    "onnxruntime",
    "onnx-reference",
    "jax",
    "tensorflow",
    "keras-tensorflow",
    "keras-jax",
    "keras-torch",
    "openvino",
    "tinygrad",
    "mlx",
)
#: the modules whose versions the page names (the frameworks of :data:`COLUMNS`)
FRAMEWORKS = (
    "torch",
    "onnx",
    "onnxruntime",
    "jax",
    "tensorflow",
    "keras",
    "openvino",
    "tinygrad",
    "mlx",
)
REPRO_DIR = "frameworks/repro"  # relative to docs/
DISCOVERY_DIR = "frameworks/discovery"  # relative to docs/
COMMAND = "python -m ndpool.conformance.tools.frameworks_page docs/frameworks.md"
NEG_INF = -np.inf


@dataclass
class Probe:
    """One convention: ``op(x, *params, **cfg)``; ``show`` is what the cell reports."""

    id: str
    title: str
    note: str
    op: str
    x: list
    cfg: dict[str, Any]
    params: tuple = ()
    show: str = "value"  # value | shape | indices | jvp | vjp | rejects
    cotangent: list | None = None
    tangent: list | None = None
    #: an option whose value the target picks (the first its capabilities allow)
    variants: dict[str, tuple] = field(default_factory=dict)
    #: convention options (``targets.CONVENTION_OPTIONS``): a target runs with the value
    #: its adapter declares (``option_values``), else with the spec's default
    conventions: tuple[str, ...] = ()
    #: target -> reproducer (file name under docs/frameworks/repro/) for its ✗, or the
    #: script that shows the convention its adapter declares
    repro: dict[str, str] = field(default_factory=dict)


#: the conventions the page probes, one ``[[probe]]`` table each (data, not code)
PROBES_FILE = Path(__file__).with_name("probes.toml")
#: the registered deviations worth reporting upstream, one ``[[finding]]`` each
FINDINGS_FILE = Path(__file__).with_name("findings.toml")


def load_probes(path: Path = PROBES_FILE) -> tuple[Probe, ...]:
    """The :class:`Probe` records of ``path``: TOML arrays read back as the tuples the
    fields hold, absent fields at their defaults."""
    with open(path, "rb") as f:
        entries = tomllib.load(f)["probe"]
    probes = []
    for entry in entries:
        fields = dict(entry)
        fields["params"] = tuple(fields.get("params", ()))
        fields["conventions"] = tuple(fields.get("conventions", ()))
        fields["variants"] = {k: tuple(v) for k, v in fields.get("variants", {}).items()}
        probes.append(Probe(**fields))
    return tuple(probes)


# -- running a probe on a target ------------------------------------------------------
def _fmt_num(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "−inf" if v < 0 else "inf"
    if v == 0:
        return "−0" if np.signbit(v) else "0"
    return f"{v:.4g}".replace("-", "−")


def _fmt(a) -> str:
    a = np.asarray(a)
    flat = a.reshape(-1)
    if a.dtype.kind in "iu":
        return "[" + ", ".join(str(int(v)) for v in flat) + "]"
    return "[" + ", ".join(_fmt_num(float(v)) for v in flat) + "]"


def _same(got, want) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    both_nan = np.isnan(got) & np.isnan(want)
    close = np.isclose(got, want, rtol=1e-6, atol=0) & (np.signbit(got) == np.signbit(want))
    return bool((both_nan | close).all())


def _unavailable(target, probe: Probe, cfg: dict) -> str | None:
    if not target.provides(probe.op):
        return "not provided"
    caps = target.capabilities(probe.op)
    keys = caps.keys(probe.op)
    defaults = spec.OPS[probe.op].config_defaults
    for k, v in cfg.items():
        if k not in keys and v != defaults.get(k):
            return f"no {k}"
    for k, v in cfg.items():
        allowed = caps.option_values.get(k)
        if allowed is not None and k not in probe.conventions and v not in allowed:
            return f"no {k}={v!r}"
    p = cfg.get("padding", 0)
    form = p if isinstance(p, str) else _padding_form(p)
    if form not in caps.padding_forms and p != defaults.get("padding"):
        return f"no padding={p!r}"
    if (
        caps.padding_limit == "half_kernel"
        and "kernel_size" in cfg
        and _past_half_kernel(probe, cfg)
    ):
        return "padding past its limit C6"
    if probe.show in ("indices",) and not caps.return_indices:
        return "no indices"
    if probe.show in ("jvp", "vjp") and probe.show not in caps.gradients:
        return f"no {probe.show.upper()}"
    return None


def _padding_form(p) -> str:
    """The :data:`~..targets.base.ALL_PADDING_FORMS` name of a padding that is no string."""
    if isinstance(p, int):
        return "int"
    return "pairs" if any(isinstance(e, (list, tuple)) for e in p) else "ints"


def _past_half_kernel(probe: Probe, cfg: dict) -> bool:
    """Whether the probe's padding passes C6 (half the effective kernel, on any axis)."""
    x = np.asarray(probe.x)
    spatial = x.shape[-1:] if x.ndim <= 2 else x.shape[2:]
    d = len(spatial)
    kernel = spec.geometry.per_axis(cfg["kernel_size"], d, "kernel_size", "C2")
    dilation = spec.geometry.per_axis(cfg.get("dilation", 1), d, "dilation", "C4")
    stride = spec.geometry.per_axis(cfg.get("stride") or kernel, d, "stride", "C3")
    pads = spec.geometry.resolve_padding(cfg.get("padding", 0), spatial, kernel, stride, dilation)
    half = [(dl * (k - 1) + 1) // 2 for k, dl in zip(kernel, dilation)]
    return any(max(pair) > h for pair, h in zip(pads, half))


def _case(target, probe: Probe) -> tuple[Case | None, str]:
    cfg = dict(probe.cfg)
    caps = target.capabilities(probe.op) if target.provides(probe.op) else None
    chosen = []
    for key, values in probe.variants.items():
        allowed = caps.option_values.get(key, values) if caps else values
        pick = next((v for v in values if v in allowed), values[0])
        cfg[key] = pick
        chosen.append(f"{key}={pick!r}")
    for key in probe.conventions:
        declared = caps.option_values.get(key) if caps else None
        if declared:
            cfg[key] = declared[0]
            chosen.append(f"convention: {key}={declared[0]!r}")
    chosen = f" ({', '.join(chosen)})" if chosen else ""
    why = _unavailable(target, probe, cfg)
    if why:
        return None, why
    caps = target.capabilities(probe.op)
    dtype = "float64" if "float64" in caps.dtypes else "float32"
    params = tuple(np.array(p, dtype=np.float64) for p in probe.params)
    case = Case(
        op=probe.op,
        x=np.array(probe.x, dtype=np.float64),
        params=params,
        cfg=cfg,
        dtype=dtype,
        return_indices=probe.show == "indices",
    )
    return case, chosen


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _reject_text(exc: BaseException) -> str:
    return f"rejects ({type(exc).__name__})"


def run_probe(target, probe: Probe) -> tuple[str, bool | None]:
    """``(cell text, equals the spec)``; ``None`` where there is nothing to compare."""
    case, chosen = _case(target, probe)
    if case is None:
        return f"n/a: {chosen}", None
    with np.errstate(all="ignore"):
        try:
            want = case.spec_forward()
            spec_error = None
        except ValueError as exc:
            want, spec_error = None, exc
        try:
            if probe.show == "vjp":
                got = target.vjp(case, np.array(probe.cotangent, dtype=np.float64))[0]
                want = spec.vjp(probe.op, case.primals, np.array(probe.cotangent), **case.cfg)[0]
            elif probe.show == "jvp":
                tangents = (np.array(probe.tangent, dtype=np.float64),)
                got = target.jvp(case, tangents)[1]
                want = spec.jvp(probe.op, case.primals, tangents, **case.cfg)[1]
            else:
                got = target.forward(case)
        except NotProvided as exc:
            return f"not expressible: {str(exc)[:60]}", None
        except Exception as exc:
            if spec_error is not None:
                return _reject_text(exc), True
            return f"error: {type(exc).__name__}" + chosen, False
    if spec_error is not None:
        shown = got[0] if isinstance(got, tuple) else got
        return f"accepts: {_fmt(shown)}", False
    if probe.show == "indices":
        (gy, gi), (wy, wi) = got, want
        text = f"{_fmt(gy)} at {_fmt(gi)}"
        return text + chosen, _same(gy, wy) and np.array_equal(gi, wi)
    if probe.show == "shape":
        return f"shape {tuple(np.shape(got))}", np.shape(got) == np.shape(want)
    return _fmt(got) + chosen, _same(got, want)


def spec_cell(probe: Probe) -> str:
    cfg = dict(probe.cfg)
    for key, values in probe.variants.items():
        cfg[key] = values[0]
    x = np.array(probe.x, dtype=np.float64)
    params = tuple(np.array(p, dtype=np.float64) for p in probe.params)
    with np.errstate(all="ignore"):
        try:
            if probe.show == "vjp":
                return _fmt(spec.vjp(probe.op, (x, *params), np.array(probe.cotangent), **cfg)[0])
            if probe.show == "jvp":
                tangent = (np.array(probe.tangent, dtype=np.float64),)
                return _fmt(spec.jvp(probe.op, (x, *params), tangent, **cfg)[1])
            if probe.show == "indices":
                y, i = spec.OPS[probe.op].function(x, *params, return_indices=True, **cfg)
                return f"{_fmt(y)} at {_fmt(i)}"
            y = spec.OPS[probe.op].function(x, *params, **cfg)
        except ValueError as exc:
            return f"rejects ({str(exc).split(':')[0]})"
    extra = f" ({', '.join(f'{k}={v[0]!r}' for k, v in probe.variants.items())})"
    return _fmt(y) + (extra if probe.variants else "")


# -- the page ---------------------------------------------------------------------------------
def _versions() -> list[str]:
    out = []
    for mod in FRAMEWORKS:
        try:
            version = getattr(__import__(mod), "__version__", None)
            # tinygrad and mlx have no __version__; openvino's names its build after a "-"
            version = (version or importlib.metadata.version(mod)).split("-")[0]
            out.append(f"{mod} {version}")
        except ImportError:
            out.append(f"{mod} not installed")
    return out


def load_columns() -> dict[str, Any]:
    targets = {}
    for name in COLUMNS:
        try:
            targets[name] = load_target(name)
        except ImportError as exc:
            targets[name] = f"not installed ({exc.name})"
    return targets


def render() -> str:
    targets = load_columns()
    lines = [
        "# Pooling semantics across frameworks",
        "",
        "<!-- Generated by conformance/tools/frameworks_page.py; do not edit. Regenerate with:",
        f"     {COMMAND}",
        "     tests/conformance/test_conformance_frameworks_page.py fails when this page is"
        " stale. -->",
        "",
        f"Generated with `{COMMAND}` ({', '.join(_versions())}, CPU).",
        "",
        "Each row is one convention, probed on a tiny input; each cell is what the target "
        "returned through its conformance adapter (`conformance/targets/*.py`): ✓ equals the "
        "spec's result, ✗ differs (linked to a runnable reproducer where the difference is a "
        "registered deviation). *n/a* means the target cannot express the configuration "
        "(its declared capabilities); values are shown as `value at index` where the row "
        "is about indices. Where a convention is a named spec option (Lp's `sign`, max's "
        "`signed_zeros` and `empty_window`, avg's `empty_window_derivative`, Lp's "
        "`partial_window`), each target runs with the value its adapter selects, shown in "
        "parentheses; *convention: option=value* marks a framework convention the spec "
        "expresses by that option (a `[[convention]]` of the target's registry, not a "
        "deviation; the spec column shows the default), linked to the script that shows "
        "it. Inputs are `[N=1, C, L]`; float64 where the target has it, else float32.",
        "",
        "The suite's own findings per target, with reasons, are the known-deviation "
        "registries `conformance/targets/deviations/<target>.toml` (their `[[convention]]` entries "
        "are the conventions, classified apart from the deviations); the "
        "[reproducers](#reproducers) below show each one in a few lines.",
        "",
    ]
    lines += [
        "## The targets",
        "",
        "| target | what runs | module |",
        "|---|---|---|",
        "| `ndpool.impl` | the project's PyTorch implementation | `targets/impl.py` |",
        "| `torch` | `torch.nn.functional` eager | `targets/torch_nn.py` |",
        "| `torch-compile` | the same functions through `torch.compile` (Inductor, CPU, "
        "`dynamic=False`, one cached compilation per configuration); VJP through the "
        "compiled backward, no JVP | `targets/torch_compile.py` |",
        "| `onnxruntime`, `onnxruntime@18` | one-node ONNX models (opset 22, or the opset "
        "after `@`) in ONNX Runtime's CPU provider | `targets/onnx_backends.py` |",
        "| `onnx-reference`, `onnx-reference@18` | the same models through "
        "`onnx.reference.ReferenceEvaluator` | `targets/onnx_backends.py` |",
        "| `jax` | `lax.reduce_window` max, flax-style average; `jax.jvp` / `jax.vjp`; "
        "float64 via `jax_enable_x64` | `targets/jax_lax.py` |",
        "| `tensorflow` | `tf.nn.max_pool*d` / `avg_pool*d`, `tf.nn.pool` with dilations, "
        "`tf.nn.max_pool_with_argmax` for indices (2-D), eager on the CPU; "
        "`tf.GradientTape` / `tf.autodiff.ForwardAccumulator`; NHWC in the adapter "
        "| `targets/tensorflow_nn.py` |",
        "| `keras-tensorflow`, `keras-jax`, `keras-torch` | the Keras 3 layers "
        "`MaxPooling*D`, `AveragePooling*D`, `Global*Pooling*D`, `Adaptive*Pooling*D` on "
        "one backend each, differentiated by that backend | `targets/keras_layers.py` |",
        "| `openvino` | one-node `MaxPool-14` / `AvgPool-16` models compiled for the CPU "
        "plugin; forward and indices only | `targets/openvino_ops.py` |",
        "| `tinygrad` | `Tensor.max_pool2d` / `avg_pool2d` (any rank) on the PYTHON device; "
        "VJP by `.backward()` | `targets/tinygrad_tensor.py` |",
        "| `mlx` | `mlx.nn.MaxPool*d` / `AvgPool*d` (CPU build), `mx.jvp` / `mx.vjp` "
        "| `targets/mlx_nn.py` |",
        "",
        '`pip install -e ".[targets]"` installs onnx, onnxruntime and jax; the extras '
        "`tensorflow`, `keras`, `openvino`, `tinygrad` and `mlx` one framework each "
        "(`ndpool --list-targets` says which are installed). Without them these "
        "targets fail to load with the missing module's name and their tests skip. ONNX "
        "`GlobalMaxPool` / `GlobalAveragePool` are the spec's adaptive pooling with "
        "`output_size` 1; other adaptive sizes that divide the input are `MaxPool` / "
        "`AveragePool` with kernel = stride = L / n, the rest is not expressible in ONNX. "
        "ONNX `Indices` are flat over `[N, C, *S]`; the adapter converts them to the "
        "spec's per-plane indices. The module docstrings give the full attribute mapping.",
        "",
        "## The conventions",
        "",
    ]
    header = ["convention", "probe", "spec", *COLUMNS]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for probe in load_probes():
        row = [f"**{probe.title}**", _cell(probe.note), _cell(spec_cell(probe))]
        for name in COLUMNS:
            target = targets[name]
            if isinstance(target, str):
                row.append(target)
                continue
            text, ok = run_probe(target, probe)
            mark = "" if ok is None else (" ✓" if ok else " ✗")
            link = probe.repro.get(name)
            if ok is False and link:
                mark += f" ([repro]({REPRO_DIR}/{link}))"
            elif ok and link and "convention:" in text:
                mark += f" ([shown]({REPRO_DIR}/{link}))"
            row.append(_cell(text) + mark)
        lines.append("| " + " | ".join(row) + " |")
    lines += findings_section()
    lines += discovery_section()
    lines += ["", "## Reproducers", ""]
    lines.append(
        "Each script prints the framework's result next to the spec's and exits 1 while the "
        "difference exists; a convention's script exits 1 while the framework differs from "
        "the spec's default and equals the spec under the named option "
        "(`tests/conformance/test_conformance_framework_repros.py` runs them all, so a "
        "change shows up):"
    )
    lines.append("")
    repro_dir = DOCS / REPRO_DIR
    conventions = _registered_conventions()
    for path in sorted(repro_dir.glob("*.py")) if repro_dir.exists() else []:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        kind = "*convention*: " if path.stem in conventions else ""
        lines.append(f"- [`{path.name}`]({REPRO_DIR}/{path.name}): {kind}{first}")
    lines.append("")
    return "\n".join(lines)


def discovery_problem(report: dict) -> str | None:
    """Why ``report`` is not one whole discovery run with the registry set aside (what the
    page's discovery section lists), or ``None``."""
    meta = report.get("meta") if isinstance(report, dict) else None
    targets = report.get("targets") if isinstance(report, dict) else None
    if not isinstance(meta, dict) or not isinstance(targets, dict) or len(targets) != 1:
        return "not the JSON report of one ndpool check run"
    if "profile" not in meta:
        return "not the JSON report of one ndpool check run"
    if meta.get("interrupted"):
        return f"an interrupted run ({len(meta['interrupted'])} cells did not run)"
    if meta.get("shard"):
        return f"shard {meta['shard']} alone (ndpool report merge its shards into one report)"
    discover = meta.get("discover")
    if not (discover or (discover is None and meta["profile"] in DISCOVER_BY_DEFAULT)):
        return "a run without discovery (--discover)"
    if not meta.get("unregistered"):
        return "a run with the registry in force (--unregistered sets it aside)"
    return None


def discovery_summary(report: dict, commit: str | None = None) -> dict:
    """What the page keeps of a discovery run's JSON report: the run (and the ndpool
    ``commit`` it ran on, where given), and per cell its distinct failures' kinds, regions
    and registry entries (no counterexamples)."""
    meta = report["meta"]
    ((name, body),) = report["targets"].items()
    cells = {
        f"{op}/{prop}": [
            {**{k: f[k] for k in ("region", "seen", "entry") if k in f}, "kind": shorten(f["kind"])}
            for f in found
        ]
        for op, row in body.get("findings", {}).items()
        for prop, found in row.items()
    }
    seconds = sum(v for row in body.get("seconds", {}).values() for v in row.values())
    examples = sum(v for row in body.get("examples", {}).values() for v in row.values())
    return {
        "target": name,
        "command": f"ndpool check --target {name} --profile {meta['profile']} --seed "
        f"{meta['seed']} -n {meta['jobs']} --discover --unregistered",
        "examples": examples,
        "worker_seconds": round(seconds),
        "counts": body.get("counts", {}),
        "coverage": body.get("registry_coverage"),
        "findings": cells,
        **({"commit": commit} if commit else {}),
    }


def discovery_section() -> list[str]:
    """The "Distinct failures" section from ``docs/frameworks/discovery/*.json``."""
    runs = [json.loads(p.read_text()) for p in sorted((DOCS / DISCOVERY_DIR).glob("*.json"))]
    if not runs:
        return []
    lines = [
        "",
        "## Distinct failures (discovery runs)",
        "",
        "Each target run with its registry set aside and distinct-failure discovery on "
        "(`--discover --unregistered`, see [Running the suite](conformance/running.md)): "
        "every failure the search told apart (by kind: its first line, numbers as N, a size "
        "per axis as (N, …); and by "
        "region: the facts of its minimal example; a raise is told apart by its message), "
        "counted under the registry entry whose region holds it (linked to its reproducer), "
        "or listed as **new**. An entry *not found* was not reached by that run's examples; "
        "its reproducer still shows it. `ndpool check --target T --discover --unregistered` "
        "prints each failure.",
        "",
    ]
    for run in runs:
        cov = run.get("coverage") or {"found": [], "not_found": [], "new": [], "guarded": []}
        on = f" on commit {run['commit']}" if run.get("commit") else ""
        lines += [
            f"### {run['target']}",
            "",
            f"`{run['command']}`{on}: {run['examples']} examples, {run['worker_seconds']} s in "
            f"the workers; {len(cov['found'])} registry entries found, {len(cov['new'])} new "
            f"failure(s); not found: {', '.join(f'`{e}`' for e in cov['not_found']) or 'none'}; "
            f"not run (`skip`, a crash): {', '.join(f'`{e}`' for e in cov['guarded']) or 'none'}.",
            "",
        ]
        by_entry: dict[str, list[str]] = {}
        new: dict[tuple[str, str, str], dict] = {}  # a run's kinds read by today's rule
        for cell, found in sorted(run["findings"].items()):
            for f in found:
                if f.get("entry"):
                    by_entry.setdefault(f["entry"], []).append(cell)
                else:
                    kind = failure_kind(f["kind"])
                    new.setdefault((cell, kind, where(f)), {**f, "kind": kind})
        if not by_entry and not new:
            lines += ["No failure: the target conforms in every cell it provides.", ""]
            continue
        lines += ["| registry entry | distinct failures | cells |", "|---|---:|---|"]
        for entry, cells in sorted(by_entry.items()):
            links = [_entry_link(run["target"], e) for e in entry.split(" or ")]
            lines.append(
                f"| {' or '.join(links)} | {len(cells)} | {', '.join(sorted(set(cells)))} |"
            )
        registry = Registry.load(run["target"], DEVIATIONS_DIR / f"{run['target']}.toml")
        for (cell, _, _), f in new.items():
            since = _registered_since(registry, cell, f)
            lines.append(
                f"| **new** in this run{since}: {_cell(f['kind'])} ({_cell(where(f))}) | 1 | "
                f"{cell} |"
            )
        lines.append("")
    return lines


def load_findings(path: Path = FINDINGS_FILE) -> list[dict[str, str]]:
    """The ``[[finding]]`` tables of ``path``: ``target``, ``entry`` (a registry id),
    ``why``."""
    return tomllib.loads(path.read_text())["finding"]


def findings_section() -> list[str]:
    """The "Findings worth reporting upstream" section from :data:`FINDINGS_FILE`."""
    lines = [
        "",
        "## Findings worth reporting upstream",
        "",
        "The registered deviations that look like real bugs: a crash or a hang, a silently "
        "wrong value, index or derivative, or a behaviour the framework's own documentation "
        "or its other kernels contradict (`conformance/tools/findings.toml`). Each links "
        "the smallest reproducer the suite has for it; the registry entry's reason says "
        "more. Lenient validation, documented conventions, missing dtypes and sums in the "
        "input's dtype are registered too, but left out here: a framework may well call "
        "them intended.",
        "",
        "| framework target | finding | why report it |",
        "|---|---|---|",
    ]
    for f in load_findings():
        name = f"{f['target']}-{f['entry']}.py"
        lines.append(
            f"| `{f['target']}` | [`{f['entry']}`]({REPRO_DIR}/{name}) | {_cell(f['why'])} |"
        )
    return lines


def _registered_since(registry: Registry, cell: str, finding: dict) -> str:
    """ ", registered since as <entry>" where an entry of today's ``registry`` holds a new
    finding's region (a fact of :data:`REGION_FACTS` the region leaves out is false), or
    ``""``: none does, or none that the region decides."""
    op, prop = cell.split("/")
    facts = dict.fromkeys(REGION_FACTS, False) | finding.get("seen", {}) | finding["region"]
    ids = registry.holding_facts(prop, op, facts)
    if not ids:
        return ""
    return ", registered since as " + " or ".join(_entry_link(registry.target, e, "") for e in ids)


def _entry_link(target: str, entry: str, missing: str = " (no longer registered)") -> str:
    """A registry entry named by a discovery run, linked to its reproducer; one without
    (removed from the registry since the run, its reproducer gone with it) gets ``missing``."""
    name = f"{target}-{entry}.py"
    if (DOCS / REPRO_DIR / name).exists():
        return f"[`{entry}`]({REPRO_DIR}/{name})"
    return f"`{entry}`{missing}"


def _registered_conventions() -> set[str]:
    """``<target>-<id>`` of every ``[[convention]]`` in the registries (not deviations)."""
    out = set()
    for path in sorted(DEVIATIONS_DIR.glob("*.toml")):
        for entry in tomllib.loads(path.read_text()).get("convention", []):
            out.add(f"{path.stem}-{entry['id']}")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0].startswith("-") and argv[0] != "--discovery":
        print(__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1])
        return 0 if argv[0] in ("-h", "--help") else 2
    if argv[:1] == ["--discovery"]:
        commit = None
        if argv[1:2] == ["--commit"]:
            commit, argv = argv[2], argv[:1] + argv[3:]
        reports = {}
        for path in argv[1:]:
            try:
                reports[path] = json.loads(Path(path).read_text())
            except (OSError, ValueError) as exc:
                print(f"frameworks_page --discovery: cannot read {path}: {exc}")
                return 3
        for path, report in reports.items():
            problem = discovery_problem(report)
            if problem:
                print(f"frameworks_page --discovery: {path} is {problem}; nothing written")
                return 3
        for report in reports.values():
            summary = discovery_summary(report, commit)
            out = DOCS / DISCOVERY_DIR / f"{summary['target']}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            print(f"{out}: {sum(map(len, summary['findings'].values()))} distinct failures")
        return 0
    text = render()
    if argv:
        Path(argv[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
