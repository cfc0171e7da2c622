"""Single-track classification: the CRNN applied to one file's frames.

This is the successor of the original ``quick_test.py`` and the core of the
``classify`` command and the HTTP service. The pipeline runs the same steps
as separate Beam stages but shares every function used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, TrackVector, aggregate, normalise
from recogenre.analysis.backends import DEFAULT_BACKEND, DEFAULT_BATCH, DEFAULT_PRECISION, load_backend
from recogenre.analysis.features import FrameFeatures, TrackReader
from recogenre.analysis.genres import GENRES
from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.model_output import ModelOutput
from recogenre.analysis.result_text import format_text, short_text


class Model:
    """The CRNN loaded once on the chosen backend, applied to batches of log-mel frames."""

    def __init__(
        self,
        weights_path: str,
        weights_sha256: str = "",
        backend: str = DEFAULT_BACKEND,
        precision: str = DEFAULT_PRECISION,
        threads: int | None = None,
    ):
        if not weights_sha256:
            from recogenre.analysis.weights import sha256_of

            weights_sha256 = sha256_of(weights_path)
        self.weights_sha256 = weights_sha256
        self.backend = backend
        self.precision = precision
        self.runtime = load_backend(backend, precision, weights_path, weights_sha256, threads)

    def infer(self, melgrams: np.ndarray) -> ModelOutput:
        """Raw sigmoid scores (n, 10) and embeddings (n, 32) for log-mel frames (n, 96, 1366): one call."""
        return self.runtime.infer(np.asarray(melgrams, dtype=np.float32)[..., np.newaxis])

    def predict(self, melgrams: np.ndarray) -> np.ndarray:
        """Raw sigmoid scores (n, 10) for log-mel frames (n, 96, 1366)."""
        return self.infer(melgrams).scores


class NonFiniteScores(ValueError):
    """The model gave NaN or infinite scores (broken weights): an error, never a genre."""


@dataclass
class FrameResult:
    index: int
    start_s: float
    end_s: float
    silent: bool
    raw: np.ndarray | None  # the ten sigmoid scores; None for a silent frame
    embedding: np.ndarray | None = None  # gru2's 32 outputs; None for a silent frame
    rhythm: np.ndarray | None = None  # analysis/rhythm.py's descriptors; None for a silent frame


@dataclass
class TrackResult:
    """Everything known about one classified file."""

    path: str
    duration_s: float
    sample_rate: int
    codec: str
    frames: list[FrameResult] = field(default_factory=list)
    decode_warnings: str | None = None  # what a damaged file's decode skipped or missed
    white_noise: bool = False  # the decoded audio is white noise (analysis/noise_check.py): unknown
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # below it top_genre is "unknown"

    @property
    def vector(self) -> TrackVector:
        return aggregate(
            [f.raw for f in self.frames],
            [f.embedding for f in self.frames],
            spans=[(f.start_s, f.end_s) for f in self.frames],
            rhythms=[f.rhythm for f in self.frames],
        )

    @property
    def top_genre(self) -> str | None:
        """The genre the outputs give: ``unknown`` below ``min_confidence``, None when silent."""
        return self.vector.label(self.min_confidence, self.white_noise)

    def to_json(self) -> dict[str, Any]:
        """The ``classify --json`` object: percentages 0-100, full precision; confidence 0-1."""
        vector = self.vector
        return {
            "path": self.path,
            "duration_s": self.duration_s,
            "frames": [
                {
                    "start_s": f.start_s,
                    "end_s": f.end_s,
                    "silent": f.silent,
                    "scores": None if f.raw is None else percentages(normalise(f.raw)),
                }
                for f in self.frames
            ],
            "silent": vector.silent,
            "genres": None if vector.silent else percentages(vector.genres),
            "top_genre": vector.label(self.min_confidence, self.white_noise),
            "decode_warnings": self.decode_warnings,
            # a similarity feature (recogenre similar), not a genre; null for a silent track
            "embedding": None if vector.embedding is None else [float(v) for v in vector.embedding],
            "confidence": vector.confidence,
            "analysed_s": vector.analysed_s,
            "white_noise": self.white_noise,  # random data decoded as audio: top_genre unknown
            # tempo, pulse and onsets as analysis/rhythm.py's RHYTHM_COMPONENTS; null for a silent track
            "rhythm": None if vector.rhythm is None else [float(v) for v in vector.rhythm],
        }

    # In a notebook the result shows as ``recogenre classify`` prints it; in a list, one line each.
    def __str__(self) -> str:
        return format_text(self)

    def __repr__(self) -> str:
        return short_text(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's display hook
        printer.text(short_text(self) if cycle else format_text(self))


def percentages(fractions: np.ndarray) -> dict[str, float]:
    return {g: float(v) * 100.0 for g, v in zip(GENRES, fractions)}


def classify_file(
    path: str,
    model: Model,
    trim_seconds: float = 0.0,
    batch_size: int = DEFAULT_BATCH,
    limits: DecodeLimits | None = None,
    cover_tail: bool = False,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> TrackResult:
    """Decodes, frames and classifies one file, holding at most one batch of frames.

    Raises :class:`recogenre.analysis.decode.AudioError` for a file that is not audio,
    is implausible or corrupt, or exceeds ``limits``.
    """
    reader = TrackReader(path, trim_seconds, limits=limits, cover_tail=cover_tail)
    return classify_reader(reader, model, batch_size, min_confidence)


def classify_samples(
    samples: np.ndarray,
    sample_rate: int,
    model: Model,
    trim_seconds: float = 0.0,
    batch_size: int = DEFAULT_BATCH,
    name: str = "<array>",
    cover_tail: bool = False,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> TrackResult:
    """A waveform already in memory, classified exactly as a file holding it would be.

    Layouts and checks: :class:`recogenre.analysis.array_audio.ArrayStream` (ValueError, TypeError).
    """
    from recogenre.analysis.array_audio import ArrayStream

    stream = ArrayStream(samples, sample_rate)
    reader = TrackReader(name, trim_seconds, stream=stream, cover_tail=cover_tail)
    return classify_reader(reader, model, batch_size, min_confidence)


def classify_reader(
    reader: TrackReader,
    model: Model,
    batch_size: int = DEFAULT_BATCH,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> TrackResult:
    """The frames of an unopened reader through the model, holding at most one batch of frames."""
    with reader:
        result = TrackResult(reader.path, 0.0, reader.info.sample_rate, reader.info.codec)
        result.min_confidence = min_confidence
        batch: list[FrameFeatures] = []

        def flush() -> None:
            scores, embeddings = model.infer(np.stack([f.melgram for f in batch]))
            if not (np.isfinite(scores).all() and np.isfinite(embeddings).all()):
                raise NonFiniteScores("the model gave NaN or infinite scores")
            for f, raw, embedding in zip(batch, scores, embeddings):
                result.frames[f.index].raw = raw
                result.frames[f.index].embedding = embedding
            batch.clear()

        for f in reader.frames():
            result.frames.append(FrameResult(f.index, f.start_s, f.end_s, f.silent, None, rhythm=f.rhythm))
            if not f.silent:
                batch.append(f)
                if len(batch) == batch_size:
                    flush()
        if batch:
            flush()
        result.duration_s = reader.duration_s
        result.decode_warnings = reader.decode_warnings
        result.white_noise = reader.white_noise
    return result
