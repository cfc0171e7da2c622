"""What one upload may cost ``recogenre serve``: audio length, decode CPU time, and a decode slot.

``run`` reads a catalogue its owner chose and allows 12 h of audio per file;
the service reads whatever a stranger posts, so its budget is much tighter and
enforced at three points (issue 18: a 630 KB FLAC declaring an hour at
768 kHz kept four threads busy for 80 s and ``/healthz`` unanswered):

- length: ``serve --max-duration`` (default 0.5 h). A header that declares
  more is refused before a sample is decoded; a file whose header does not
  say (or lies) is stopped by the decoder once that much audio came out.
- CPU: ``--max-decode-cpu`` seconds of this request's thread CPU time spent
  decoding and resampling (``time.thread_time``: what the request itself
  cost, whatever the other threads and processes on the machine are doing).
- concurrency: ``--max-decodes`` uploads are decoded at once, fewer than
  ``--threads``, so that one worker thread is always left for ``/healthz``
  and for the quick answers. An upload that finds every slot taken is
  answered 503 with ``Retry-After`` at once instead of waiting in a queue.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from recogenre.analysis.decode import AudioError, AudioStream, StreamVerdicts
from recogenre.analysis.limits import DEFAULT_SERVICE_MAX_DURATION_HOURS, DecodeLimits

DEFAULT_MAX_DECODE_CPU_S = 30.0  # a 30-minute 96 kHz FLAC costs a few seconds
# Seconds a client told "busy" should wait: a decode that holds a slot ends within the CPU budget,
# and most end within a few seconds.
RETRY_AFTER_S = 5
# The AudioError kinds of this module (both 413 in the service: the upload is too much work).
TOO_COSTLY = "too_costly"
TOO_LONG = "too_long"


@dataclass(frozen=True)
class UploadBudget:
    """The per-upload budget of the service (see the module docstring)."""

    limits: DecodeLimits
    max_decode_cpu_s: float = DEFAULT_MAX_DECODE_CPU_S

    @classmethod
    def of(cls, limits: DecodeLimits | None, max_decode_cpu_s: float | None) -> UploadBudget:
        """The budget from ``serve``'s values; None: the defaults."""
        cpu = DEFAULT_MAX_DECODE_CPU_S if max_decode_cpu_s is None else max_decode_cpu_s
        return cls(limits or DecodeLimits.from_hours(DEFAULT_SERVICE_MAX_DURATION_HOURS), cpu)

    def stream(self, path: str) -> BudgetedStream:
        return BudgetedStream(path, self)


class Busy(Exception):
    """Every decode slot is taken: the client should retry after ``RETRY_AFTER_S`` seconds."""


class DecodeSlots:
    """At most ``size`` decodes at once; a request that finds none free is refused, never queued."""

    def __init__(self, size: int):
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.running = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            raise Busy(
                f"busy: {self.size} uploads are being decoded (--max-decodes); retry in {RETRY_AFTER_S} s"
            )
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._free.release()


class BudgetedStream(StreamVerdicts):
    """An :class:`AudioStream` that refuses a declared length over the budget and stops at the CPU budget.

    It stands in for the stream :class:`recogenre.analysis.features.TrackReader`
    would open itself (its ``stream=``), so decoding, framing and the result are
    exactly those of ``classify``.
    """

    def __init__(self, path: str, budget: UploadBudget):
        self._stream = AudioStream(path, limits=budget.limits)
        self.budget = budget
        self.path = path
        self.info = None
        self.cpu_s = 0.0

    def __enter__(self) -> BudgetedStream:
        started = time.thread_time()
        self._stream.__enter__()
        self.cpu_s += time.thread_time() - started
        self.info = self._stream.info
        # Only a length field the header really holds (AudioStream's notion of "declared": not an
        # MPEG bitrate estimate) refuses a file unseen; anything else is stopped by the decoder's
        # own budget once that much audio came out.
        declared = self._stream.declared_frames
        limit = self.budget.limits.max_duration_s
        if declared and declared / self.info.sample_rate > limit:
            self.close()
            raise AudioError(
                f"the header declares {declared / self.info.sample_rate / 60:,.1f} min of audio, more than "
                f"the {limit / 3600:g} h limit (--max-duration)",
                TOO_LONG,
            )
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        blocks = iter(self._stream)
        budget = self.budget.max_decode_cpu_s
        while True:
            started = time.thread_time()
            block = next(blocks, None)
            self.cpu_s += time.thread_time() - started
            if self.cpu_s > budget:
                blocks.close()
                raise AudioError(
                    f"decoding needed more than {budget:g} s of CPU time (--max-decode-cpu)", TOO_COSTLY
                )
            if block is None:
                return
            yield block


def add_arguments(p) -> None:
    """``serve``'s budget options (``--max-duration`` is added with the service's default by the CLI)."""
    p.add_argument(
        "--max-decode-cpu",
        type=float,
        default=DEFAULT_MAX_DECODE_CPU_S,
        metavar="S",
        help="CPU seconds one upload may spend being decoded; beyond it, 413 "
        f"(default {DEFAULT_MAX_DECODE_CPU_S:g})",
    )
    p.add_argument(
        "--max-decodes",
        type=int,
        default=None,
        metavar="N",
        help="uploads decoded at once, fewer than --threads so /healthz always has a thread; "
        "beyond it, 503 with Retry-After at once (default: --threads minus 1)",
    )


def argument_problem(args) -> str | None:
    """What is wrong with the budget options together, in one line (each one's own range is in
    ``pipeline/options_check.py``)."""
    if args.max_decodes is not None and not 1 <= args.max_decodes < args.threads:
        return f"--max-decodes must be a whole number >= 1, less than --threads ({args.threads})"
    return None


def decode_slots(args) -> int:
    return args.max_decodes if args.max_decodes is not None else args.threads - 1
