"""``recogenre train``'s options, declared once for the command and the Python API (``recogenre.train``).

What each does is in ``apps/training.py`` (the model, the CV and the threshold rule),
``apps/label_sources.py`` (``--labels``) and ``analysis/label_rules.py`` (``--mapping``,
``--ignore``, ``--min-tracks``). Nothing here imports scikit-learn: ``--help`` answers at once.
"""

from __future__ import annotations

import argparse

from recogenre.analysis.train_defaults import (
    CALIBRATIONS,
    DEFAULT_CALIBRATION,
    DEFAULT_FEATURE_SET,
    DEFAULT_FOLDS,
    DEFAULT_MIN_TRACKS,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCURACY,
    LABEL_SOURCES_HELP,
    MODELS,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--snapshot", required=True, metavar="OUT", help="output folder of `recogenre run` (reads OUT/latest)"
    )
    p.add_argument("--run", metavar="RUN_ID", help="train on OUT/runs/RUN_ID instead of OUT/latest")
    p.add_argument(
        "--labels", required=True, metavar="SRC", help=f"where the labels are: {LABEL_SOURCES_HELP}"
    )
    p.add_argument(
        "--head", required=True, metavar="HEAD", help="the head file to write (its report: HEAD.report.json)"
    )
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help="label rules, one a line: 'hip hop | hip-hop | rap -> hiphop', '* rock -> rock'; "
        "'x -> -' drops x",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="PATTERN",
        help="drop labels matching PATTERN (repeatable; * ? wildcards)",
    )
    p.add_argument(
        "--min-tracks",
        type=int,
        default=DEFAULT_MIN_TRACKS,
        metavar="N",
        help=f"classes with fewer tracks join their parent or are left out (default {DEFAULT_MIN_TRACKS})",
    )
    p.add_argument(
        "--model", choices=MODELS, default=DEFAULT_MODEL, help=f"classifier (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default=DEFAULT_CALIBRATION,
        help=f"probability calibration (default {DEFAULT_CALIBRATION})",
    )
    p.add_argument(
        "--features",
        metavar="SET",
        help="feature blocks joined by + (embedding, scores, rhythm, embedding_std; default: "
        f"{DEFAULT_FEATURE_SET}, plus rhythm when the snapshot has it)",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=DEFAULT_FOLDS,
        metavar="K",
        help=f"cross-validation folds (default {DEFAULT_FOLDS})",
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="abstain threshold (0-1): below it a track gets its class's parent or unknown "
        "(default: chosen from the CV, see --target-accuracy)",
    )
    p.add_argument(
        "--target-accuracy",
        type=float,
        default=DEFAULT_TARGET_ACCURACY,
        metavar="A",
        help="the threshold chosen is the lowest at which CV accuracy on the tracks answered reaches A "
        f"(default {DEFAULT_TARGET_ACCURACY})",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
