"""Listing a local folder or glob: every entry a user can see, each once.

Local catalogues are listed here rather than by Beam's ``LocalFileSystem``
(which ``fileio.MatchFiles`` uses): its ``os.walk`` does not follow symlinked
folders, silently drops dangling links (their ``getsize`` fails) and
interprets any ``[`` in a folder's name as a glob. Conservation -- every
audio-named entry that is not a folder ends up exactly once in ``tracks`` or
``errors`` or is counted as excluded (analysis/exclusions.py), and every
folder that cannot be listed is an error row -- needs
the opposite: every entry listed, bad ones included, so that decoding can
give each its error row. Remote filesystems still go through MatchFiles.

Rules: the root is resolved with ``realpath``; below it paths are kept as
listed. Real folders are walked first; then symlinked folders whose target
(``st_dev``, ``st_ino``) has not been listed yet, under the link's name.
So a link to a folder inside the catalogue adds nothing, a loop ends, and a
link to a folder outside the catalogue is followed once. Links to files,
dangling links, FIFOs, sockets and devices are listed as entries (decoding
turns the bad ones into ``missing`` / ``not_a_file`` rows); nothing is opened.

Folders are never entries themselves (a folder named ``dir.mp3`` is walked
like any other), with one exception: a folder below the root that cannot be
listed (no permission, an I/O error) is listed as an entry with ``error`` set,
so the run gives it an ``unreadable`` row and keeps the tracks it saw under it
before instead of dropping them. A root that cannot be listed raises
:class:`UnlistableRoot`: a catalogue that cannot be read at all is refused.

Entries the run's :class:`~recogenre.analysis.exclusions.Exclusions` rule out (junk,
``--exclude``) are listed with ``excluded`` set, so that they can be counted, and an
excluded folder is never entered (it is one entry, ``is_folder`` set).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from typing import NamedTuple

from recogenre.analysis.exclusions import NONE, Exclusions
from recogenre.analysis.paths import from_os_path, to_os_path

GLOB_CHARS = "*?["


class Listed(NamedTuple):
    path: str  # stored form (see recogenre.analysis.paths)
    relative: str  # below the root, '/'-separated, stored form
    size_bytes: int | None  # regular files only
    mtime: float | None
    error: str | None = None  # set for a folder that cannot be listed: why, with the errno
    excluded: bool = False  # ruled out by the run's exclusions: counted, never read
    is_folder: bool = False  # an excluded folder (not entered) or one that cannot be listed


class UnlistableRoot(OSError):
    """The catalogue's root folder is gone or cannot be listed; ``str()`` says why."""


def why_unlistable(e: OSError) -> str:
    """'Permission denied (EACCES, errno 13)': the reason a folder could not be listed."""
    code = errno.errorcode.get(e.errno, "") if e.errno is not None else ""
    number = f"{code}, errno {e.errno}" if code else f"errno {e.errno}"
    return f"{e.strerror or e} ({number})" if e.errno is not None else str(e)


def has_glob(text: str) -> bool:
    return any(c in text for c in GLOB_CHARS)


def _root_error(root: str, e: OSError) -> UnlistableRoot:
    return UnlistableRoot(f"{from_os_path(root)} cannot be listed: {why_unlistable(e)}")


def _listed(os_path: str, root: str, st: os.stat_result | None) -> Listed:
    regular = st is not None and stat.S_ISREG(st.st_mode)
    return Listed(
        from_os_path(os_path),
        from_os_path(os.path.relpath(os_path, root)).replace(os.sep, "/"),
        st.st_size if regular else None,
        st.st_mtime if regular else None,
    )


def walk(root: str, exclusions: Exclusions = NONE) -> Iterator[Listed]:
    """Every non-folder entry below ``root`` (an OS path), in sorted order per folder,
    plus an entry with ``error`` set for each folder below it that cannot be listed,
    and one with ``excluded`` set for each entry (file or folder, not entered) that
    ``exclusions`` rules out."""
    root = os.path.realpath(root)
    try:
        root_stat = os.stat(root)
    except OSError as e:
        raise _root_error(root, e) from None
    seen: set[tuple[int, int]] = set()
    links: list[tuple[str, os.stat_result]] = []  # symlinked folders, followed after the real tree

    def folder(path: str, st: os.stat_result) -> Iterator[Listed]:
        stack = [(path, st)]
        while stack:
            current, current_stat = stack.pop()
            key = (current_stat.st_dev, current_stat.st_ino)
            if key in seen:
                continue
            seen.add(key)
            try:
                with os.scandir(current) as it:
                    items = sorted(it, key=lambda d: d.name)
            except OSError as e:
                if current == root:
                    raise _root_error(root, e) from None
                yield _listed(current, root, None)._replace(error=why_unlistable(e), is_folder=True)
                continue
            subfolders = []
            for item in items:
                try:
                    if exclusions:
                        listed = _listed(item.path, root, None)
                        if exclusions.excludes(listed.relative):
                            yield listed._replace(excluded=True, is_folder=item.is_dir())
                            continue
                    if item.is_symlink():
                        try:
                            target = os.stat(item.path)
                        except OSError:  # dangling, a loop of links, or no permission
                            yield _listed(item.path, root, None)
                            continue
                        if stat.S_ISDIR(target.st_mode):
                            links.append((item.path, target))
                        else:
                            yield _listed(item.path, root, target)
                    elif item.is_dir(follow_symlinks=False):
                        subfolders.append((item.path, item.stat(follow_symlinks=False)))
                    else:
                        yield _listed(item.path, root, item.stat(follow_symlinks=False))
                except OSError:  # vanished while listing
                    continue
            stack.extend(reversed(subfolders))

    yield from folder(root, root_stat)
    while links:
        links.sort(key=lambda link: link[0])
        path, st = links.pop(0)
        if (st.st_dev, st.st_ino) not in seen:
            yield from folder(path, st)


def list_folder(folder: str, exclusions: Exclusions = NONE) -> list[Listed]:
    """Every entry below a folder (a stored-form path), sorted by path."""
    return sorted(walk(to_os_path(folder), exclusions), key=lambda item: item.path)


def split_glob(pattern: str) -> tuple[str, str]:
    """('/music/a', '**/*.mp3') for '/music/a/**/*.mp3': the fixed folder and the rest.

    A leading folder that exists is literal even with glob characters in its
    name (``/music/take[1]/*.mp3`` lists ``take[1]``), as a folder argument is.
    """
    parts = pattern.split("/")
    fixed = 0
    while fixed < len(parts) - 1 and (
        not has_glob(parts[fixed]) or os.path.isdir(to_os_path("/".join(parts[: fixed + 1])))
    ):
        fixed += 1
    prefix = "/".join(parts[:fixed])
    if not prefix and pattern.startswith("/"):
        prefix = "/"
    return prefix or ".", "/".join(parts[fixed:])


def list_glob(pattern: str, exclusions: Exclusions = NONE) -> list[Listed]:
    """Entries whose path below the glob's fixed folder matches the rest, with Beam's glob syntax.

    The syntax is Beam's (``FileSystem.translate_pattern``: ``*`` within a
    folder, ``**`` across folders), so a glob means the same locally and remotely.
    """
    from apache_beam.io.filesystem import FileSystem

    prefix, rest = split_glob(pattern)
    regex = re.compile(FileSystem.translate_pattern(rest))
    # A folder that cannot be listed is kept whatever its name: what it holds is unknown.
    listed = list_folder(prefix, exclusions)
    return [item for item in listed if item.error or item.is_folder or regex.match(item.relative)]
