"""Local paths as recogenre stores them: canonical, valid UTF-8, and reversible.

The ``path`` column is how a user finds a file again, and the key every
nightly run joins on, so it must be (1) the same string whatever spelling
found the file, and (2) openable later. Two rules give that:

**Canonical form.** A catalogue root (a folder, a glob's fixed prefix, a
catalogue file's folder) is resolved with ``realpath``: ``../music``,
``/home/u/music/`` and a symlink to the folder are one library. Below the
root, paths are kept as listed, so the files of a symlinked subfolder appear
under the link's name (the way the user sees them).

**Undecodable bytes.** Parquet strings must be UTF-8, but Linux file names
are bytes. A name is stored as its UTF-8 text where it is valid; each byte
that is not part of valid UTF-8 -- and each byte of a literal U+FFFD in a
name -- is written as U+FFFD followed by the byte's two lowercase hex
digits (``b'song\\xff.mp3'`` -> ``'song\\ufffdff.mp3'``, shown as
``song�ff.mp3``). Every U+FFFD in a stored path therefore starts an escape,
and :func:`to_os_path` turns any ``path`` value back into the name the
operating system knows. Paths of valid UTF-8 without U+FFFD (nearly all)
are stored unchanged.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from typing import BinaryIO

ESCAPE = "\ufffd"
_ESCAPED = re.compile(ESCAPE + "([0-9a-f]{2})")


# What must never reach a terminal or a log line raw: C0 and C1 controls and DEL (ESC sequences
# move the cursor and erase lines, CR and LF split or overwrite a line), the Unicode line and
# paragraph separators, the bidirectional overrides and isolates (which reorder what is shown),
# and lone surrogates (a name's undecodable bytes, which a UTF-8 terminal cannot print).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` as shown in human-readable output: control characters as visible escapes.

    ESC becomes ``\\x1b``, a newline ``\\n``, U+202E ``\\u202e``: a file name (or a tag value)
    can then neither erase, move, reorder nor split the line it is printed in. Every printer of
    text for people (classify's text, tag's review, run's summary and messages, similar, report,
    evaluate, and every log line) goes through this; Parquet, JSON and CSV keep the raw value.
    """
    return _CONTROLS.sub(_escaped_control, text)


def _escaped_control(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED_CONTROLS.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def is_remote(path: str) -> bool:
    return "://" in path


def from_os_path(name: str | bytes) -> str:
    """An OS path (bytes, or str as ``os`` returns it, surrogate-escaped) -> the stored, valid UTF-8 form."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    try:
        text = raw.decode("utf-8")
        if ESCAPE not in text:
            return text
    except UnicodeDecodeError:
        pass
    out: list[str] = []
    i = 0
    while i < len(raw):
        for width in (1, 2, 3, 4):  # the shortest valid UTF-8 sequence starting here
            chunk = raw[i : i + width]
            try:
                char = chunk.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if char == ESCAPE:
                out.extend(f"{ESCAPE}{b:02x}" for b in chunk)
            else:
                out.append(char)
            i += width
            break
        else:
            out.append(f"{ESCAPE}{raw[i]:02x}")
            i += 1
    return "".join(out)


def to_os_bytes(path: str) -> bytes:
    """A stored ``path`` value -> the file name's exact bytes."""
    if ESCAPE not in path:
        return os.fsencode(path)
    parts = _ESCAPED.split(path)  # text, hex, text, hex, ...
    return b"".join(
        bytes([int(part, 16)]) if k % 2 else part.encode("utf-8", "surrogateescape")
        for k, part in enumerate(parts)
    )


def to_os_path(path: str) -> str:
    """A stored ``path`` value -> a path ``open()`` and ``os`` accept (remote URLs unchanged).

    >>> open(to_os_path(tracks.path[0]), "rb")  # doctest: +SKIP
    """
    if is_remote(path) or ESCAPE not in path:
        return path
    return os.fsdecode(to_os_bytes(path))


def canonical_root(path: str) -> str:
    """A folder (or file) as the user named it -> its absolute real path, stored form."""
    return from_os_path(os.path.realpath(to_os_path(path)))


def canonical_file(path: str) -> str:
    """A file path -> absolute, with its folder resolved and its own name kept.

    The name is kept so that a symlink listed in a catalogue stays itself (its
    own entry, and ``missing`` when it dangles) rather than turning into its target.
    """
    os_path = os.path.abspath(to_os_path(path))
    folder, name = os.path.split(os_path)
    return from_os_path(os.path.join(os.path.realpath(folder), name))


class NotAFile(Exception):
    """The path exists but is not a regular file (FIFO, socket, device, folder)."""

    def __init__(self, what: str, kind: str = "not_a_file"):
        super().__init__(what)
        self.kind = kind


def _describe(mode: int) -> tuple[str, str]:
    if stat.S_ISDIR(mode):
        return "is a directory, not an audio file", "directory"
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return f"not a regular file: {name}", "not_a_file"
    return "not a regular file", "not_a_file"


def check_regular(os_path: str) -> os.stat_result:
    """``os.stat`` of a path that must be a regular file; raises NotAFile or OSError.

    Runs before anything opens the file: opening a FIFO for reading blocks
    until a writer appears, which on an unattended run is forever.
    """
    st = os.stat(os_path)
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(*_describe(st.st_mode))
    return st


def open_regular(path: str) -> BinaryIO:
    """Opens a local stored ``path`` for reading, only if it is a regular file.

    Checked before the open (a device is never opened) and again on the open
    descriptor, which is opened non-blocking so a file swapped for a FIFO in
    between cannot block either. Raises NotAFile or OSError.
    """
    os_path = to_os_path(path)
    check_regular(os_path)
    fd = os.open(os_path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(*_describe(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def explain_missing(os_path: str) -> str:
    """Why a path that cannot be stat'ed is missing: a dangling link says where it pointed."""
    try:
        target = os.readlink(os_path)
    except OSError:
        return "no such file"
    try:
        os.stat(os_path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symbolic link loop"
    return f"dangling symbolic link (points to {from_os_path(target)})"
