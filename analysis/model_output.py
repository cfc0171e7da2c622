"""What one call of the CRNN gives, whichever backend runs it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ModelOutput(NamedTuple):
    """Both outputs of one model call on a batch of frames.

    The embedding is the last GRU layer's output, the 32 values the final Dense
    turns into genre scores: a similarity feature (tracks that sound alike lie
    close), not a genre and not a probability.
    """

    scores: np.ndarray  # (n, 10) float32 raw sigmoid scores
    embeddings: np.ndarray  # (n, 32) float32 gru2 outputs, each in [-1, 1]
