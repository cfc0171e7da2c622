"""``recogenre tag``: the published genres written into the files' own tags (``apps/tagging.py``)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    from recogenre.apps.tagging import add_arguments

    p = sub.add_parser(
        "tag",
        help="write each track's genre into its file's tags (a dry run unless --write)",
        description="Write the top genre of each track of OUT/latest into the file's genre tag "
        "(ID3 TCON, Vorbis comment GENRE, MP4 ©gen). Prints what it would change unless --write.",
    )
    add_arguments(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.tagging import main

    return main(args)
