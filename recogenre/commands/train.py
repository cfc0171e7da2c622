"""``recogenre train``: a head for the user's own genres, learnt from a snapshot (``apps/training.py``)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    from recogenre.pipeline.train_options import add_arguments

    p = sub.add_parser(
        "train",
        help="learn the library's own genres from labelled tracks of a snapshot (a head for run --head)",
        description="Fit a classifier head on the stored features of a snapshot's labelled tracks "
        "(no audio is decoded), with a grouped cross-validated report.",
    )
    add_arguments(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    import json
    import sys

    from recogenre.apps.training import main, report_text

    stats_to = sys.stderr if args.json else sys.stdout  # the label statistics, before training starts
    result = main(args, on_stats=lambda text: print(text, file=stats_to, flush=True))
    if args.json:
        print(json.dumps(result.report), flush=True)
    else:
        print(report_text(result), flush=True)
    return 0
