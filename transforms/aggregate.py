"""How frame scores become a track's genre vector -- one definition for all callers.

The CRNN's ten outputs are independent sigmoids, not a distribution. Each
frame's scores are divided by their sum so every frame casts one equal vote;
a track's vector is the mean of its non-silent frames' votes, and its genre
is the arg-max. Silent frames do not vote (the model calls silence
"classical"); a track with no other frame is silent, not classical.

The same frames give the track's *embedding*: the mean of the voting frames'
embeddings (the last GRU layer's 32 outputs), float32 -- a similarity feature
for ``recogenre similar``, not a genre. A silent frame or track has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recogenre.transforms.genres import GENRES


def normalise(raw: np.ndarray) -> np.ndarray:
    """Sigmoid scores (..., 10) divided by their sum, in float64."""
    raw = np.asarray(raw, dtype=np.float64)
    return raw / raw.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class TrackVector:
    """A track's aggregated genres; ``genres`` is None for a silent track."""

    genres: np.ndarray | None  # (10,) fractions summing to 1
    n_frames: int
    n_silent_frames: int
    embedding: np.ndarray | None = None  # (32,) float32 mean of the voting frames' embeddings

    @property
    def silent(self) -> bool:
        return self.genres is None

    @property
    def top_genre(self) -> str | None:
        return None if self.genres is None else GENRES[int(np.argmax(self.genres))]

    @property
    def top_score(self) -> float | None:
        return None if self.genres is None else float(np.max(self.genres))


def mean_embedding(embeddings: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The track's embedding: the mean of its voting frames' embeddings (None: silent), float32.

    Summed in float64, so it is the same whatever order or batches the frames came in.
    """
    voting = [np.asarray(e, np.float64) for e in embeddings if e is not None]
    return np.stack(voting).mean(axis=0).astype(np.float32) if voting else None


def aggregate(
    raw_scores: Sequence[np.ndarray | None], embeddings: Sequence[np.ndarray | None] | None = None
) -> TrackVector:
    """Aggregates per-frame raw sigmoid scores (and embeddings), in frame order; None marks a silent frame."""
    voting = [s for s in raw_scores if s is not None]
    n_silent = len(raw_scores) - len(voting)
    if not voting:
        return TrackVector(None, len(raw_scores), n_silent)
    embedding = None
    if embeddings is not None:
        embedding = mean_embedding([e for s, e in zip(raw_scores, embeddings) if s is not None])
    return TrackVector(normalise(np.stack(voting)).mean(axis=0), len(raw_scores), n_silent, embedding)
