"""How frame scores become a track's genre vector -- one definition for all callers.

The CRNN's ten outputs are independent sigmoids, not a distribution. Each
frame's scores are divided by their sum so every frame casts one equal vote;
a track's vector is the mean of its non-silent frames' votes, and its genre
is the arg-max. Silent frames do not vote (the model calls silence
"classical"); a track with no other frame is silent, not classical.
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

    @property
    def silent(self) -> bool:
        return self.genres is None

    @property
    def top_genre(self) -> str | None:
        return None if self.genres is None else GENRES[int(np.argmax(self.genres))]

    @property
    def top_score(self) -> float | None:
        return None if self.genres is None else float(np.max(self.genres))


def aggregate(raw_scores: Sequence[np.ndarray | None]) -> TrackVector:
    """Aggregates per-frame raw sigmoid scores, in frame order; None marks a silent frame."""
    voting = [s for s in raw_scores if s is not None]
    n_silent = len(raw_scores) - len(voting)
    if not voting:
        return TrackVector(None, len(raw_scores), n_silent)
    return TrackVector(normalise(np.stack(voting)).mean(axis=0), len(raw_scores), n_silent)
