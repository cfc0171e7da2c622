"""What a run leaves out of a library: junk by default, plus the user's ``--exclude`` globs.

Libraries collect files that look like audio and are not a user's music: macOS
AppleDouble files (``._01 Song.mp3``, resource forks, not audio), hidden and trash
folders (``.Trash-1000/``), NAS index folders (Synology ``@eaDir/``, thumbnails and
indexes by the thousand), recycle bins. :data:`DEFAULT_EXCLUDES` names them, once;
``run --no-default-excludes`` turns them off. Excluded entries appear in no table;
the manifest counts them (``counts.excluded``, ``counts.excluded_folders``).

Patterns use the glob syntax of ``--catalogue`` globs (Beam's: ``*`` and ``?`` within
a name, ``**`` across folders, ``[...]``). A pattern without ``/`` is matched against
each name in the path below the catalogue root (``*.m4a``, ``Podcasts``, ``.*``),
one with ``/`` against the path below the root itself and against each of its
folders (``Artist/Live*``, ``**/demos``). A folder that matches is not listed at all:
a NAS ``@eaDir`` can be larger than the music around it. The defaults match
whatever the case (Windows writes ``$Recycle.Bin`` as well as ``$RECYCLE.BIN``);
``--exclude`` patterns match case-sensitively, as paths are compared everywhere else.

They apply to what recogenre lists itself (a folder, a glob; local or remote). A
catalogue file (.csv/.jsonl/.parquet) or a single file names its files one by one,
so each is tagged as asked: nothing in an explicit list is dropped silently.
"""

from __future__ import annotations

import functools
import re

# ".*": dot-files and dot-folders, AppleDouble "._*" files among them (beets ignores ".*" too).
DEFAULT_EXCLUDES = (".*", "@eaDir", "#recycle", "$RECYCLE.BIN", "System Volume Information", "lost+found")


def _regex(pattern: str, flags: int = 0) -> re.Pattern:
    from apache_beam.io.filesystem import FileSystem  # the syntax of --catalogue globs

    return re.compile(FileSystem.translate_pattern(pattern), flags)


class Exclusions:
    """The patterns one run excludes; :meth:`excludes` answers for a path below the root."""

    def __init__(self, patterns: list[str] | tuple[str, ...] = (), defaults: bool = True):
        self.patterns, self.defaults = tuple(patterns), defaults

    @functools.cached_property
    def _names(self) -> list[re.Pattern]:
        """Compiled when first needed, not at import: Beam's glob translation imports Beam
        (~1.5 s of CPU), which ``classify`` and ``serve`` must not pay."""
        named = [(p, 0) for p in self.patterns if "/" not in p]
        named += [(p, re.IGNORECASE) for p in DEFAULT_EXCLUDES] if self.defaults else []
        return [_regex(p, flags) for p, flags in named]

    @functools.cached_property
    def _paths(self) -> list[re.Pattern]:
        return [_regex(p.strip("/")) for p in self.patterns if "/" in p]

    def __repr__(self) -> str:
        return f"Exclusions({list(self.patterns)!r}, defaults={self.defaults})"

    def _key(self) -> tuple:
        return self.patterns, self.defaults

    def __eq__(self, other) -> bool:
        return isinstance(other, Exclusions) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __bool__(self) -> bool:
        return bool(self.patterns or self.defaults)

    def excludes(self, relative: str) -> bool:
        """Whether ``relative`` ('/'-separated, below the catalogue root) or a folder above it
        is excluded. A walk that never enters excluded folders only needs the last name checked,
        but a remote match lists every file, so every folder on the way is checked."""
        parts = [p for p in relative.split("/") if p]
        if any(regex.match(name) for name in parts for regex in self._names):
            return True
        prefixes = ("/".join(parts[: i + 1]) for i in range(len(parts)))
        return bool(self._paths) and any(regex.match(prefix) for prefix in prefixes for regex in self._paths)


NONE = Exclusions(defaults=False)  # a listing that keeps everything
DEFAULT = Exclusions()
