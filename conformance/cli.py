"""``ndpool``: the command line of the conformance suite.

    ndpool check [--target T] [--op OP ...] [--property P ...] [--profile P] [--seed N]
                 [--timeout S] [-n JOBS] [--report F] [--format FMT] [--junit-xml F]
                 [--db DIR] [--deviations F] [--device D] [-v]
    ndpool --version | --list-targets | --list-properties

``check`` validates the set-up, runs the target in worker processes (a crash or a hang
is a failure of its op x property cell, reported with the example and a reproducer), and
exits with a status that says what happened (see ``ndpool check --help``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from .gate import EXIT_CODES, EXIT_USAGE, REPORT_FORMATS, GateConfig, check
from .runner import PROFILES

#: what each profile does, and about how long it takes on ndpool.impl (2 CPU cores, every op)
PROFILE_HELP = {
    "quick": "the edge corpus and every invalid-input breaker, then 12 drawn examples per "
    "op x property (about 1 minute)",
    "ci": "the same, then 100 drawn examples per cell (about 10 minutes)",
    "thorough": "the same, then 1000 drawn examples per cell (hours)",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ndpool")
    except PackageNotFoundError:  # a source checkout that is not installed
        return "unknown (not installed)"


def _exit_codes_text() -> str:
    lines = ["exit status:"]
    for code, text in EXIT_CODES.items():
        lines += textwrap.wrap(text, 78, initial_indent=f"  {code}  ", subsequent_indent="     ")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    return parsers()[0]


def parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """``(ndpool's parser, its check subcommand's parser)``: the one source of the
    terminal help and of the docs' command-line reference (docs/reference/cli.md)."""
    parser = argparse.ArgumentParser(
        prog="ndpool",
        description="ndpool: the conformance suite of N-dimensional pooling.",
        epilog="`ndpool check --help` lists the options of a run and its exit statuses.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ndpool {_version()}")
    parser.add_argument(
        "--list-targets", action="store_true", help="list the built-in targets and exit"
    )
    parser.add_argument(
        "--list-properties", action="store_true", help="list the properties checked and exit"
    )
    sub = parser.add_subparsers(dest="command")
    profiles = "; ".join(f"{name}: {text}" for name, text in PROFILE_HELP.items())
    check_parser = sub.add_parser(
        "check",
        help="run the conformance suite against a target",
        description="Run the conformance suite against a target and say whether it "
        "conforms to the spec.",
        epilog=_exit_codes_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = check_parser.add_argument
    add(
        "--target",
        default="ndpool.impl",
        metavar="TARGET",
        help="a built-in target (see --list-targets; default ndpool.impl) or "
        "module:attribute naming your own (a Target, a function returning one, or a "
        "namespace of NumPy functions)",
    )
    add(
        "--op",
        nargs="+",
        action="extend",
        default=[],
        metavar="OP",
        help="only these ops (default: all)",
    )
    add(
        "--property",
        nargs="+",
        action="extend",
        default=[],
        dest="properties",
        metavar="PROPERTY",
        help="only these properties (default: all; see --list-properties)",
    )
    add("--profile", default="quick", choices=sorted(PROFILES), help=profiles)
    add(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the seed (default: random, and printed)",
    )
    add(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds one example may run before the target counts as hung (default 60)",
    )
    add("-n", dest="jobs", type=int, default=1, metavar="JOBS", help="worker processes (default 1)")
    add(
        "--report",
        default=None,
        metavar="FILE",
        help="write the report to this file; its format from the extension "
        f"({', '.join(sorted(REPORT_FORMATS))}) unless --format says",
    )
    add(
        "--format",
        dest="report_format",
        choices=sorted(set(REPORT_FORMATS.values())),
        default=None,
        help="the report's format (md, json, html, or xml: JUnit)",
    )
    add("--junit-xml", default=None, metavar="FILE", help="also write JUnit XML to this file")
    add(
        "--db",
        default=None,
        metavar="DIR",
        help="a Hypothesis example database directory (failures replay)",
    )
    add(
        "--deviations",
        default=None,
        metavar="FILE",
        help="a known-deviations TOML file instead of the target's own (it must exist)",
    )
    add(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help="the device of torch-based targets (default cpu)",
    )
    add("-v", "--verbose", action="store_true", help="one line per cell, and warnings")
    return parser, check_parser


def help_texts() -> dict[str, str]:
    """The ``--help`` text of each command, keyed by its command line."""
    parser, check_parser = parsers()
    return {
        "ndpool --help": parser.format_help(),
        "ndpool check --help": check_parser.format_help(),
    }


def _list_targets() -> str:
    from .targets import BUILTIN_TARGETS

    lines = []
    for name, b in BUILTIN_TARGETS.items():
        missing = b.missing()
        state = "ready" if not missing else f"needs {', '.join(missing)}: {b.install}"
        lines.append(f"{name:20s} {b.description} [{state}]")
    return "\n".join(lines)


def _list_properties() -> str:
    from .properties import PROPERTIES

    return "\n".join(f"{p.name:26s} {p.description}" for p in PROPERTIES.values())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.list_targets:
        print(_list_targets())
        return 0
    if ns.list_properties:
        print(_list_properties())
        return 0
    if ns.command != "check":
        parser.print_help()
        return EXIT_USAGE
    cfg = GateConfig(
        target=ns.target,
        device=ns.device,
        ops=ns.op,
        properties=ns.properties,
        profile=ns.profile,
        seed=ns.seed,
        deviations=ns.deviations,
        db=ns.db,
        timeout=ns.timeout,
        jobs=ns.jobs,
        report=ns.report,
        report_format=ns.report_format,
        junit_xml=ns.junit_xml,
        verbose=ns.verbose,
    )
    return check(cfg, out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
