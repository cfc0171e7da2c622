"""One run at a time per output folder.

The lock is a file created with O_EXCL holding the holder's pid, host and
start time. A lock whose holder is gone (same host, no such process, or a
process that is not recogenre) is stale and taken over, so a run killed with
SIGKILL never blocks the next night's run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

LOCK_NAME = ".recogenre.lock"


class LockHeld(Exception):
    """Another live run holds the lock; ``str()`` says who."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a recycled pid belongs to some other program
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True
    return b"recogenre" in cmdline or b"pipeline" in cmdline


class RunLock:
    def __init__(self, out: str):
        self.path = Path(out) / LOCK_NAME
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", 0))):
                    self.path.unlink(missing_ok=True)  # stale: its run was killed
                    continue
                who = f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
                raise LockHeld(
                    f"another run is using this output folder ({who}); if it is gone, delete {self.path}"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "started": dt.datetime.now(dt.UTC).isoformat(),
                    },
                    f,
                )
            self.held = True
            return
        raise LockHeld(f"could not take the lock {self.path}")

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
