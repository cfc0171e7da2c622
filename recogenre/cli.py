"""The ``recogenre`` command: one entry point, one sub-command per job (``recogenre/commands/``).

Heavy imports (TensorFlow, Beam) happen inside the sub-commands so that
``--help`` and argument errors answer at once; the options they share are
declared once in ``pipeline/options.py``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from recogenre.analysis.logs import say
from recogenre.analysis.outcomes import CommandError
from recogenre.commands import COMMANDS
from recogenre.pipeline import __version__
from recogenre.pipeline.entry import checked, prepare_process
from recogenre.pipeline.options import OneLineParser, check_options, usage_errors_raised


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="recogenre", description="Music genre tagging with the GTZAN CRNN.")
    parser.add_argument("--version", action="version", version=f"recogenre {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"recogenre.commands.{name}").add_parser(sub)
    return parser


def parse_checked(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed and checked as :func:`main` does, for the Python API (``recogenre.run``).

    Raises :class:`UsageError` with the line ``main`` would print before exiting with status 2.
    """
    with usage_errors_raised():
        args, rest = build_parser().parse_known_args(list(argv))
    check_options(args, rest)
    args.beam_args = rest
    return args


def main(argv: Sequence[str] | None = None) -> int:
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    unshield = prepare_process(starts_beam=words[:1] in (["run"], ["evaluate"]))
    try:
        return _command(argv)
    finally:
        unshield()  # for a caller that lives on (tests, a scheduler): SIGINT as it was


def _command(argv: Sequence[str] | None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    status = checked(args, rest)
    if status is not None:
        return status
    try:
        return args.func(args)
    except CommandError as e:  # the command's typed outcome: said here, as its exit status
        for line in e.lines:
            say(line)
        return e.exit_status
    except BrokenPipeError:
        # The reader of stdout went away (``recogenre classify *.mp3 | head``): stop quietly, as
        # other command-line tools do, and keep Python's flush at exit from raising again
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
