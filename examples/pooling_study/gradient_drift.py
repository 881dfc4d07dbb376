"""How much two commits' ``ndpool.impl`` differ on a study's first training step.

    python examples/pooling_study/gradient_drift.py OLD NEW [--task digits2d] [--poolers P,Q]

For each commit, ``git archive`` extracts ``spec/``, ``impl/`` and ``conformance/`` into a
temporary ``ndpool`` package, and a fresh interpreter builds the study's network
(``examples/<task>/run.py``, the working tree's) with each pooler from seed 0 and takes
the cross-entropy of the first 256 training samples and its gradient. Printed per pooler:
whether the two losses are equal bit for bit, and per parameter the largest difference
of the two gradients relative to the largest gradient entry. A study's rerun that moves
with no change of set-up (a different training loss, the same seed) is explained by
such rounding-level differences growing over thousands of Adam steps.

The pooler set-ups are the ones of the studies' runs before the source set-ups of
issue 18 (Lp and GeM with one p per channel, sum-form Lp).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import importlib.util, json, sys
import torch
src, run_py = sys.argv[1], sys.argv[2]
sys.path.insert(0, src)
import ndpool.impl as impl
assert impl.__file__.startswith(src), impl.__file__
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("study_run", run_py)
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
w = {"kernel_size": (2,) * run.TASK.d, "stride": (2,) * run.TASK.d}
makers = {
    "max": lambda c, s: impl.MaxPool(**w),
    "avg": lambda c, s: impl.AvgPool(**w),
    "lp": lambda c, s: impl.LpPool(2.0, **w, learnable=True, num_channels=c),
    "gem": lambda c, s: impl.GeMPool(**w, p=3.0, learnable=True, num_channels=c),
}
data = run.TASK.load()
x, y = data.train.x[:256], data.train.y[:256]
out = {}
for name in sys.argv[3].split(","):
    torch.manual_seed(0)
    model = run.TASK.build_model(makers[name])
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    out[name] = {"loss": loss.item(), "grads": {n: p.grad.double().reshape(-1).tolist()
                                                for n, p in model.named_parameters()}}
print(json.dumps(out))
"""


def extract(commit: str, into: Path) -> Path:
    """``spec/``, ``impl/`` and ``conformance/`` of ``commit`` as ``into/ndpool/...``."""
    archive = subprocess.run(
        ["git", "archive", commit, "spec", "impl", "conformance"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into / "ndpool", filter="data")
    return into


def gradients(commit: str, task: str, poolers: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"drift-{commit}-") as tmp:
        src = extract(commit, Path(tmp))
        run_py = ROOT / "examples" / task / "run.py"
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(src), str(run_py), poolers],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--task", default="digits2d", choices=("digits2d", "mnist1d"))
    parser.add_argument("--poolers", default="max,avg,lp,gem")
    args = parser.parse_args(argv)
    old = gradients(args.old, args.task, args.poolers)
    new = gradients(args.new, args.task, args.poolers)
    for name in old:
        a, b = old[name], new[name]
        rel = {}
        for p, ga in a["grads"].items():
            gb = b["grads"][p]
            scale = max(abs(v) for v in ga) or 1.0
            rel[p] = max(abs(u - v) for u, v in zip(ga, gb)) / scale
        worst = max(rel, key=rel.get)
        print(
            f"{name:4s} loss equal: {a['loss'] == b['loss']}; gradients differ by at most "
            f"{rel[worst]:.1e} of the largest entry ({worst}); "
            + ", ".join(f"{p} {r:.1e}" for p, r in rel.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
