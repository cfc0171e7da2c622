"""``recogenre report``: charts and an HTML page from a run's Parquet (``apps/report.py``)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    from recogenre.apps.report import add_arguments

    p = sub.add_parser("report", help="charts and an HTML page from a run's Parquet")
    add_arguments(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.report import main

    return main(args)
