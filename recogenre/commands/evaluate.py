"""``recogenre evaluate``: a run of a labelled catalogue plus its scores (``apps/evaluate.py``)."""

from __future__ import annotations

import argparse

from recogenre.pipeline.options import add_run_options


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="run a labelled catalogue and write accuracy, per-genre scores and the confusion matrix",
        description="Tag a labelled catalogue (a genre/file tree or a catalogue with a label column) "
        "and score the results; options not listed here are Beam pipeline options.",
    )
    add_run_options(p)  # the same options as run: evaluate is a run plus scoring
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.evaluate import main

    return main(args)
