"""``recogenre run``: tag a catalogue with Beam and publish a snapshot (``pipeline/run.py``)."""

from __future__ import annotations

import argparse

from recogenre.pipeline.entry import RUN_DESCRIPTION, RUN_HELP
from recogenre.pipeline.options import add_run_options


def add_parser(sub) -> None:
    p = sub.add_parser("run", help=RUN_HELP, description=RUN_DESCRIPTION)
    add_run_options(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.pipeline.run import main as run_main

    return run_main(args, warm_pool=args.warm_pool)  # started by checked(), before Beam loads
