"""``ndpool``: the command line of the conformance suite.

    ndpool check [--target T] [--op OP ...] [--property P ...] [--profile P] [--seed N]
                 [--timeout S] [-n JOBS] [--report F] [--format FMT] [--junit-xml F]
                 [--db DB] [--deviations F] [--device D] [--shard I/N]
                 [--discover | --no-discover] [--conventions {declared,spec}]
                 [--unregistered] [-v]
    ndpool report merge REPORT.json ... [--report F] [--format FMT] [--junit-xml F]
    ndpool fuzz [--target T] [--op OP ...] [--property P ...] [--db DB] [--seconds S]
                [-n JOBS] [--no-dashboard] [--host H] [--port P] [--deviations F]
                [--device D] [-v]
    ndpool --version | --list-targets | --list-properties

``check`` validates the set-up, runs the target in worker processes (a crash or a hang
is a failure of its op x property cell, reported with the example and a reproducer), and
exits with a status that says what happened (see ``ndpool check --help``); with
``--shard I/N`` it runs one of N parts of the matrix (:mod:`.shards`), and ``report
merge`` puts the shards' reports together (:mod:`.merge`). ``fuzz`` runs the properties
under HypoFuzz until stopped (:mod:`.fuzz`).
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from . import fuzz as fuzzing
from . import merge as merging
from .gate import EXIT_CODES, EXIT_USAGE, REPORT_FORMATS, GateConfig, check
from .runner import CONVENTIONS, PROFILES
from .shards import Shard

#: what each profile does, and about how long it takes on ndpool.impl (2 CPU cores, every op)
PROFILE_HELP = {
    "quick": "the edge corpus and every invalid-input breaker, then 12 drawn examples per "
    "op x property (about 1 minute)",
    "ci": "the same, then 100 drawn examples per cell (about 10 minutes)",
    "thorough": "the edge corpus in every declared memory layout and, in 2-D and 3-D, along "
    "the first and every axis too, every breaker, then 1000 drawn examples per cell (hours)",
}


def _report_options(add, what: str) -> None:
    """``--report``, ``--format`` and ``--junit-xml``, for ``check`` and ``report merge``."""
    add(
        "--report",
        default=None,
        metavar="FILE",
        help=f"write {what} to this file; its format from the extension "
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


class _VersionAction(argparse.Action):
    """``--version``: ndpool's version, with its commit where it runs from a git checkout
    (asked for only when the option is given: :func:`.provenance.ndpool_version`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from .provenance import ndpool_version

        print(f"ndpool {ndpool_version()}")
        parser.exit()


def _exit_codes_text(codes: dict[int, str] = EXIT_CODES) -> str:
    """The exit statuses for the terminal: their texts are Markdown for the docs' tables,
    so code marks are dropped here."""
    lines = ["exit status:"]
    width = max(len(str(code)) for code in codes)
    for code, text in codes.items():
        plain = text.replace("`", "")
        head, rest = f"  {code:<{width}}  ", " " * (width + 4)
        lines += textwrap.wrap(plain, 78, initial_indent=head, subsequent_indent=rest)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``ndpool`` command line."""
    return parsers()["ndpool"]


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def parsers() -> dict[str, argparse.ArgumentParser]:
    """The parser of each command, keyed by its command line (``"ndpool"``, ``"ndpool
    check"``, ``"ndpool report merge"``, ``"ndpool fuzz"``): the one source of the terminal
    help and of the docs' command-line reference (docs/conformance/running.md)."""
    parser = argparse.ArgumentParser(
        prog="ndpool",
        description="ndpool: the conformance suite of N-dimensional pooling.",
        epilog="ndpool check --help lists the options of a run and its exit statuses.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show ndpool's version (and commit) and exit"
    )
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
        description=textwrap.fill(
            "Run the conformance suite against a target and say whether it conforms to the spec.",
            78,
        ),
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
    _report_options(add, "the report")
    add(
        "--db",
        default=None,
        metavar="DB",
        help="the Hypothesis example database: a directory (a CI cache) or "
        "redis://host:port (shared by every shard, machine and fuzzing worker); the "
        "examples stored there replay first, and failures are stored there",
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
    add(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N",
        help="run shard I of N: a fixed 1/N of the op x property cells, balanced by their "
        "measured cost (needs --seed; ndpool report merge combines the shards' JSON "
        "reports)",
    )
    add(
        "--resume",
        nargs="+",
        default=None,
        metavar="REPORT.json",
        help="go on with a run from the JSON reports of its parts (an interrupted run, "
        "shards): run only the cells they did not finish, with the same target, profile, "
        "seed (theirs by default), selection and options; ndpool report merge combines "
        "them all",
    )
    add(
        "--costs",
        default=None,
        metavar="FILE",
        help="the cost table --shard balances by (default: the package's table of the "
        "target where it has one, else ndpool.impl's; python -m "
        "ndpool.conformance.tools.cost_table REPORT.json --out FILE makes one from a full run "
        "of your target)",
    )
    add(
        "--discover",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after a failure, set its region aside and search on with the rest of the "
        "budget, so that each cell lists its distinct failures (default: on at the "
        "thorough profile, off otherwise)",
    )
    add(
        "--conventions",
        choices=CONVENTIONS,
        default="declared",
        help="declared: the convention options take the values the target declares it "
        "follows (its registry's [[convention]] entries); spec: the spec's defaults, so "
        "that every declared convention shows up as a difference",
    )
    add(
        "--unregistered",
        action="store_true",
        help="set the target's registry aside (every deviation fails; its skip entries, "
        "which keep crashes away, stay) and name, on each failure, the registry entry "
        "that covers it or NEW; with --discover, the list of a target's distinct failures "
        "against its registry",
    )
    add("-v", "--verbose", action="store_true", help="one line per cell, and warnings")
    commands = {"ndpool": parser, "ndpool check": check_parser}
    commands["ndpool report merge"] = _report_parsers(sub)
    commands["ndpool fuzz"] = _fuzz_parser(sub)
    return commands


def _report_parsers(sub) -> argparse.ArgumentParser:
    report_parser = sub.add_parser(
        "report",
        help="work with reports: merge the JSON reports of a run's shards",
        description="Work with the reports of ndpool check.",
    )
    report_sub = report_parser.add_subparsers(dest="report_command", required=True)
    merge_parser = report_sub.add_parser(
        "merge",
        help="merge the JSON reports of the shards of one run into one report and verdict",
        description=textwrap.fill(
            "Merge the JSON reports of the shards of one run (ndpool check --shard I/N "
            "--report shard-I.json) into one matrix, one verdict and one exit status. The "
            "reports must be of one run: the same target, profile, seed and selection, "
            "every shard once.",
            78,
        ),
        epilog=_exit_codes_text(merging.EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = merge_parser.add_argument
    add("reports", nargs="+", metavar="REPORT.json", help="the shards' JSON reports")
    _report_options(add, "the merged report")
    return merge_parser


def _fuzz_parser(sub) -> argparse.ArgumentParser:
    fuzz_parser = sub.add_parser(
        "fuzz",
        help="fuzz the target's properties under HypoFuzz, storing failures in the database",
        description=textwrap.fill(
            "Run the suite's properties against a target under HypoFuzz (coverage-guided, "
            "until stopped, with a dashboard), storing every failure it finds in the example "
            "database, where the next ndpool check --db of that database replays it "
            "first. Several machines fuzzing with one --db redis://host:port form one "
            "campaign.",
            78,
        ),
        epilog=_exit_codes_text(fuzzing.EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = fuzz_parser.add_argument
    add(
        "--target",
        default="ndpool.impl",
        metavar="TARGET",
        help="a built-in target (see --list-targets; default ndpool.impl) or module:attribute",
    )
    add("--op", nargs="+", action="extend", default=[], metavar="OP", help="only these ops")
    add(
        "--property",
        nargs="+",
        action="extend",
        default=[],
        dest="properties",
        metavar="PROPERTY",
        help="only these properties",
    )
    add(
        "--db",
        default=fuzzing.DEFAULT_DB,
        metavar="DB",
        help="the example database: a directory or redis://host:port "
        f"(default {fuzzing.DEFAULT_DB})",
    )
    add(
        "--seconds",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C, or until every cell has a new "
        "failure)",
    )
    add(
        "--progress",
        type=_positive_seconds,
        default=fuzzing.FuzzConfig.progress,
        metavar="S",
        help=f"seconds between progress lines (default {fuzzing.FuzzConfig.progress:g})",
    )
    add("-n", dest="jobs", type=int, default=1, metavar="JOBS", help="fuzzing processes (1)")
    add(
        "--dashboard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve HypoFuzz's dashboard (default: on)",
    )
    add("--host", default="localhost", help="the dashboard's host (default localhost)")
    add("--port", type=int, default=9999, help="the dashboard's port (default 9999)")
    add(
        "--deviations",
        default=None,
        metavar="FILE",
        help="a known-deviations TOML file instead of the target's own",
    )
    add("--device", default="cpu", metavar="DEVICE", help="the device of torch-based targets")
    add("-v", "--verbose", action="store_true", help="show HypoFuzz's output, and warnings")
    return fuzz_parser


def help_texts() -> dict[str, str]:
    """The ``--help`` text of each command, keyed by its command line."""
    return {f"{command} --help": p.format_help() for command, p in parsers().items()}


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
    if ns.command == "report":
        return merging.merge(
            ns.reports,
            report=ns.report,
            fmt=ns.report_format,
            junit=ns.junit_xml,
            out=lambda line: print(line, flush=True),
        )
    if ns.command == "fuzz":
        fuzz_cfg = fuzzing.FuzzConfig(
            target=ns.target,
            device=ns.device,
            ops=ns.op,
            properties=ns.properties,
            deviations=ns.deviations,
            db=ns.db,
            seconds=ns.seconds,
            progress=ns.progress,
            jobs=ns.jobs,
            dashboard=ns.dashboard,
            host=ns.host,
            port=ns.port,
            verbose=ns.verbose,
        )
        return fuzzing.fuzz(fuzz_cfg, out=lambda line: print(line, flush=True))
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
        shard=ns.shard,
        costs=ns.costs,
        resume=ns.resume or [],
        discover=ns.discover,
        conventions=ns.conventions,
        unregistered=ns.unregistered,
    )
    return check(cfg, out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
