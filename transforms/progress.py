"""Progress of a running pipeline, for the person waiting at the terminal.

Workers add to small per-process counter files in a local folder; the
launcher sums them every few seconds. Beam's own metrics only reach the
launcher when a bundle completes -- with the DirectRunner that can be the
end of the run -- so they feed the final manifest, and these files feed the
live progress line. Used only when the output folder is local (the
DirectRunner and local portable runs); other runners have their own UIs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

FLUSH_SECONDS = 2.0


class ProgressWriter:
    """Picklable; each process keeps its own totals and rewrites its own file."""

    def __init__(self, folder: str):
        self.folder = folder
        self._totals: dict[str, float] | None = None
        self._last = 0.0

    def __getstate__(self):
        return {"folder": self.folder}

    def __setstate__(self, state):
        self.__init__(state["folder"])

    def add(self, **counts: float) -> None:
        if self._totals is None:
            self._totals = {}
        for k, v in counts.items():
            self._totals[k] = self._totals.get(k, 0) + v
        now = time.monotonic()
        if now - self._last >= FLUSH_SECONDS:
            self._last = now
            self.flush()

    def flush(self) -> None:
        if not self._totals:
            return
        path = Path(self.folder) / f"{os.getpid()}-{id(self)}.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self._totals))
            os.replace(tmp, path)
        except OSError:
            pass  # progress is best effort; results never depend on it

    def __del__(self):
        self.flush()


def read_totals(folder: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for f in Path(folder).glob("*.json"):
        try:
            for k, v in json.loads(f.read_text()).items():
                totals[k] = totals.get(k, 0) + v
        except (OSError, ValueError):
            continue
    return totals


class ProgressPrinter(threading.Thread):
    """Prints ``tracks done/total, frames/s, time left`` every ``every`` seconds."""

    def __init__(self, folder: str, total: int, emit: Callable[[str], None], every: float = 10.0):
        super().__init__(daemon=True, name="recogenre-progress")
        self.folder, self.total, self.emit, self.every = folder, total, emit, every
        self.started = time.monotonic()
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.every):
            self.emit(self.line())

    def line(self) -> str:
        totals = read_totals(self.folder)
        done = int(totals.get("tracks", 0))
        frames = int(totals.get("frames", 0))
        elapsed = time.monotonic() - self.started
        rate = frames / elapsed if elapsed > 0 else 0.0
        left = "?"
        if 0 < done < self.total:
            left = f"{(self.total - done) * elapsed / done:.0f} s"
        elif done >= self.total:
            left = "0 s (writing results)"
        return f"progress: {done}/{self.total} tracks, {frames} frames, {rate:.1f} frames/s, ~{left} left"

    def stop(self) -> None:
        self._stop.set()
