"""``recogenre tag``: the published genres written into the files' own tags (``apps/tagging.py``)."""

from __future__ import annotations

from recogenre.commands.delegate import add_app_command


def add_parser(sub) -> None:
    add_app_command(
        sub,
        "tag",
        "recogenre.apps.tagging",
        help="write each track's genre into its file's tags (a dry run unless --write)",
        description="Write the top genre of each track of OUT/latest into the file's genre tag "
        "(ID3 TCON, Vorbis comment GENRE, MP4 ©gen). Prints what it would change unless --write.",
    )
