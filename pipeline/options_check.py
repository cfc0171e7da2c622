"""Options checked before anything starts: a typo must not start (or ruin) a nightly run.

Two checks, both ending in one line and exit status 2:

* numbers: each numeric option of any sub-command has a range; NaN, a
  negative trim or a batch of 0 frames are refused up front rather than
  failing every file on the workers;
* leftovers: options ``recogenre run`` does not know go to Beam, but only
  those some Beam ``PipelineOptions`` class registers. Beam itself merely
  logs "Discarding unparseable args" and runs, so ``--fulll`` or
  ``--dry-run`` would start a full run. Options of runners recogenre adds
  count as known when their ``PipelineOptions`` subclass has been imported,
  or when listed in :data:`EXTRA_RUNNER_FLAGS`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any

from recogenre.analysis.outcomes import UsageError

EXTRA_RUNNER_FLAGS: set[str] = set()  # recogenre-only runner flags (e.g. ``--dask_address``)


def _finite_at_least(low: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and math.isfinite(v) and v >= low


def _whole_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and v >= low


# attribute -> (flag, test, what it must be); None (option not given, no default) always passes.
NUMBER_RULES: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "trim_seconds": ("--trim-seconds", _finite_at_least(0), "a number of seconds >= 0"),
    "batch_size": ("--batch-size", _whole_at_least(1), "a whole number >= 1"),
    "model_threads": ("--model-threads", _whole_at_least(1), "a whole number >= 1"),
    "keep": ("--keep", _whole_at_least(1), "a whole number >= 1 (the run just made is always kept)"),
    "segment_frames": ("--segment-frames", _whole_at_least(0), "a whole number >= 0 (0: never split)"),
    "progress_seconds": ("--progress-seconds", _finite_at_least(0), "a number of seconds >= 0 (0: none)"),
    "max_error_rate": (
        "--max-error-rate",
        lambda v: isinstance(v, int | float) and 0 <= v <= 1,
        "a fraction from 0 to 1",
    ),
    "min_confidence": (
        "--min-confidence",
        lambda v: isinstance(v, int | float) and 0 <= v <= 1,
        "a number from 0 to 1",
    ),
    "port": ("--port", lambda v: isinstance(v, int) and 0 <= v <= 65535, "a TCP port from 0 to 65535"),
    "max_upload_mb": ("--max-upload-mb", lambda v: _finite_at_least(0)(v) and v > 0, "a number > 0"),
    # serve: one thread is always kept free for /healthz (apps/upload_budget.py)
    "threads": ("--threads", _whole_at_least(2), "a whole number >= 2 (one thread is kept for /healthz)"),
    "max_decodes": ("--max-decodes", _whole_at_least(1), "a whole number >= 1, less than --threads"),
    "max_decode_cpu": (
        "--max-decode-cpu",
        lambda v: _finite_at_least(0)(v) and v > 0,
        "a number of seconds > 0",
    ),
}


def check_numbers(args: argparse.Namespace) -> None:
    """Raises :class:`UsageError` for the first numeric option out of its range."""
    for attr, (flag, ok, must_be) in NUMBER_RULES.items():
        value = getattr(args, attr, None)
        if value is not None and not ok(value):
            raise UsageError(f"{flag} must be {must_be}, not {value}")


def _option_classes() -> list[type]:
    """Every imported ``PipelineOptions`` subclass (subclasses of subclasses included)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    found: dict[str, type] = {}
    todo = list(PipelineOptions.__subclasses__())
    while todo:
        cls = todo.pop()
        found.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
        todo += cls.__subclasses__()
    return list(found.values())


def unknown_beam_args(args: Sequence[str]) -> list[str]:
    """The arguments in ``args`` that neither Beam nor :data:`EXTRA_RUNNER_FLAGS` knows."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    class Parser(_BeamArgumentParser):
        def error(self, message: str) -> None:  # Beam's parser would print usage and exit
            if not message.startswith("ambiguous option: "):
                raise UsageError(f"Beam option: {message}")

    # "resolve": a class imported twice registers its options twice, as Beam's own parsing allows.
    parser = Parser(allow_abbrev=False, add_help=False, conflict_handler="resolve")
    for cls in _option_classes():
        cls._add_argparse_args(parser)  # Beam's own registration hook
    for flag in sorted(EXTRA_RUNNER_FLAGS - set(parser._option_string_actions)):
        parser.add_argument(flag, nargs="?")
    _, unknown = parser.parse_known_args(list(args))
    return unknown


def check_beam_args(args: Sequence[str]) -> None:
    """Raises :class:`UsageError` naming the first argument nobody knows."""
    unknown = unknown_beam_args(args)
    if unknown:
        first = unknown[0]
        what = "option" if first.startswith("-") else "argument"
        raise UsageError(f"unknown {what} {first} (neither recogenre nor Beam knows it; see --help)")
