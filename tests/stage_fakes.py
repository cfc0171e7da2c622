"""What the stage tests (tests/test_stages_*.py) share: a fake CRNN and generated inputs.

The fake model is a ``ModelHandler`` like the fakes of Beam's own
``apache_beam/ml/inference/base_test.py``: no weights, no TensorFlow, no
OpenVINO. Its outputs have the CRNN's shapes (10 sigmoid scores and 32
embedding values in [-1, 1] per frame, float32) and are a deterministic
function of the frame's log-mel, so a frame paired with another frame's
scores shows up in the expected values. A log-mel whose first value is
:data:`FAIL_MARK` makes the whole batch raise; :data:`NAN_MARK` makes the fake
return NaN scores for that frame, as broken weights would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from recogenre.analysis.frames import N_MELS, N_STEPS
from recogenre.analysis.genres import GENRES
from recogenre.analysis.model_output import ModelOutput

N_EMBEDDING = 32  # the gru2 layer's width (analysis/model_output.py)
FAIL_MARK = -1000.0
NAN_MARK = -2000.0
FAILURE = "the fake model cannot read this frame"


def fake_outputs(melgram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fake CRNN on one (96, 1366) log-mel: (10 scores in (0, 1), 32 values in [-1, 1]), float32."""
    m = np.asarray(melgram, np.float64)
    rows = np.array([m[g :: len(GENRES)].mean() for g in range(len(GENRES))])
    scores = 1.0 / (1.0 + np.exp(-(rows + 40.0) / 10.0))
    columns = np.array([c.mean() for c in np.array_split(m, N_EMBEDDING, axis=1)])
    embedding = np.tanh((columns + 40.0) / 20.0)
    return scores.astype(np.float32), embedding.astype(np.float32)


class FakeCrnn:
    """Stands in for the loaded model: ``infer`` gives both outputs of a batch, as the real one does."""

    def infer(self, melgrams: np.ndarray) -> ModelOutput:
        if np.any(melgrams[:, 0, 0] == FAIL_MARK):
            raise ValueError(FAILURE)
        pairs = [fake_outputs(m) for m in melgrams]
        scores = np.stack([s for s, _ in pairs])
        scores[melgrams[:, 0, 0] == NAN_MARK] = np.nan
        return ModelOutput(scores, np.stack([e for _, e in pairs]))


class FakeCrnnHandler(ModelHandler[np.ndarray, tuple, FakeCrnn]):
    """``CrnnModelHandler``'s contract (one example = one log-mel; inference = (scores, embedding))."""

    def __init__(self, max_batch_size: int = 1):
        super().__init__(min_batch_size=1, max_batch_size=max_batch_size)

    def load_model(self) -> FakeCrnn:
        return FakeCrnn()

    def run_inference(self, batch: Sequence[np.ndarray], model: FakeCrnn, inference_args=None):
        scores, embeddings = model.infer(np.stack(batch))
        return [PredictionResult(x, (s, e)) for x, s, e in zip(batch, scores, embeddings)]


def melgram(level: float) -> np.ndarray:
    """A log-mel of the CRNN's shape whose fake scores differ by genre and by ``level``."""
    m = np.full((N_MELS, N_STEPS), level, np.float32)
    m += np.linspace(0.0, 5.0, N_MELS, dtype=np.float32)[:, None]
    return m


def marked(mark: float) -> np.ndarray:
    m = melgram(-30.0)
    m[0, 0] = mark
    return m


def write_sine(
    path: Path, seconds: float, sample_rate: int = 22_050, hz: float = 440.0, amp: float = 0.3
) -> Path:
    """A mono sine WAV (``amp`` 0: digital silence)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    sf.write(path, (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32), sample_rate, subtype="FLOAT")
    return path


def clicks(bpm: float, seconds: float, sample_rate: int = 12_000, seed: int = 0) -> np.ndarray:
    """A click track: a 20 ms decaying noise burst on every beat at ``bpm`` (float32, peak ~0.5).

    Its tempo is known by construction, so rhythm features and heads trained on them can be checked.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    y = 0.002 * rng.standard_normal(n)  # a noise floor: not digital silence between beats
    burst_n = round(0.02 * sample_rate)
    burst = rng.standard_normal(burst_n) * np.exp(-np.arange(burst_n) / (0.004 * sample_rate)) * 0.5
    for start in np.arange(0.0, seconds, 60.0 / bpm):
        i = round(start * sample_rate)
        y[i : i + burst_n] += burst[: max(0, min(burst_n, n - i))]
    return y.astype(np.float32)


def write_clicks(path: Path, bpm: float, seconds: float, sample_rate: int = 22_050, seed: int = 0) -> Path:
    """:func:`clicks` as a mono file: float WAV, or 16-bit FLAC (a format ``recogenre tag`` writes)."""
    subtype = "PCM_16" if Path(path).suffix.lower() == ".flac" else "FLOAT"
    sf.write(path, clicks(bpm, seconds, sample_rate, seed), sample_rate, subtype=subtype)
    return path
