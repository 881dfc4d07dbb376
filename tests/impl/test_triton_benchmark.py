"""The GPU benchmark (``benchmarks/gpu_vs_torch.py``) end to end on the CPU: its measure,
summarize and markdown steps on tiny CPU tensors, the kernels run by Triton's interpreter
and timed by the wall clock (its figures mean nothing here). The rows carry every field
the docs page renders, the byte counts are the values-only ones, and the Triton results
agree with torch's."""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are defined

import json
import math

import pytest
import torch
from benchmark_scripts import load_benchmark

pytest.importorskip("triton")

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]

#: tiny versions of the benchmark's cases: ``(name, d, shape, quick shape, k, s, p)``
TINY = (
    ("tiny 2-D 3x3 s2", 2, (2, 3, 9, 8), (2, 3, 9, 8), 3, 2, 1),
    ("tiny 3-D k3 s1", 3, (1, 2, 5, 6, 4), (1, 2, 5, 6, 4), 3, 1, 1),
    ("tiny 4-D k2 s2", 4, (1, 2, 4, 3, 3, 4), (1, 2, 4, 3, 3, 4), 2, 2, 0),
)
#: the fields of a row the markdown table and the goals read
ROW_FIELDS = {"case", "op", "d", "mode", "shape", "dtype", "triton_ms", "triton_gbs",
              "clone_gbs", "triton_of_clone"}  # fmt: skip
TORCH_FIELDS = {"torch_ms", "torch_gbs", "speedup", "max_abs_diff", "torch_of_clone"}


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("gpu_vs_torch")


def test_the_benchmark_runs_end_to_end_on_cpu(bench, tmp_path):
    rows = []
    for case in TINY:
        for op in bench.OPS:
            rows += bench.measure(
                case, op, False, torch.float32, 0, 1, device="cpu", timer=bench.wall_ms
            )
    assert len(rows) == len(TINY) * len(bench.OPS) * len(bench.MODES)
    for r in rows:
        what = f"{r['case']} {r['op']} {r['mode']}"
        assert ROW_FIELDS <= r.keys(), f"{what}: missing {ROW_FIELDS - r.keys()}"
        torch_has_it = r["d"] <= 3
        assert (TORCH_FIELDS <= r.keys()) == torch_has_it, f"{what}: torch fields {r.keys()}"
        # the bytes are values-only: x and y (and, with backward, the cotangent and grad x)
        x_bytes = 4 * math.prod(r["shape"])
        _, _, shape, _, k, s, p = next(c for c in TINY if c[0] == r["case"])
        out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]
        y_bytes = 4 * math.prod(shape[:2]) * math.prod(out)
        moved = (x_bytes + y_bytes) * (2 if r["mode"] == "fwd+bwd" else 1)
        assert math.isclose(r["triton_gbs"], moved / r["triton_ms"] / 1e6), what
        assert math.isclose(r["triton_of_clone"], r["triton_gbs"] / r["clone_gbs"]), what
        if torch_has_it:
            # float32: max (and its gradient) exactly; average within a few roundings
            assert r["max_abs_diff"] <= (0.0 if r["op"] == "max" else 1e-6), what
            assert math.isclose(r["speedup"], r["torch_ms"] / r["triton_ms"]), what
        if r["mode"] == "fwd+bwd":
            assert r["triton_backward_deterministic"] is True, what
    goals = bench.summarize(rows)
    assert set(goals) == {
        "fwd_min_of_clone (goal >= 0.85)",
        "3d_fwd+bwd_min_speedup (goal > 1)",
        "4d_min_of_clone (goal >= 0.70)",
        "backward_deterministic",
    }
    assert all(not math.isnan(v) for v in goals.values() if isinstance(v, float)), goals
    meta = dict(gpu="cpu (interpreter)", cuda=None, torch=torch.__version__, triton="-",
                python="-", dtype="float32", quick=False, warmup=0, repeats=1, seconds=0.0,
                command="pytest")  # fmt: skip
    result = {"meta": meta, "goals": goals, "rows": rows}
    saved = tmp_path / "gpu_vs_torch.json"
    saved.write_text(json.dumps(result, indent=1))
    page = tmp_path / "page.md"
    assert bench.main(["--from-json", str(saved), "--markdown", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# GPU benchmarks")
    table = [line for line in text.splitlines() if line.startswith("| tiny")]
    assert len(table) == len(rows), text
    assert all(line.count("|") == 12 for line in table), table
    assert "| 4d_min_of_clone (goal >= 0.70) |" in text


def test_the_benchmark_refuses_to_time_the_interpreter(bench):
    with pytest.raises(SystemExit, match="TRITON_INTERPRET=1"):
        bench.main(["--quick"])
