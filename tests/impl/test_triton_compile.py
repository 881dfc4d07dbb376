"""The Triton kernels compile for a real GPU target (no GPU needed).

The interpreter runs kernels as NumPy code and accepts Python that Triton's compiler
rejects, so every kernel is also compiled ahead of time for an NVIDIA sm_90 target through
to a cubin, in a subprocess without ``TRITON_INTERPRET`` (the interpreter replaces
``@triton.jit`` functions process-wide). Skipped where Triton or its CUDA backend is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("triton")

SCRIPT = textwrap.dedent(
    """
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from ndpool.impl.triton import kernels as K

    INT64_POINTERS = {"geom_ptr", "index_ptr", "e_ptr", "winner_ptr"}
    TABLES = {"p_ptr", "p_dot_ptr", "beta_ptr", "beta_dot_ptr"}
    STATS = {"y_stat_ptr", "norm_ptr", "grad_p_ptr", "grad_beta_ptr"}
    FLAGS = {"WITH_JVP", "WITH_STATS", "RESCALED", "ZERO_PAD", "OVERRIDE", "COUNT_PAD"}

    def signature(fn, data, compute, constants):
        sig = {}
        for name in fn.arg_names:
            if name in constants:
                sig[name] = "constexpr"
            elif name in INT64_POINTERS:
                sig[name] = "*i64"
            elif name in TABLES:
                sig[name] = "*fp64"
            elif name in STATS:
                sig[name] = "*" + compute
            elif name.endswith("_ptr"):
                sig[name] = "*" + data
            elif name == "divisor":
                sig[name] = "fp32"
            else:
                sig[name] = "i64" if name in ("total", "plane_in", "plane_out") else "i32"
        return sig

    VARIANTS = [  # (data dtype, compute dtype, D, adaptive)
        ("bf16", "fp32", 2, False),
        ("fp16", "fp32", 4, True),
        ("fp64", "fp64", 3, False),
    ]
    KERNELS = [
        K.max_forward_kernel, K.max_backward_kernel, K.take_kernel, K.avg_forward_kernel,
        K.avg_backward_kernel, K.lp_window_kernel, K.lp_backward_kernel,
        K.smooth_max_window_kernel, K.smooth_max_backward_kernel,
    ]
    target = GPUTarget("cuda", 90, 32)
    for data, compute, d, adaptive in VARIANTS:
        cdt = tl.float64 if compute == "fp64" else tl.float32
        for fn in KERNELS:
            values = dict(D=d, ADAPTIVE=adaptive, CDT=cdt, BLOCK=256, SIGNED=adaptive,
                          EMPTY_ZERO=adaptive, STORE_INDEX=not adaptive,
                          **{flag: True for flag in FLAGS})
            constants = {k: v for k, v in values.items() if k in fn.arg_names}
            index = {(fn.arg_names.index(k),): v for k, v in constants.items()}
            src = ASTSource(fn=fn, signature=signature(fn, data, compute, constants),
                            constexprs=index)
            compiled = triton.compile(src, target=target, options={"num_warps": 4})
            assert "cubin" in compiled.asm, fn.__name__
    print("compiled", len(VARIANTS) * len(KERNELS))
    """
)


def test_every_kernel_compiles_for_an_sm90_target(tmp_path):
    try:
        from triton.backends import backends
    except ImportError:  # pragma: no cover - an older Triton layout
        pytest.skip("triton.backends is not available")
    if "nvidia" not in backends:
        pytest.skip("Triton's NVIDIA backend is not installed")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "cache")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "compiled 27" in run.stdout
