"""The ``recogenre`` command: one entry point, one sub-command per job.

Heavy imports (TensorFlow, Beam) happen inside the sub-commands so that
``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import sys
from collections.abc import Sequence

from recogenre.pipeline import __version__
from recogenre.pipeline.helpformat import Parser
from recogenre.pipeline.logs import configure_logging
from recogenre.pipeline.options_check import UsageError, check_beam_args, check_numbers
from recogenre.transforms.limits import (
    DEFAULT_SERVICE_MAX_DURATION_HOURS,
    DecodeLimits,
    add_max_duration_argument,
)


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
        raise SystemExit(_usage_error(text))


_RAISE_USAGE_ERRORS = contextvars.ContextVar("recogenre_raise_usage_errors", default=False)


def _usage_error(message: str) -> int:
    error(message)
    return 2


def _add_weights(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="CRNN weights file, or the NAME of one in the user folder (default: $RECOGENRE_WEIGHTS, "
        "the user folder, the packaged weights; see recogenre weights list)",
    )


def _add_trim(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trim-seconds",
        type=float,
        default=0.0,
        metavar="T",
        help="skip T s at the start and end of tracks longer than 2T + 29.12 s",
    )


def _add_backend(p: argparse.ArgumentParser) -> None:
    from recogenre.transforms.backends import BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS

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
        help=f"arithmetic of the CRNN (default {DEFAULT_PRECISION}; bf16 needs --backend openvino)",
    )


def _add_confidence(p: argparse.ArgumentParser) -> None:
    from recogenre.pipeline import confidence_options

    confidence_options.add_arguments(p)


def error(message: str) -> None:
    from recogenre.pipeline.logs import one_line

    print(one_line(f"recogenre: {message}"), file=sys.stderr, flush=True)


def load_model(weights_flag: str | None, backend: str | None = None, precision: str | None = None):
    """The model, or a one-line message and exit status 2 when the weights or options are wrong."""
    from recogenre.transforms.backends import DEFAULT_BACKEND, DEFAULT_PRECISION, check
    from recogenre.transforms.classifier import Model
    from recogenre.transforms.model_check import validated_weights
    from recogenre.transforms.weights import WeightsError

    backend, precision = backend or DEFAULT_BACKEND, precision or DEFAULT_PRECISION
    try:
        check(backend, precision)
        path, digest = validated_weights(weights_flag)  # a .keras archive is also loaded once, safely
    except (WeightsError, ValueError) as e:
        error(str(e))
        raise SystemExit(2) from None
    try:
        return Model(path, digest, backend, precision)
    except WeightsError as e:
        error(f"{weights_flag or path}: {e}")
        raise SystemExit(2) from None
    except Exception as e:
        error(f"cannot load the {backend} model: {type(e).__name__}: {' '.join(str(e).split())}")
        raise SystemExit(1) from None


def cmd_classify(args: argparse.Namespace) -> int:
    from recogenre.transforms.classifier import classify_file
    from recogenre.transforms.decode import AudioError
    from recogenre.transforms.paths import from_os_path

    model = load_model(args.weights, args.backend, args.precision)
    failed = 0
    for index, name in enumerate(args.files):  # by position: a file named twice gets two charts
        path = from_os_path(name)  # printable even when the name is not UTF-8; opened via to_os_path
        try:
            result = classify_file(
                path,
                model,
                trim_seconds=args.trim_seconds,
                limits=DecodeLimits.from_hours(args.max_duration),
                cover_tail=args.cover_tail,
                min_confidence=args.min_confidence,
            )
        except AudioError as e:
            error(f"{path}: {e}")
            failed += 1
            continue
        except Exception as e:  # one bad file must not stop the others
            error(f"{path}: {type(e).__name__}: {' '.join(str(e).split())}")
            failed += 1
            continue
        if args.json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            print(result, flush=True)  # TrackResult prints as transforms.result_text.format_text
        if args.plot:
            from recogenre.apps.charts import plot_result

            chart = plot_result(result, args.plot, index, len(args.files))
            error(f"chart for {path}: {chart}")
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    from recogenre.pipeline.run import main as run_main

    return run_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="recogenre", description="Music genre tagging with the GTZAN CRNN.")
    parser.add_argument("--version", action="version", version=f"recogenre {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    p = sub.add_parser("classify", help="classify audio files and print their genres")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw each file's genre bar chart; with several files PNG's stem gets -1, -2, …",
    )
    _add_weights(p)
    _add_trim(p)
    add_max_duration_argument(p)
    _add_backend(p)
    _add_confidence(p)
    p.set_defaults(func=cmd_classify)

    from recogenre.pipeline.run import add_arguments

    p = sub.add_parser(
        "run",
        help="tag a catalogue with Apache Beam (other options go to Beam, e.g. --runner)",
        description="Tag a catalogue; options not listed here are Beam pipeline options.",
    )
    add_arguments(p)
    _add_weights(p)
    _add_trim(p)
    _add_backend(p)
    p.set_defaults(func=cmd_run)

    _add_service_commands(sub, add_arguments)
    _add_tag_command(sub)
    _add_similar_command(sub)
    _add_weights_command(sub)
    return parser


def cmd_weights(args: argparse.Namespace) -> int:
    from recogenre.apps.weights_command import main as weights_main

    return weights_main(args)


def _add_weights_command(sub) -> None:
    """weights (issue 21): which weights a run uses, and installing others into the user folder."""
    from recogenre.apps.weights_command import add_arguments as add_weights_arguments

    p = sub.add_parser("weights", help="list, install or verify CRNN weights")
    add_weights_arguments(p)
    p.set_defaults(func=cmd_weights)


def cmd_serve(args: argparse.Namespace) -> int:
    from recogenre.apps.service import argument_problem, serve_command

    problem = argument_problem(args)  # before the model is loaded: a bad option costs no start-up time
    if problem:
        print(f"recogenre: {problem}", file=sys.stderr)
        return 2
    return serve_command(args, load_model(args.weights, args.backend, args.precision))


def cmd_report(args: argparse.Namespace) -> int:
    from recogenre.apps.report import main as report_main

    return report_main(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from recogenre.apps.evaluate import main as evaluate_main

    return evaluate_main(args)


def cmd_similar(args: argparse.Namespace) -> int:
    from recogenre.apps.similar import main as similar_main

    return similar_main(args, lambda: load_model(args.weights, args.backend, args.precision))


def _add_similar_command(sub) -> None:
    """similar (issue 12): nearest tracks by embedding in a snapshot."""
    from recogenre.apps.similar import add_arguments as add_similar_arguments

    p = sub.add_parser("similar", help="print the tracks of a snapshot most similar to one track")
    add_similar_arguments(p)
    _add_weights(p)
    _add_trim(p)
    add_max_duration_argument(p)
    _add_backend(p)
    p.set_defaults(func=cmd_similar)


def _add_service_commands(sub, add_run_arguments) -> None:
    """serve, report and evaluate (issue 5), all on the same core as classify and run."""
    from recogenre.apps.report import add_arguments as add_report_arguments
    from recogenre.apps.service import add_arguments as add_serve_arguments

    p = sub.add_parser("serve", help="serve POST /predict and GET /healthz over HTTP")
    add_serve_arguments(p)
    _add_weights(p)
    _add_trim(p)
    # uploads: a tighter budget, and a header declaring more is refused before decoding
    add_max_duration_argument(p, DEFAULT_SERVICE_MAX_DURATION_HOURS, "413")
    _add_backend(p)
    _add_confidence(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="charts and an HTML page from a run's Parquet")
    add_report_arguments(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "evaluate",
        help="run a labelled catalogue and write accuracy, per-genre scores and the confusion matrix",
        description="Tag a labelled catalogue (a genre/file tree or a catalogue with a label column) "
        "and score the results; options not listed here are Beam pipeline options.",
    )
    add_run_arguments(p)  # the same options as run: evaluate is a run plus scoring
    _add_weights(p)
    _add_trim(p)
    _add_backend(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_tag(args: argparse.Namespace) -> int:
    from recogenre.apps.tagging import main as tag_main

    return tag_main(args)


def _add_tag_command(sub) -> None:
    """tag (issue 12): the published genres written into the files' own tags."""
    from recogenre.apps.tagging import add_arguments as add_tag_arguments

    p = sub.add_parser(
        "tag",
        help="write each track's genre into its file's tags (a dry run unless --write)",
        description="Write the top genre of each track of OUT/latest into the file's genre tag "
        "(ID3 TCON, Vorbis comment GENRE, MP4 ©gen). Prints what it would change unless --write.",
    )
    add_tag_arguments(p)
    p.set_defaults(func=cmd_tag)


def check_options(args: argparse.Namespace, rest: list[str]) -> None:
    """Numbers in range; leftovers only where Beam takes them, and only options Beam knows."""
    if rest and args.command not in ("run", "evaluate"):
        raise UsageError(f"{args.command}: unknown argument {rest[0]} (see --help)")
    check_numbers(args)
    if rest:
        check_beam_args(rest)


def parse_checked(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed and checked as :func:`main` does, for the Python API (``recogenre.run``).

    Raises :class:`UsageError` with the line ``main`` would print before exiting with status 2.
    """
    token = _RAISE_USAGE_ERRORS.set(True)
    try:
        args, rest = build_parser().parse_known_args(list(argv))
    finally:
        _RAISE_USAGE_ERRORS.reset(token)
    check_options(args, rest)
    args.beam_args = rest
    return args


def main(argv: Sequence[str] | None = None) -> int:
    # gRPC's C core (Beam's runner API) otherwise logs INFO lines such as "skipping fork()
    # handlers" straight to stderr, between recogenre's own one-line messages.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    configure_logging()
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    if words[:1] in (["run"], ["evaluate"]):  # before Beam is imported: see pipeline/interrupt.py
        from recogenre.pipeline.interrupt import shield_workers_from_sigint

        shield_workers_from_sigint()
    args, rest = build_parser().parse_known_args(argv)
    if args.command == "run":  # before checking Beam's options imports Beam: see pipeline/warm_workers.py
        from recogenre.pipeline.warm_workers import start

        args.warm_pool = start(rest, args)
    try:
        check_options(args, rest)
    except UsageError as e:
        return _usage_error(str(e))
    args.beam_args = rest
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader of stdout went away (``recogenre classify *.mp3 | head``): stop quietly, as
        # other command-line tools do, and keep Python's flush at exit from raising again
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
