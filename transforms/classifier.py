"""Single-track classification: the CRNN applied to one file's frames.

This is the successor of the original ``quick_test.py`` and the core of the
``classify`` command and the HTTP service. The pipeline runs the same steps
as separate Beam stages but shares every function used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recogenre.transforms.aggregate import TrackVector, aggregate, normalise
from recogenre.transforms.backends import DEFAULT_BACKEND, DEFAULT_BATCH, DEFAULT_PRECISION, load_backend
from recogenre.transforms.features import FrameFeatures, TrackReader
from recogenre.transforms.genres import GENRES
from recogenre.transforms.limits import DecodeLimits

DEFAULT_BATCH_SIZE = DEFAULT_BATCH  # frames per model call


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
            from recogenre.transforms.weights import sha256_of

            weights_sha256 = sha256_of(weights_path)
        self.weights_sha256 = weights_sha256
        self.backend = backend
        self.precision = precision
        self.runtime = load_backend(backend, precision, weights_path, weights_sha256, threads)

    def predict(self, melgrams: np.ndarray) -> np.ndarray:
        """Raw sigmoid scores (n, 10) for log-mel frames (n, 96, 1366)."""
        x = np.asarray(melgrams, dtype=np.float32)[..., np.newaxis]
        return self.runtime.predict(x)


class NonFiniteScores(ValueError):
    """The model gave NaN or infinite scores (broken weights): an error, never a genre."""


@dataclass
class FrameResult:
    index: int
    start_s: float
    end_s: float
    silent: bool
    raw: np.ndarray | None  # the ten sigmoid scores; None for a silent frame


@dataclass
class TrackResult:
    """Everything known about one classified file."""

    path: str
    duration_s: float
    sample_rate: int
    codec: str
    frames: list[FrameResult] = field(default_factory=list)
    decode_warnings: str | None = None  # what a damaged file's decode skipped or missed

    @property
    def vector(self) -> TrackVector:
        return aggregate([f.raw for f in self.frames])

    def to_json(self) -> dict[str, Any]:
        """The ``classify --json`` object: percentages 0-100, full precision."""
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
            "top_genre": vector.top_genre,
            "decode_warnings": self.decode_warnings,
        }


def percentages(fractions: np.ndarray) -> dict[str, float]:
    return {g: float(v) * 100.0 for g, v in zip(GENRES, fractions)}


def classify_file(
    path: str,
    model: Model,
    trim_seconds: float = 0.0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limits: DecodeLimits | None = None,
) -> TrackResult:
    """Decodes, frames and classifies one file, holding at most one batch of frames.

    Raises :class:`recogenre.transforms.decode.AudioError` for a file that is not audio,
    is implausible or corrupt, or exceeds ``limits``.
    """
    with TrackReader(path, trim_seconds, limits=limits) as reader:
        result = TrackResult(path, 0.0, reader.info.sample_rate, reader.info.codec)
        batch: list[FrameFeatures] = []

        def flush() -> None:
            scores = model.predict(np.stack([f.melgram for f in batch]))
            if not np.isfinite(scores).all():
                raise NonFiniteScores("the model gave NaN or infinite scores")
            for f, raw in zip(batch, scores):
                result.frames[f.index].raw = raw
            batch.clear()

        for f in reader.frames():
            result.frames.append(FrameResult(f.index, f.start_s, f.end_s, f.silent, None))
            if not f.silent:
                batch.append(f)
                if len(batch) == batch_size:
                    flush()
        if batch:
            flush()
        result.duration_s = reader.duration_s
        result.decode_warnings = reader.decode_warnings
    return result
