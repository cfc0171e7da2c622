"""Long files cut into segments of frames, so several workers can share one.

Beam hands each worker whole elements: a three-hour file as one element
keeps one core busy long after the others have finished. A file libsndfile
seeks exactly (PCM and FLAC containers) and that holds more than
``frames_per_segment`` frames becomes several elements, each decoding only
its own frames (``AudioStream.window``); frame indices, times and hence
results are those of a decode from the start. Other files (MP3, AAC, ...)
stay whole: their decoders do not seek to the sample.

No header is trusted to size the plan: a file is split only when its header
is plausible (see ``analysis/limits.py``), within the duration budget,
held by the file's bytes, and its last second actually reads. On any doubt
the file is one whole segment, and the decoder's own checks and budget
decide what becomes of it. So a header claiming 2^36 samples costs one
element, not millions.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import soundfile as sf

from recogenre.analysis import native_stderr
from recogenre.analysis.catalogue_files import CatalogueEntry
from recogenre.analysis.decode import sndfile_declared_frames
from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE
from recogenre.analysis.limits import (
    MAX_BLOCK_SAMPLES,
    MIN_BYTES_PER_FRAME_TO_SPLIT,
    DecodeLimits,
    length_problem,
    sample_rate_problem,
)
from recogenre.analysis.paths import check_regular, is_remote, to_os_bytes, to_os_path

DEFAULT_FRAMES_PER_SEGMENT = 16  # ~8 minutes of audio
EXACT_SEEK_FORMATS = frozenset({"WAV", "WAVEX", "AIFF", "AU", "FLAC", "W64", "RF64", "CAF"})


class Segment(NamedTuple):
    entry: CatalogueEntry
    index: int  # 0 .. count-1
    count: int  # 1: the whole file, framed while it is decoded
    first_frame: int
    n_frames: int
    start_sample: int  # 12 kHz sample where the first frame starts
    total_samples: int  # the track's length at 12 kHz (0 when count == 1)
    tail_samples: int = 0  # --cover-tail, last segment: samples after its whole frames (for the tail frame)


def whole(entry: CatalogueEntry) -> Segment:
    return Segment(entry, 0, 1, 0, 0, 0, 0)


def trusted_length(path: str, limits: DecodeLimits) -> tuple[int, int] | None:
    """(sample rate, frames) of a local file whose header may size a plan; None on any doubt."""
    try:
        check_regular(to_os_path(path))  # opening a FIFO would block forever
        size = os.path.getsize(to_os_path(path))
        with native_stderr.captured(), sf.SoundFile(to_os_bytes(path)) as f:
            sr, frames = f.samplerate, f.frames
            if f.format not in EXACT_SEEK_FORMATS or sr <= 0 or frames <= 0:
                return None
            if sample_rate_problem(sr) or length_problem(frames, sr, size):
                return None
            if sndfile_declared_frames(f) != frames or limits.too_long(frames / sr):
                return None  # cut short, or to be stopped by the budget: decoded whole
            if size < frames * MIN_BYTES_PER_FRAME_TO_SPLIT:
                return None
            # The end must read: a FLAC cut short or damaged near its end is decoded whole.
            tail = min(frames, sr, max(1, MAX_BLOCK_SAMPLES // max(1, f.channels)))
            f.seek(frames - tail)
            if len(f.read(tail, dtype="float32")) != tail:
                return None
    except Exception:
        return None  # not for libsndfile, or damaged: decoded whole, errors reported there
    return sr, frames


def plan_segments(
    entry: CatalogueEntry,
    trim_seconds: float = 0.0,
    frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT,
    limits: DecodeLimits | None = None,
    cover_tail: bool = False,
) -> list[Segment]:
    """The file's segments; a single whole-file segment unless splitting is exact.

    With ``cover_tail`` only the last segment reads past its whole frames, to
    the (trimmed) end, so the tail frame is made once, where a decode from the
    start makes it.
    """
    if is_remote(entry.path) or frames_per_segment <= 0:
        return [whole(entry)]
    header = trusted_length(entry.path, limits or DecodeLimits())
    if header is None:
        return [whole(entry)]
    sr, frames = header
    total = math.ceil(frames * SAMPLE_RATE / sr)
    trim = round(trim_seconds * SAMPLE_RATE)
    offset = trim if trim and total > 2 * trim + FRAME_SAMPLES else 0
    n_frames = (total - 2 * offset) // FRAME_SAMPLES
    on_grid = (FRAME_SAMPLES * sr) % SAMPLE_RATE == 0 and (offset * sr) % SAMPLE_RATE == 0
    if n_frames <= frames_per_segment or not on_grid:
        return [whole(entry)]
    count = math.ceil(n_frames / frames_per_segment)
    tail = total - 2 * offset - n_frames * FRAME_SAMPLES if cover_tail else 0
    return [
        Segment(
            entry,
            k,
            count,
            k * frames_per_segment,
            min(frames_per_segment, n_frames - k * frames_per_segment),
            offset + k * frames_per_segment * FRAME_SAMPLES,
            total,
            tail if k == count - 1 else 0,
        )
        for k in range(count)
    ]
