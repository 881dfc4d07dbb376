"""``ndpool check``: run the conformance suite against a target.

    ndpool check [--target T] [--op OP ...] [--profile quick|ci|thorough] [--seed N]
                 [-n JOBS] [--junit-xml F] [--report F.md|F.html|F.json]
                 [--db DIR] [--deviations F] [--device D]

It runs the suite under pytest (progress display, JUnit XML and pytest-xdist come
with it) and prints the op x property matrix at the end. Exit status 0 only when
the target conforms apart from its registered known deviations.
"""

from __future__ import annotations

import argparse
import sys

from .runner import PROFILES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ndpool", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run the conformance suite against a target")
    check.add_argument(
        "--target",
        default="ndpool.impl",
        help=(
            "ndpool.impl (default), torch, torch-compile, onnxruntime[@OPSET], "
            "onnx-reference[@OPSET], jax, ndpool.spec, or module:attribute"
        ),
    )
    check.add_argument(
        "--op",
        nargs="+",
        action="extend",
        default=[],
        help="only these ops (default: every op of spec.OPS)",
    )
    check.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    check.add_argument("--seed", type=int, default=None, help="Hypothesis seed")
    check.add_argument(
        "-n", dest="jobs", default=None, help="parallel workers (pytest-xdist), e.g. 4 or auto"
    )
    check.add_argument("--junit-xml", default=None)
    check.add_argument("--report", default=None, help="write F.md, F.html or F.json")
    check.add_argument(
        "--db", default=None, help="Hypothesis example database directory (failures replay first)"
    )
    check.add_argument("--deviations", default=None, help="known-deviations TOML file")
    check.add_argument("--device", default="cpu", help="device for torch-based targets")
    check.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    return parser


def pytest_args(ns: argparse.Namespace) -> list[str]:
    args = [
        "--pyargs",
        "ndpool.conformance",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        ".",
        "-o",
        "addopts=",
        "-o",
        "testpaths=",
        "--ndpool-target",
        ns.target,
        "--ndpool-profile",
        ns.profile,
        "--ndpool-device",
        ns.device,
        "-rfE",
        "--tb=line" if not ns.verbose else "--tb=short",
        "-v" if ns.verbose else "-q",
    ]
    for op in ns.op:
        args += ["--ndpool-op", op]
    if ns.seed is not None:
        args += ["--ndpool-seed", str(ns.seed)]
    if ns.jobs:
        try:
            import xdist  # noqa: F401
        except ImportError:
            raise SystemExit("-n needs pytest-xdist: pip install pytest-xdist") from None
        args += ["-n", str(ns.jobs)]
    if ns.junit_xml:
        args += ["--junit-xml", ns.junit_xml]
    if ns.report:
        args += ["--ndpool-report", ns.report]
    if ns.db:
        args += ["--ndpool-db", ns.db]
    if ns.deviations:
        args += ["--ndpool-deviations", ns.deviations]
    return args


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.command == "check":
        import pytest

        from ndpool import spec

        unknown = [op for op in ns.op if op not in spec.OPS]
        if unknown:
            print(f"unknown op(s) {unknown}; known: {sorted(spec.OPS)}", file=sys.stderr)
            return 2
        code = pytest.main(pytest_args(ns))
        return int(code)
    return 2


if __name__ == "__main__":
    sys.exit(main())
