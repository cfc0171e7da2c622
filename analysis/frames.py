"""Frame parameters of the original front end, and cutting audio into frames.

A frame is 29.12 s of 12 kHz mono audio: 349,440 samples, which an STFT with
hop 256 and centre padding turns into exactly 1366 columns, the CRNN's input
width.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 12_000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
FRAME_SAMPLES = 349_440  # int(29.12 * 12000)
N_STEPS = 1 + FRAME_SAMPLES // HOP_LENGTH  # 1366
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


@dataclass(frozen=True)
class Frame:
    """One frame of a track: its 12 kHz samples and where it sits in the track."""

    index: int
    start_s: float
    end_s: float
    samples: np.ndarray  # FRAME_SAMPLES float32, zero-padded only for a short track
    n_real: int  # samples that came from the file (less than FRAME_SAMPLES if padded)


class FrameCutter:
    """Cuts a stream of 12 kHz blocks into consecutive frames, remainder dropped.

    Holds at most ``2 * trim + FRAME_SAMPLES`` samples plus one block, however
    long the track. ``trim_seconds`` is dropped at the start and at the end, but
    only when the track is longer than ``2 * trim + one frame``: the original
    trimmed blindly and turned 30-second clips into zeros. A track shorter than
    one frame becomes one zero-padded frame, as in the original.

    With ``cover_tail`` the remainder is not dropped: one more frame, aligned
    to the (trimmed) end of the track, overlaps the previous one, so the last
    seconds are heard too. It needs the previous frame's samples, hence one
    more frame held. Off by default: the original dropped the remainder.

    After the stream is exhausted ``n_samples`` holds the track's length.
    """

    def __init__(self, trim_seconds: float = 0.0, cover_tail: bool = False):
        if trim_seconds < 0:
            raise ValueError("trim_seconds must be >= 0")
        self.trim = round(trim_seconds * SAMPLE_RATE)
        self.cover_tail = cover_tail
        self.n_samples = 0

    def frames(self, blocks: Iterable[np.ndarray]) -> Iterator[Frame]:
        """Yields the frames of ``blocks`` (12 kHz mono float32) in order."""
        self.n_samples = 0
        buffer = _Buffer()
        trim = self.trim
        decided = trim == 0  # with trimming, wait until the track proves long enough
        index = 0
        for block in blocks:
            self.n_samples += len(block)
            buffer.push(block)
            if not decided:
                if len(buffer) <= 2 * trim + FRAME_SAMPLES:
                    continue
                buffer.pop(trim)
                decided = True
            while len(buffer) >= FRAME_SAMPLES + trim:
                start = buffer.offset
                last = buffer.pop(FRAME_SAMPLES)
                yield Frame(index, *_span(start, FRAME_SAMPLES), last, FRAME_SAMPLES)
                index += 1
        if not decided:  # too short to trim: frame it whole, from its start
            trim = 0
            while len(buffer) >= FRAME_SAMPLES:
                start = buffer.offset
                last = buffer.pop(FRAME_SAMPLES)
                yield Frame(index, *_span(start, FRAME_SAMPLES), last, FRAME_SAMPLES)
                index += 1
        remainder = len(buffer) - trim  # what the whole frames left before the trimmed end
        if self.cover_tail and index > 0 and remainder > 0:
            end = buffer.offset + remainder
            samples = np.concatenate([last[remainder:], buffer.pop(remainder)])
            yield Frame(index, *_span(end - FRAME_SAMPLES, FRAME_SAMPLES), samples, FRAME_SAMPLES)
            return
        if index == 0 and len(buffer):
            n = len(buffer)
            padded = np.zeros(FRAME_SAMPLES, np.float32)
            padded[:n] = buffer.pop(n)
            yield Frame(0, *_span(0, n), padded, n)


def _span(start: int, n: int) -> tuple[float, float]:
    return start / SAMPLE_RATE, (start + n) / SAMPLE_RATE


class _Buffer:
    """A FIFO of samples; concatenates lazily so each sample is copied about once."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._len = 0
        self.offset = 0  # stream position of the first held sample

    def __len__(self) -> int:
        return self._len

    def push(self, block: np.ndarray) -> None:
        if len(block):
            self._blocks.append(block)
            self._len += len(block)

    def pop(self, n: int) -> np.ndarray:
        """The first ``n`` samples, as an array of their own."""
        joined = np.concatenate(self._blocks) if len(self._blocks) > 1 else self._blocks[0]
        head = joined[:n].copy() if len(joined) > n else joined
        self._blocks = [joined[n:]] if len(joined) > n else []
        self._len -= n
        self.offset += n
        return head
