"""``recogenre weights``: which weights a run uses, and installing others (``apps/weights_command.py``)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    from recogenre.apps.weights_command import add_arguments

    p = sub.add_parser("weights", help="list, install or verify CRNN weights")
    add_arguments(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.weights_command import main

    return main(args)
