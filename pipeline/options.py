"""The command-line options every entry point shares, each declared once, and the parser they use.

``recogenre``'s sub-commands (``recogenre/commands/``), ``pipeline/main.py`` (the
script schedulers launch) and the Python API all build their parsers from these
functions, so an option's type, default and help exist in one place. It lives in
``pipeline/`` because ``pipeline/main.py`` and the apps (``serve``) need it and may
not import ``recogenre/``; nothing here imports Beam.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars

from recogenre.analysis.limits import add_max_duration_argument
from recogenre.analysis.logs import say
from recogenre.analysis.outcomes import UsageError
from recogenre.pipeline.helpformat import Parser
from recogenre.pipeline.options_check import check_beam_args, check_numbers


class OneLineParser(Parser):
    """argparse without prefix matching (``--ful`` is not ``--full``), with one-line errors and
    defaults in ``--help``; sub-commands use it too."""

    def __init__(self, *args, allow_abbrev: bool = False, **kwargs):
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)

    def error(self, message: str):
        command = self.prog.removeprefix("recogenre").strip()  # error() already says "recogenre: "
        text = f"{command}: {message} (see --help)" if command else f"{message} (see --help)"
        if _RAISE_USAGE_ERRORS.get():  # the Python API: an exception, not exit status 2
            raise UsageError(text)
        raise SystemExit(usage_error(text))


_RAISE_USAGE_ERRORS = contextvars.ContextVar("recogenre_raise_usage_errors", default=False)


@contextlib.contextmanager
def usage_errors_raised():
    """Within it, a parse error raises :class:`UsageError` instead of exiting (the Python API)."""
    token = _RAISE_USAGE_ERRORS.set(True)
    try:
        yield
    finally:
        _RAISE_USAGE_ERRORS.reset(token)


def usage_error(message: str) -> int:
    """Says the usage error; its exit status (2)."""
    say(message)
    return UsageError.exit_status


def add_weights(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="CRNN weights file, or the NAME of one in the user folder (default: $RECOGENRE_WEIGHTS, "
        "the user folder, the packaged weights; see recogenre weights list)",
    )


def add_trim(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trim-seconds",
        type=float,
        default=0.0,
        metavar="T",
        help="skip T s at the start and end of tracks longer than 2T + 29.12 s",
    )


def add_backend(p: argparse.ArgumentParser) -> None:
    from recogenre.analysis.backends import BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS

    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"runtime for the CRNN (default {DEFAULT_BACKEND}; keras is the reference)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help=f"arithmetic of the CRNN (default {DEFAULT_PRECISION}; bf16 and int8 need --backend openvino, "
        "int8 also recogenre[int8]; see docs/performance.md for what each costs in agreement)",
    )


def add_confidence(p: argparse.ArgumentParser) -> None:
    from recogenre.pipeline import confidence_options  # here: NumPy only after the SIGINT shield

    confidence_options.add_arguments(p)


def add_head(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--head",
        metavar="HEAD",
        help="a head file made by recogenre train: adds your own genres (user_genre, user_confidence, "
        "user_scores, user_parent) to every track; like --min-confidence it only relabels from stored "
        "features, so an unchanged library decodes nothing",
    )


def add_model_options(
    p: argparse.ArgumentParser,
    max_duration_hours: float | None = None,
    too_long: str = "an error row",
    confidence: bool = True,
) -> None:
    """The options of a command that classifies in this process (classify, serve, similar):
    weights, trim, ``--max-duration`` (its default and what a longer file gets), backend and,
    with ``confidence``, ``--min-confidence``/``--cover-tail``."""
    add_weights(p)
    add_trim(p)
    if max_duration_hours is None:
        add_max_duration_argument(p)
    else:
        add_max_duration_argument(p, max_duration_hours, too_long)
    add_backend(p)
    if confidence:
        add_confidence(p)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``run``'s options (``evaluate`` takes the same: it is a run plus scoring)."""
    p.add_argument(
        "--catalogue",
        required=True,
        metavar="SRC",
        help="folder, glob, or catalogue file (.csv/.jsonl/.parquet with a path column)",
    )
    p.add_argument(
        "--output", required=True, metavar="OUT", help="output folder (local or any Beam filesystem)"
    )
    p.add_argument("--full", action="store_true", help="classify everything, ignoring the previous snapshot")
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="try again files that failed before and have not changed since (by default their "
        "error rows are carried over: changes says unchanged_error)",
    )
    from recogenre.analysis.exclusions import DEFAULT_EXCLUDES

    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files and folders matching GLOB below the catalogue folder, besides the default "
        "ones (repeatable; a GLOB without / matches any name in the path, one with / the path itself)",
    )
    p.add_argument(
        "--no-default-excludes",
        action="store_true",
        help=f"do not leave out what is left out by default: {' '.join(DEFAULT_EXCLUDES)}",
    )
    p.add_argument("--keep", type=int, default=7, metavar="N", help="complete runs to keep (default 7)")
    from recogenre.analysis.backends import DEFAULT_BATCH

    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help="largest batch of frames per model call",
    )
    p.add_argument(
        "--model-threads",
        type=int,
        default=None,
        metavar="N",
        help="model threads per worker process (default: chosen from the runner's layout)",
    )
    p.add_argument(
        "--segment-frames",
        type=int,
        default=16,
        metavar="N",
        help="split seekable files (WAV, FLAC, ...) longer than N frames between workers (0: never)",
    )
    add_max_duration_argument(p)
    p.add_argument(
        "--progress-seconds",
        type=float,
        default=None,
        metavar="S",
        help="seconds between progress lines on stderr (0: none; default: 10 on a terminal, "
        "otherwise 60 plus a line per 10%% of tracks)",
    )
    p.add_argument(
        "--max-error-rate",
        type=float,
        default=0.5,
        metavar="R",
        help="do not publish a run in which the model failed for more than this fraction of the files "
        "it classified (default 0.5), nor one in which it failed for every file",
    )
    add_confidence(p)
    add_head(p)
    p.add_argument(
        "--dask_address",
        metavar="URL",
        help="with --runner dask: the scheduler, e.g. tcp://HOST:8786 (default: a local cluster)",
    )
    p.add_argument(
        "--dask_scheduler_file",
        metavar="PATH",
        help="with --runner dask: the scheduler file written by `dask scheduler --scheduler-file`",
    )
    add_weights(p)
    add_trim(p)
    add_backend(p)


def check_options(args: argparse.Namespace, rest: list[str]) -> None:
    """Numbers in range; leftovers only where Beam takes them, and only options Beam knows."""
    if rest and args.command not in ("run", "evaluate"):
        raise UsageError(f"{args.command}: unknown argument {rest[0]} (see --help)")
    check_numbers(args)
    if rest:
        check_beam_args(rest)


