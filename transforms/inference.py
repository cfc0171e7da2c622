"""Beam stage: the CRNN applied to batches of frames through ``RunInference``.

The model is loaded once per worker process (RunInference shares it between
the DoFn instances of a process) and fed batches sized by ``BatchElements``;
a batch of 16 frames is about 8 MB of input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

from transforms.audio_frames import ErrorRow, FrameScore, one_line
from transforms.features import FrameFeatures

DEFAULT_MAX_BATCH = 16


class _NoResourceWarning(logging.Filter):
    """Drops a warning Beam 2.77 logs for every batch when PyTorch is absent.

    ``apache_beam.ml.inference.base`` imports ``resource`` together with a
    PyTorch-only module; without torch it believes ``resource`` is missing
    and warns on each memory probe. Nothing here needs that probe.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Resource module is not available" not in record.getMessage()


logging.getLogger().addFilter(_NoResourceWarning())


class CrnnModelHandler(ModelHandler[np.ndarray, np.ndarray, Any]):
    """Loads the CRNN from any Beam filesystem path and checks it is the expected file."""

    def __init__(self, weights: str, weights_sha256: str, max_batch_size: int = DEFAULT_MAX_BATCH):
        super().__init__(min_batch_size=1, max_batch_size=max_batch_size)
        self.weights = weights
        self.weights_sha256 = weights_sha256

    def load_model(self):
        from transforms.classifier import Model
        from transforms.weights import resolve_weights

        path, digest = resolve_weights(self.weights)
        if digest != self.weights_sha256:
            raise RuntimeError(f"weights at {self.weights} changed during the run (sha256 {digest})")
        return Model(path, digest)

    def run_inference(
        self, batch: Sequence[np.ndarray], model, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        scores = model.predict(np.stack(batch))
        return [PredictionResult(x, s) for x, s in zip(batch, scores)]

    def get_num_bytes(self, batch: Sequence[np.ndarray]) -> int:
        return sum(x.nbytes for x in batch)

    def get_metrics_namespace(self) -> str:
        return "recogenre"


def _to_example(keyed: tuple[str, FrameFeatures]):
    path, f = keyed
    return (path, f.index, f.start_s, f.end_s), f.melgram


def _to_score(keyed: tuple[tuple, PredictionResult]) -> tuple[str, FrameScore]:
    (path, index, start, end), result = keyed
    return path, FrameScore(index, start, end, False, tuple(float(v) for v in result.inference))


def _failed_batch(failure) -> Iterable[tuple[str, ErrorRow]]:
    batch, (exc_type, exc_repr, _) = failure
    for path in dict.fromkeys(key[0] for key, _ in batch):
        yield path, ErrorRow(path, "classify", exc_type.__name__, one_line(exc_repr))


class ClassifyFrames(beam.PTransform):
    """(path, FrameFeatures) -> {"scores": (path, FrameScore), "errors": (path, ErrorRow)}.

    The spectrogram is dropped right after inference, in the same fused stage,
    so frames are never pickled between processes with their 0.5 MB payload.
    """

    def __init__(self, handler: CrnnModelHandler):
        super().__init__()
        self.handler = handler

    def expand(self, frames):
        main, failed = (
            frames
            | "To examples" >> beam.Map(_to_example)
            | "CRNN" >> RunInference(KeyedModelHandler(self.handler)).with_exception_handling()
        )
        scores = main | "To scores" >> beam.Map(_to_score)
        errors = failed.failed_inferences | "Failed batches" >> beam.FlatMap(_failed_batch)
        return {"scores": scores, "errors": errors}
