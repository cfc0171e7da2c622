"""A track as a stream of log-mel frames: decoding, framing and the spectrogram.

This is the per-file work of every entry point (pipeline, classifier,
service); it streams, so a long track costs time, not memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from transforms.decode import AudioInfo, AudioStream
from transforms.frames import SAMPLE_RATE, FrameCutter
from transforms.melspec import is_silent, log_mel


@dataclass(frozen=True)
class FrameFeatures:
    """One frame's position, its silence flag and (unless silent) its log-mel."""

    index: int
    start_s: float
    end_s: float
    silent: bool
    melgram: np.ndarray | None  # (96, 1366) float32 dB; None for a silent frame


class TrackReader:
    """Opens one file and yields its frames' features.

    ``info`` is set on entering the context; ``duration_s`` (the decoded
    length at 12 kHz) once :meth:`frames` is exhausted.
    """

    def __init__(self, path: str, trim_seconds: float = 0.0):
        self.path = path
        self._stream = AudioStream(path)
        self._cutter = FrameCutter(trim_seconds)
        self.info: AudioInfo | None = None

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
        for frame in self._cutter.frames(self._stream):
            real = frame.samples[: frame.n_real]
            silent = is_silent(real)
            melgram = None if silent else log_mel(frame.samples)
            yield FrameFeatures(frame.index, frame.start_s, frame.end_s, silent, melgram)
