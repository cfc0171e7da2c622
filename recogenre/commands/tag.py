"""``recogenre tag``: the published genres written into the files' own tags (``apps/tagging.py``).

The review lines (one per file, as each is decided or written) and the summary are printed
here from the returned outcomes; errors come as typed exceptions that ``cli.main`` says.
"""

from __future__ import annotations

import argparse

from recogenre.analysis.logs import say
from recogenre.analysis.outcomes import EXIT_FAILED


def add_parser(sub) -> None:
    from recogenre.apps.tagging import add_arguments

    p = sub.add_parser(
        "tag",
        help="write each track's genre into its file's tags (a dry run unless --write)",
        description="Write the top genre of each track of OUT/latest (or of its album, --per album; "
        "up to K genres with --top-k; with --source user, your own genre from `recogenre run --head`) "
        "into the file's genre tag (ID3 TCON, Vorbis comment GENRE, MP4 ©gen). "
        "Prints what it would change unless --write.",
    )
    add_arguments(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.tagging import tag

    result = tag(args, on_file=_show)  # TagError, RunRefused, TagStopped: said by cli.main
    if result.export_error:
        say(result.export_error)
    for line in result.closing_lines():
        print(line, flush=True)
    return EXIT_FAILED if result.failed else 0


def _show(d) -> None:
    """One file's line: a failure on stderr, the rest (the review) on stdout."""
    if d.action == "fail":
        say(f"{d.path}: {d.text}")  # say() escapes control characters
    else:
        from recogenre.analysis.paths import printable  # a name or tag value cannot hide a line

        print(printable(f"{d.path}: {d.text}"), flush=True)
