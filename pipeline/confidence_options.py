"""``--min-confidence`` and ``--cover-tail``: one definition for run, evaluate, classify and serve.

What the confidence is, and why the default threshold is what it is, lives
in ``analysis/aggregate.py``; the tail frame in ``analysis/frames.py``.
"""

from __future__ import annotations

import argparse
from typing import Any

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, UNKNOWN


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--min-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        metavar="X",
        help=f"tracks whose confidence (0-1) is below X get top_genre {UNKNOWN}; their genre "
        f"scores are kept (default {DEFAULT_MIN_CONFIDENCE:g}; 0 labels every track as the original did)",
    )
    p.add_argument(
        "--cover-tail",
        action="store_true",
        help="also classify one last frame aligned to the track's end (overlapping the previous one) "
        "instead of dropping what follows the last whole 29.12 s frame",
    )


def confidence_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``cover_tail`` and ``min_confidence``, from a parser that has :func:`add_arguments`' options."""
    return {"cover_tail": args.cover_tail, "min_confidence": args.min_confidence}
