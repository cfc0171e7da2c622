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

from recogenre.analysis.wording import count

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


TERMINAL_SECONDS = 10.0
LOG_SECONDS = 60.0
LOG_STEPS = 10  # a line per 10 % of tracks in a log


def schedule(seconds: float | None, terminal: bool) -> tuple[float, int]:
    """(seconds between lines, lines per run by tracks done) for ``--progress-seconds``.

    Someone watching a terminal wants a line every 10 s; a log file written by
    cron, systemd or Airflow over a night-long run would drown in them, so there
    a line comes every minute and at each tenth of the tracks. An explicit value
    is taken as given (0: no progress lines).
    """
    if seconds is None:
        return (TERMINAL_SECONDS, 0) if terminal else (LOG_SECONDS, LOG_STEPS)
    return seconds, 0


class ProgressPrinter(threading.Thread):
    """Prints ``tracks done/total, frames/s, time left`` every ``every`` seconds,
    and with ``steps`` also each time another 1/steps of the tracks is done."""

    def __init__(
        self, folder: str, total: int, emit: Callable[[str], None], every: float = 10.0, steps: int = 0
    ):
        super().__init__(daemon=True, name="recogenre-progress")
        self.folder, self.total, self.emit, self.every, self.steps = folder, total, emit, every, steps
        self.started = time.monotonic()
        self._stopping = threading.Event()

    def run(self) -> None:
        if not self.steps:
            while not self._stopping.wait(self.every):
                self.emit(self.line())
            return
        last_line, last_step = time.monotonic(), 0
        while not self._stopping.wait(min(self.every, 2.0)):
            totals = read_totals(self.folder)
            step = int(totals.get("tracks", 0)) * self.steps // max(self.total, 1)
            if step > last_step or time.monotonic() - last_line >= self.every:
                self.emit(self.line(totals))
                last_line, last_step = time.monotonic(), step

    def line(self, totals: dict[str, float] | None = None) -> str:
        """``decoded + carried over / total``; the time left is estimated from the decoding
        rate over what is still to decode, so a nightly run with nothing (left) to decode
        shows no estimate: carried-over tracks cost no decoding time."""
        totals = read_totals(self.folder) if totals is None else totals
        done = int(totals.get("tracks", 0))
        carried = int(totals.get("carried", 0))
        frames = int(totals.get("frames", 0))
        elapsed = time.monotonic() - self.started
        rate = frames / elapsed if elapsed > 0 else 0.0
        remaining = self.total - done - carried
        head = f"progress: {done + carried}/{self.total} tracks"
        if carried:
            head += f" ({carried} carried over)"
        if remaining <= 0:
            left = "nothing left to decode, writing results"
        elif done:
            left = f"~{remaining * elapsed / done:.0f} s left"
        else:
            left = "~? left"
        return f"{head}, {count(frames, 'frame')}, {rate:.1f} frames/s, {left}"

    def stop(self) -> None:
        self._stopping.set()
