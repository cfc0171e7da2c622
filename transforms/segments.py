"""Long files cut into segments of frames, so several workers can share one.

Beam hands each worker whole elements: a three-hour file as one element
keeps one core busy long after the others have finished. A file libsndfile
seeks exactly (PCM and FLAC containers) and that holds more than
``frames_per_segment`` frames becomes several elements, each decoding only
its own frames (``AudioStream.window``); frame indices, times and hence
results are those of a decode from the start. Other files (MP3, AAC, ...)
stay whole: their decoders do not seek to the sample.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import soundfile as sf

from transforms.catalogue import CatalogueEntry
from transforms.frames import FRAME_SAMPLES, SAMPLE_RATE
from transforms.paths import check_regular, to_os_bytes, to_os_path

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


def whole(entry: CatalogueEntry) -> Segment:
    return Segment(entry, 0, 1, 0, 0, 0, 0)


def plan_segments(
    entry: CatalogueEntry, trim_seconds: float = 0.0, frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT
) -> list[Segment]:
    """The file's segments; a single whole-file segment unless splitting is exact."""
    if "://" in entry.path or frames_per_segment <= 0:
        return [whole(entry)]
    try:
        check_regular(to_os_path(entry.path))  # sf.info opens the file: a FIFO would block forever
        info = sf.info(to_os_bytes(entry.path))
    except Exception:
        return [whole(entry)]  # not for libsndfile: decoded whole, errors reported there
    sr = info.samplerate
    if info.format not in EXACT_SEEK_FORMATS or sr <= 0 or info.frames <= 0:
        return [whole(entry)]
    total = math.ceil(info.frames * SAMPLE_RATE / sr)
    trim = round(trim_seconds * SAMPLE_RATE)
    offset = trim if trim and total > 2 * trim + FRAME_SAMPLES else 0
    n_frames = (total - 2 * offset) // FRAME_SAMPLES
    on_grid = (FRAME_SAMPLES * sr) % SAMPLE_RATE == 0 and (offset * sr) % SAMPLE_RATE == 0
    if n_frames <= frames_per_segment or not on_grid:
        return [whole(entry)]
    count = math.ceil(n_frames / frames_per_segment)
    return [
        Segment(
            entry,
            k,
            count,
            k * frames_per_segment,
            min(frames_per_segment, n_frames - k * frames_per_segment),
            offset + k * frames_per_segment * FRAME_SAMPLES,
            total,
        )
        for k in range(count)
    ]
