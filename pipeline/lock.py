"""One run at a time per output folder.

The rule: a run holds ``OUT/.recogenre.lock`` with ``fcntl.flock`` for its
whole life. The kernel decides who holds it, atomically, and releases it
when the holder's process ends however it ends (SIGKILL, OOM, a reboot), so
there is no stale lock to detect: a lock nobody holds is free, whatever the
file says. What the file says (pid, host, start time, written by the holder
after it got the lock) only names the holder in the message a second run
prints. An empty file (a full disk), a file from another host or container,
or one left by a killed run therefore never blocks a run.

The file is created with its contents in one step (a hard link of a
finished temporary file) and removed by its holder on release; a run that
locked a file which was removed meanwhile starts again, so two runs can
never hold two different files. ``flock`` works on local filesystems and,
on Linux, on NFS (as an fcntl lock); on object stores there is no lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path

LOCK_NAME = ".recogenre.lock"
ATTEMPTS = 20  # each lost race means a holder just released: this never runs out in practice


class LockHeld(Exception):
    """Another live run holds the lock; ``str()`` says who."""


def _holder_text() -> bytes:
    started = dt.datetime.now(dt.UTC).isoformat()
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    return (json.dumps(holder) + "\n").encode()


class RunLock:
    def __init__(self, out: str):
        self.out = out
        self.path = Path(out) / LOCK_NAME
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def _open(self, text: bytes) -> tuple[int, bool]:
        """A descriptor of the lock file, and whether this call created it (with ``text`` in it)."""
        tmp = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
        try:  # the temporary file goes on every path, a write that fails half-way (a full disk) too
            tmp.write_bytes(text)
            try:
                os.link(tmp, self.path)
                created = True
            except FileExistsError:
                created = False
            except OSError:  # a filesystem without hard links: create it empty
                created = False
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o644))
        finally:
            tmp.unlink(missing_ok=True)
        return os.open(self.path, os.O_RDWR), created

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = _holder_text()
        for _ in range(ATTEMPTS):
            try:
                fd, created = self._open(text)
            except FileNotFoundError:  # removed by a holder releasing it just now
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(f"another run is using this output folder ({self._holder()})") from None
            if not self._still_at_path(fd):  # locked a file its holder had just removed
                os.close(fd)
                continue
            if not created:  # a file left by a run that ended: now it names us
                os.pwrite(fd, text, 0)
                os.ftruncate(fd, len(text))
            self.fd = fd
            return
        raise LockHeld(f"could not take the lock {self.path}: other runs keep taking it")

    def _still_at_path(self, fd: int) -> bool:
        try:
            here, mine = os.stat(self.path), os.fstat(fd)
        except FileNotFoundError:
            return False
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def _holder(self) -> str:
        try:
            holder = json.loads(self.path.read_text())
            return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
        except (OSError, ValueError, KeyError, TypeError):
            return f"holder unknown; it holds {self.path}"

    def release(self) -> None:
        if self.fd is None:
            return
        if self._still_at_path(self.fd):
            self.path.unlink(missing_ok=True)  # while still locked, so nobody locks a doomed file
        os.close(self.fd)  # closing the last descriptor drops the flock
        self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire_or_reason(lock: RunLock) -> str | None:
    """Takes ``lock``; when it cannot, the one-line reason to show (the caller exits 1)."""
    try:
        lock.acquire()
    except LockHeld as e:
        return str(e)
    except OSError as e:
        return f"cannot write to output folder {lock.out}: {e.strerror or e}"
    return None
