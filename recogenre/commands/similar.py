"""``recogenre similar``: the tracks of a snapshot nearest to one track (``apps/similar.py``)."""

from __future__ import annotations

import argparse

from recogenre.commands.model import load_model
from recogenre.pipeline.options import add_model_options


def add_parser(sub) -> None:
    from recogenre.apps.similar import add_arguments

    p = sub.add_parser("similar", help="print the tracks of a snapshot most similar to one track")
    add_arguments(p)
    add_model_options(p, confidence=False)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.similar import main

    return main(args, lambda: load_model(args.weights, args.backend, args.precision))
