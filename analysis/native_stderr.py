"""Keeping C decoders' chatter off the user's terminal.

libsndfile decodes MP3 with libmpg123, which prints notes and errors about
damaged streams straight to file descriptor 2 from C ("Note: Illegal
Audio-MPEG-Header ...", "[src/libmpg123/parse.c:...] error: ..."); no
Python logging setting reaches it and libsndfile offers no switch. So calls
into libsndfile run with descriptor 2 pointed at a scratch file, and the
lines are handed back to the decoder, which summarises them in the track's
warning or error. Descriptor 2 belongs to the whole process, so one lock
serialises the redirected calls (each reads one block, a few milliseconds),
and anything another thread wrote meanwhile that is not library chatter is
passed on to the real stderr unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
_held = threading.local()
_scratch: int | None = None  # one scratch file per process, truncated before each call
_CHATTER = re.compile(rb"^(Note|Warning|Error): |libmpg123|^\[src/|mpg123")


def _scratch_fd() -> int:
    global _scratch
    if _scratch is None:
        fd, name = tempfile.mkstemp(prefix="recogenre-stderr-")
        os.unlink(name)
        _scratch = fd
    return _scratch


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Runs the body with fd 2 captured; the list holds the library's lines afterwards."""
    lines: list[str] = []
    if getattr(_held, "yes", False):  # nested in this thread: the outer capture holds fd 2
        yield lines
        return
    with _LOCK:
        _held.yes = True
        try:
            with _redirected(lines):
                yield lines
        finally:
            _held.yes = False


@contextlib.contextmanager
def _redirected(lines: list[str]) -> Iterator[None]:
    try:
        scratch = _scratch_fd()
        os.ftruncate(scratch, 0)
        os.lseek(scratch, 0, os.SEEK_SET)  # fd 2 will share this offset
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (a daemon) or no temp folder: nothing to capture
        yield
        return
    os.dup2(scratch, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        size = os.fstat(scratch).st_size
        data = os.pread(scratch, size, 0) if size else b""
        other = []
        for line in data.splitlines(keepends=True):
            if _CHATTER.search(line):
                lines.append(" ".join(line.decode("utf-8", "replace").split()))
            else:
                other.append(line)
        if other:
            with contextlib.suppress(OSError):
                os.write(2, b"".join(other))
