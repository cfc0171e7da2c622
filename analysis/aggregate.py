"""How frame scores become a track's genre vector -- one definition for all callers.

The CRNN's ten outputs are independent sigmoids, not a distribution. Each
frame's scores are divided by their sum so every frame casts one equal vote;
a track's vector is the mean of its non-silent frames' votes, and its genre
is the arg-max. Silent frames do not vote (the model calls silence
"classical"); a track with no other frame is silent, not classical.

The normalised vector always sums to 1, so its top share says nothing about
whether the model recognised any genre at all: a ukulele clip whose highest
sigmoid is 0.016 comes out "classical 31.6 %". The **confidence** keeps what
the normalisation throws away (see :func:`frame_confidence`): for each voting
frame, the probability the ten sigmoids give to "this frame is the track's
top genre and none of the other nine", times the share of the frame that is
real audio; the track's confidence is the mean over its voting frames.

* The product with ``1 - p`` of the other nine genres matters for sounds the
  model calls several genres at once: white noise has pop at 0.50-0.64 but
  metal, classical and country at 0.24-0.40 too, so it gets 0.13, not 0.5.
* The audio share matters for a track shorter than one frame, which is
  zero-padded: the model hears the padding as quiet classical music, so a
  0.12 s fragment gets a classical sigmoid of 0.35-0.53 that is no evidence
  about the fragment (0.12 / 29.12 of it is audio: confidence 0.001-0.002).

Measured on every clip in ``../shared/audio`` (docs/results.md, "Confidence and
unknown"): 0.10-0.63 for the clips of GTZAN genres, 0.016-0.038 for the
ukulele clip, a 12.9 s speech sample, brown noise and a sine.
:data:`DEFAULT_MIN_CONFIDENCE` lies between the two groups; a track below it
is labelled :data:`UNKNOWN`, its genre vector unchanged.

The same frames give the track's *embedding*: the mean of the voting frames'
embeddings (the last GRU layer's 32 outputs), float32 -- a similarity feature
for ``recogenre similar``, not a genre. A silent frame or track has none.
Likewise its *rhythm* (``analysis/rhythm.py``): the mean of the voting frames'
rhythm descriptors, weighted by their audio share (a short track's one frame
describes its real audio only, so the weight matters only when frames differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recogenre.analysis.frames import FRAME_SECONDS
from recogenre.analysis.genres import GENRES
from recogenre.analysis.rhythm import mean_rhythm

UNKNOWN = "unknown"  # top_genre of a track whose confidence is below the threshold, or of white noise
# Between the highest out-of-genre clip (0.038, a sine) and the lowest GTZAN-genre clip
# (0.102, example_cl.mp3) of the shared clips; close to their geometric mean (0.062).
DEFAULT_MIN_CONFIDENCE = 0.06


def normalise(raw: np.ndarray) -> np.ndarray:
    """Sigmoid scores (..., 10) divided by their sum, in float64."""
    raw = np.asarray(raw, dtype=np.float64)
    return raw / raw.sum(axis=-1, keepdims=True)


def frame_confidence(raw: np.ndarray, genre: int, audio_share: np.ndarray | float = 1.0) -> np.ndarray:
    """P(genre and no other genre) under the frames' (n, 10) independent sigmoids, times their audio share.

    ``audio_share`` is the fraction of each frame that came from the file
    (below 1 only for the single zero-padded frame of a short track).
    """
    raw = np.asarray(raw, dtype=np.float64)
    others = np.prod(np.delete(1.0 - raw, genre, axis=-1), axis=-1)
    return raw[..., genre] * others * np.clip(audio_share, 0.0, 1.0)


def label(
    genres: Sequence[float] | np.ndarray | None,
    confidence: float | None,
    min_confidence: float,
    white_noise: bool | None = False,
) -> str | None:
    """The track's ``top_genre``: None when silent, ``unknown`` below ``min_confidence``, else the arg-max.

    A track whose decoded audio is white noise (``analysis/noise_check.py``:
    random data, not music) is ``unknown`` whatever its confidence. A confidence
    or flag of None (a row written before the column existed) is not judged.
    """
    if genres is None:
        return None
    if white_noise:
        return UNKNOWN
    if confidence is not None and confidence < min_confidence:
        return UNKNOWN
    return GENRES[int(np.argmax(np.asarray(genres, dtype=np.float64)))]


def analysed_seconds(spans: Sequence[tuple[float, float]]) -> float:
    """Seconds of the track inside at least one frame (frames may overlap: ``--cover-tail``)."""
    total, reach = 0.0, -np.inf
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


@dataclass(frozen=True)
class TrackVector:
    """A track's aggregated genres; ``genres`` (and ``confidence``) are None for a silent track."""

    genres: np.ndarray | None  # (10,) fractions summing to 1
    n_frames: int
    n_silent_frames: int
    embedding: np.ndarray | None = None  # (32,) float32 mean of the voting frames' embeddings
    confidence: float | None = None  # see the module docstring
    analysed_s: float | None = None  # seconds inside some frame, silent frames included
    rhythm: np.ndarray | None = None  # (RHYTHM_SIZE,) float32, analysis/rhythm.py; None when silent

    @property
    def silent(self) -> bool:
        return self.genres is None

    @property
    def top_genre(self) -> str | None:
        """The arg-max genre, whatever the confidence (see :meth:`label`)."""
        return None if self.genres is None else GENRES[int(np.argmax(self.genres))]

    @property
    def top_score(self) -> float | None:
        return None if self.genres is None else float(np.max(self.genres))

    def label(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE, white_noise: bool = False) -> str | None:
        """What the outputs call ``top_genre``: :data:`UNKNOWN` below ``min_confidence``, or white noise."""
        return label(self.genres, self.confidence, min_confidence, white_noise)


def mean_embedding(embeddings: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The track's embedding: the mean of its voting frames' embeddings (None: silent), float32.

    Summed in float64, so it is the same whatever order or batches the frames came in.
    """
    voting = [np.asarray(e, np.float64) for e in embeddings if e is not None]
    return np.stack(voting).mean(axis=0).astype(np.float32) if voting else None


def aggregate(
    raw_scores: Sequence[np.ndarray | None],
    embeddings: Sequence[np.ndarray | None] | None = None,
    spans: Sequence[tuple[float, float]] | None = None,
    rhythms: Sequence[np.ndarray | None] | None = None,
) -> TrackVector:
    """Aggregates per-frame raw sigmoid scores (and embeddings, rhythms), in frame order; None marks a
    silent frame.

    ``spans`` are the frames' (start_s, end_s); without them every frame counts
    as a whole frame of audio and ``analysed_s`` is None.
    """
    voting = [i for i, s in enumerate(raw_scores) if s is not None]
    n_silent = len(raw_scores) - len(voting)
    analysed = None if spans is None else analysed_seconds(spans)
    if not voting:
        return TrackVector(None, len(raw_scores), n_silent, analysed_s=analysed)
    embedding = None
    if embeddings is not None:
        embedding = mean_embedding([embeddings[i] for i in voting])
    raw = np.stack([raw_scores[i] for i in voting])
    genres = normalise(raw).mean(axis=0)
    share = 1.0 if spans is None else np.array([(spans[i][1] - spans[i][0]) / FRAME_SECONDS for i in voting])
    confidence = float(frame_confidence(raw, int(np.argmax(genres)), share).mean())
    rhythm = None
    if rhythms is not None:
        weights = np.broadcast_to(np.clip(share, 0.0, 1.0), (len(voting),))
        described = [(rhythms[i], w) for i, w in zip(voting, weights) if rhythms[i] is not None]
        rhythm = mean_rhythm([r for r, _ in described], [w for _, w in described])
    return TrackVector(genres, len(raw_scores), n_silent, embedding, confidence, analysed, rhythm)
