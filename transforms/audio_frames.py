"""Beam stage: one audio file in, its log-mel frames and metadata out.

Frames are emitted as they are computed (a long track is never held whole);
the track's metadata follows its last frame. Any failure becomes one row on
the ``errors`` output instead of failing the bundle, so a bad file never
costs the other files their results.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from recogenre.analysis.catalogue_files import CatalogueEntry, content_sha256, file_stats
from recogenre.analysis.decode import AudioError
from recogenre.analysis.features import FrameFeatures, TrackReader
from recogenre.analysis.file_tags import NO_TAGS, FileTags, read_tags
from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE
from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.logs import error_text
from recogenre.analysis.melspec import log_mel
from recogenre.analysis.segments import Segment

TRACKS_TAG = "tracks"
ERRORS_TAG = "errors"


class TrackMeta(NamedTuple):
    """What one segment of a file (usually the whole file) says about the track."""

    entry: CatalogueEntry
    duration_s: float
    sample_rate: int
    codec: str
    mtime: dt.datetime | None
    content_sha256: str  # computed by segment 0 only
    n_frames: int  # frames in this segment
    segment: int = 0
    segments: int = 1
    decode_warnings: str | None = None
    white_noise: bool = False  # this segment's audio is white noise (analysis/noise_check.py)
    tags: FileTags = NO_TAGS  # the file's own tags, read by segment 0 only


class ErrorRow(NamedTuple):
    path: str
    stage: str
    error_type: str
    message: str
    # The file as it was when it failed (a decode error): what lets a nightly run carry the
    # error over while the file stays the same (analysis/error_carry.py).
    size_bytes: int | None = None
    mtime: dt.datetime | None = None
    first_run_id: str | None = None  # the entry's failed_since; None: this run's


def to_datetime(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class AudioToFrames(beam.DoFn):
    """Segment -> (path, FrameFeatures)*, then (path, TrackMeta) on ``tracks``.

    Failures go to ``errors`` as (path, ErrorRow).
    """

    def __init__(
        self,
        trim_seconds: float = 0.0,
        progress=None,
        limits: DecodeLimits | None = None,
        cover_tail: bool = False,
    ):
        self.trim_seconds = trim_seconds
        self.cover_tail = cover_tail
        self.limits = limits or DecodeLimits()
        self.progress = progress
        self.decoded = Metrics.counter("recogenre", "tracks_decoded")
        self.failed = Metrics.counter("recogenre", "tracks_failed")
        self.frames = Metrics.counter("recogenre", "frames")
        self.audio_seconds = Metrics.counter("recogenre", "audio_seconds")
        self.decode_cpu_ms = Metrics.counter("recogenre", "cpu_ms_decode")
        self.logmel_cpu_ms = Metrics.counter("recogenre", "cpu_ms_logmel")
        self.rhythm_cpu_ms = Metrics.counter("recogenre", "cpu_ms_rhythm")

    def setup(self) -> None:
        self._warm = False
        # This worker's Python warnings (numpy's RuntimeWarning...) as log records, which Beam forwards
        # to the launcher's one-line, time-stamped log, instead of raw lines on the worker's stderr.
        logging.captureWarnings(True)

    def process(self, segment: Segment):
        if not self._warm:
            # builds the cached filter bank and window once per worker,
            # outside the per-stage CPU counters.
            log_mel(np.zeros(FRAME_SAMPLES, np.float32))
            self._warm = True
        if segment.entry.problem:  # ruled out by the catalogue itself: never opened
            error_type, message = segment.entry.problem
            yield self._error(segment, ErrorRow(segment.entry.path, "read", error_type, message))
            return
        entry = file_stats(segment.entry)
        window = None
        if segment.count > 1:
            window = (segment.first_frame, segment.n_frames, segment.start_sample, segment.tail_samples)
        n = 0
        try:
            tail = self.cover_tail
            with TrackReader(entry.path, self.trim_seconds, window, self.limits, cover_tail=tail) as reader:
                for features in reader.frames():
                    n += 1
                    yield entry.path, features
                info = reader.info
                warnings = reader.decode_warnings
                white_noise = reader.white_noise
                duration = segment.total_samples / SAMPLE_RATE if window else reader.duration_s
                self.decode_cpu_ms.inc(round(reader.decode_cpu_s * 1000))
                self.logmel_cpu_ms.inc(round(reader.logmel_cpu_s * 1000))
                self.rhythm_cpu_ms.inc(round(reader.rhythm_cpu_s * 1000))
            fingerprint = content_sha256(entry.path) if segment.index == 0 else ""
        except AudioError as e:
            yield self._error(segment, self._decode_error(entry, e.kind, str(e)))
            return
        except Exception as e:  # an unexpected decoder failure is still one file's error
            yield self._error(segment, self._decode_error(entry, type(e).__name__, error_text(e)))
            return
        # Once per file, the file just decoded (so a regular file, never a FIFO); never fails.
        tags = read_tags(entry.path) if segment.index == 0 else NO_TAGS
        if segment.index == segment.count - 1:
            self.decoded.inc()
        self.frames.inc(n)
        self.audio_seconds.inc(round(duration / segment.count))
        meta = TrackMeta(
            entry,
            duration,
            info.sample_rate,
            info.codec,
            to_datetime(entry.mtime),
            fingerprint,
            n,
            segment.index,
            segment.count,
            warnings,
            white_noise,
            tags,
        )
        yield beam.pvalue.TaggedOutput(TRACKS_TAG, (entry.path, meta))
        self._report(tracks=1 / segment.count, frames=n, audio_seconds=duration / segment.count)

    @staticmethod
    def _decode_error(entry: CatalogueEntry, error_type: str, message: str) -> ErrorRow:
        size, mtime = entry.size_bytes, to_datetime(entry.mtime)
        return ErrorRow(entry.path, "decode", error_type, message, size, mtime, entry.failed_since)

    def _error(self, segment: Segment, row: ErrorRow):
        self.failed.inc()
        self._report(tracks=1 / segment.count)
        return beam.pvalue.TaggedOutput(ERRORS_TAG, (row.path, row))

    def _report(self, **counts) -> None:
        if self.progress is not None:
            self.progress.add(**counts)


class FrameScore(NamedTuple):
    """A classified (or silent) frame, without its spectrogram."""

    index: int
    start_s: float
    end_s: float
    silent: bool
    raw: tuple[float, ...] | None  # ten sigmoid scores; None for a silent frame
    embedding: tuple[float, ...] | None = None  # gru2's 32 outputs (float32 values); None when silent
    rhythm: tuple[float, ...] | None = None  # analysis/rhythm.py's descriptors; None when silent


def silent_score(keyed: tuple[str, FrameFeatures]) -> tuple[str, FrameScore]:
    path, f = keyed
    return path, FrameScore(f.index, f.start_s, f.end_s, True, None)
