"""A track as a stream of log-mel frames: decoding, framing and the spectrogram.

This is the per-file work of every entry point (pipeline, classifier,
service); it streams, so a long track costs time, not memory.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from recogenre.analysis.decode import AudioInfo, AudioStream, StreamVerdicts
from recogenre.analysis.frames import FRAME_SAMPLES, HOP_LENGTH, N_STEPS, SAMPLE_RATE, FrameCutter
from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.melspec import is_silent, log_mel
from recogenre.analysis.rhythm import rhythm_vector


@dataclass(frozen=True)
class FrameFeatures:
    """One frame's position, its silence flag and (unless silent) its log-mel."""

    index: int
    start_s: float
    end_s: float
    silent: bool
    melgram: np.ndarray | None  # (96, 1366) float32 dB; None for a silent frame
    rhythm: np.ndarray | None = None  # analysis/rhythm.py's descriptors of its real audio; None when silent


class TrackReader(StreamVerdicts):
    """Opens one file and yields its frames' features.

    ``info`` is set on entering the context; ``duration_s`` (the decoded
    length at 12 kHz) once :meth:`frames` is exhausted. ``decode_cpu_s``,
    ``logmel_cpu_s`` and ``rhythm_cpu_s`` hold this thread's CPU time in each
    stage, for the benchmark's per-stage costs.
    """

    def __init__(
        self,
        path: str,
        trim_seconds: float = 0.0,
        window: tuple[int, ...] | None = None,
        limits: DecodeLimits | None = None,
        stream: AudioStream | None = None,
        cover_tail: bool = False,
    ):
        """``window`` = (first frame, frames, start sample[, tail samples]) reads only those frames,
        and with ``cover_tail`` the track's tail frame from the ``tail samples`` after them (the
        last segment of a split file); ``stream`` replaces the file's decoder
        (``analysis/array_audio.py``: a waveform already in memory)."""
        self.path = path
        self.window = window
        self._stream = stream if stream is not None else AudioStream(path, limits=limits)
        self._cutter = FrameCutter(0.0 if window else trim_seconds, cover_tail)
        self.info: AudioInfo | None = None
        self.decode_cpu_s = 0.0
        self.logmel_cpu_s = 0.0
        self.rhythm_cpu_s = 0.0

    def __enter__(self) -> TrackReader:
        self._stream.__enter__()
        self.info = self._stream.info
        return self

    def __exit__(self, *exc) -> None:
        self._stream.close()

    @property
    def duration_s(self) -> float:
        return self._cutter.n_samples / SAMPLE_RATE

    def frames(self) -> Iterator[FrameFeatures]:
        clock = time.thread_time
        if self.window:
            first, count, start, *tail = self.window
            samples = self._stream.window(start, count * FRAME_SAMPLES + (tail[0] if tail else 0))
            frames = (
                dataclasses.replace(
                    f,
                    index=first + f.index,
                    start_s=f.start_s + start / SAMPLE_RATE,
                    end_s=f.end_s + start / SAMPLE_RATE,
                )
                for f in self._cutter.frames(samples)
            )
        else:
            frames = self._cutter.frames(self._stream)
        while True:
            t0 = clock()
            frame = next(frames, None)
            t1 = clock()
            self.decode_cpu_s += t1 - t0
            if frame is None:
                return
            silent = is_silent(frame.samples[: frame.n_real])
            melgram = None if silent else log_mel(frame.samples)
            t2 = clock()
            self.logmel_cpu_s += t2 - t1
            rhythm = None
            if melgram is not None:  # described from its real columns only (a short track is padded)
                rhythm = rhythm_vector(melgram[:, : min(N_STEPS, 1 + frame.n_real // HOP_LENGTH)])
            self.rhythm_cpu_s += clock() - t2
            yield FrameFeatures(frame.index, frame.start_s, frame.end_s, silent, melgram, rhythm)
