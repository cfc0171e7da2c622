"""Beam stage: the CRNN applied to batches of frames through ``RunInference``.

The model is loaded once per worker process (RunInference shares it between
the DoFn instances of a process) and fed batches sized by ``BatchElements``;
a batch of 4 frames is about 2 MB of input.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

from recogenre.analysis.backends import DEFAULT_BACKEND, DEFAULT_BATCH, DEFAULT_PRECISION
from recogenre.analysis.features import FrameFeatures
from recogenre.analysis.logs import error_text
from recogenre.transforms.audio_frames import ErrorRow, FrameScore

SCORE_ERRORS = "score_errors"
NON_FINITE = "NonFiniteScores"


class _NoResourceWarning(logging.Filter):
    """Drops a warning Beam 2.77 logs for every batch when PyTorch is absent.

    ``apache_beam.ml.inference.base`` imports ``resource`` together with a
    PyTorch-only module; without torch it believes ``resource`` is missing
    and warns on each memory probe. Nothing here needs that probe.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Resource module is not available" not in record.getMessage()


logging.getLogger().addFilter(_NoResourceWarning())


class LazyModel:
    """The per-worker model, loaded on its first batch (once per process, as RunInference shares it)."""

    def __init__(self, load):
        self._load = load  # () -> (model, CPU ms spent loading it; 0 when it came from the process cache)
        self._model = None
        self._load_ms = 0
        self._lock = threading.Lock()

    def load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model, self._load_ms = self._load()
        return self._model

    def take_load_ms(self) -> int:
        """The load's CPU ms, once: Beam counters only count on the DoFn's thread, not the prefetch's."""
        ms, self._load_ms = self._load_ms, 0
        return ms

    def predict(self, melgrams: np.ndarray) -> np.ndarray:
        return self.load().predict(melgrams)

    def infer(self, melgrams: np.ndarray):
        return self.load().infer(melgrams)

    def prefetch(self) -> LazyModel:
        """Starts loading in the background, so the first batch need not wait for it.

        The thread is not a daemon: the process waits for the load before it exits. A
        worker with nothing to classify (a run where nothing changed) ends while the
        OpenVINO model may still be compiling; a daemon thread then returns from
        OpenVINO's GIL-free C++ into a finalizing interpreter, which ends the thread
        with ``pthread_exit``, and unwinding through pybind11's ``gil_scoped_release``
        destructor (noexcept) aborts the process: "terminate called without an active
        exception", SIGABRT (CPython gh-87135). An interrupt still ends at once
        (``os._exit``, pipeline/interrupt.py).
        """

        def load_quietly() -> None:
            # on failure the first batch loads again and reports the error as a failed batch
            with contextlib.suppress(Exception):
                self.load()

        # daemon=False said, not left to default: a thread inherits the daemon flag of the thread
        # that starts it, and Beam's SDK harness calls load_model on its own daemon threads.
        threading.Thread(target=load_quietly, name="recogenre-model-load", daemon=False).start()
        return self


class CrnnModelHandler(ModelHandler[np.ndarray, np.ndarray, Any]):
    """Loads the CRNN from any Beam filesystem path and checks it is the expected file."""

    def __init__(
        self,
        weights: str,
        weights_sha256: str,
        max_batch_size: int = DEFAULT_BATCH,
        threads: int | None = None,
        backend: str = DEFAULT_BACKEND,
        precision: str = DEFAULT_PRECISION,
    ):
        super().__init__(min_batch_size=1, max_batch_size=max_batch_size)
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.threads = threads
        self.backend = backend
        self.precision = precision
        self.cpu_ms = Metrics.counter("recogenre", "cpu_ms_inference")
        self.load_cpu_ms = Metrics.counter("recogenre", "cpu_ms_model_load")

    def load_model(self) -> LazyModel:
        # Loading TensorFlow and the CRNN costs seconds per worker; a nightly
        # run with nothing to classify should not pay it. The OpenVINO model
        # costs a fraction of a second: it compiles while the first file decodes.
        model = LazyModel(self._load)
        return model.prefetch() if self.backend == "openvino" else model

    def _load(self):
        from recogenre.analysis.model_cache import process_model
        from recogenre.analysis.weights import resolve_on_worker

        if self.threads:
            import threadpoolctl

            threadpoolctl.threadpool_limits(self.threads)  # BLAS in the front end
        path, digest = resolve_on_worker(self.weights, self.weights_sha256)
        if digest != self.weights_sha256:
            raise RuntimeError(f"weights at {self.weights} changed during the run (sha256 {digest})")
        # Kept for the worker process's life, beyond RunInference's per-run handle (model_cache.py).
        return process_model(path, digest, self.backend, self.precision, self.threads)

    def run_inference(
        self, batch: Sequence[np.ndarray], model: LazyModel, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        model.load()
        load_ms = model.take_load_ms()
        if load_ms:
            self.load_cpu_ms.inc(load_ms)
        start = time.process_time()  # the runtime uses its own threads: count them all
        scores, embeddings = model.infer(np.stack(batch))  # one call gives both outputs
        self.cpu_ms.inc(round((time.process_time() - start) * 1000))
        return [PredictionResult(x, (s, e)) for x, s, e in zip(batch, scores, embeddings)]

    def get_num_bytes(self, batch: Sequence[np.ndarray]) -> int:
        return sum(x.nbytes for x in batch)

    def get_metrics_namespace(self) -> str:
        return "recogenre"


def _to_example(keyed: tuple[str, FrameFeatures]):
    path, f = keyed
    rhythm = None if f.rhythm is None else tuple(float(v) for v in f.rhythm)  # travels with the key
    return (path, f.index, f.start_s, f.end_s, rhythm), f.melgram


class ToScores(beam.DoFn):
    """Drops the spectrogram, keeping the frame's position, its ten scores and its embedding."""

    def __init__(self, progress=None):
        self.progress = progress

    def process(self, keyed: tuple[tuple, PredictionResult]):
        (path, index, start, end, rhythm), result = keyed
        if self.progress is not None:
            self.progress.add(classified=1)
        raw, embedding = result.inference
        scores = tuple(float(v) for v in raw)
        embedding = tuple(float(v) for v in embedding)
        if not all(math.isfinite(v) for v in scores + embedding):  # broken weights: an error, never a genre
            message = f"the model gave NaN or infinite scores for frame {index}"
            error = ErrorRow(path, "classify", NON_FINITE, message)
            yield beam.pvalue.TaggedOutput(SCORE_ERRORS, (path, error))
            return
        yield path, FrameScore(index, start, end, False, scores, embedding, rhythm)


def _failed_batch(failure) -> Iterable[tuple[str, ErrorRow]]:
    batch, (exc_type, exc_repr, _) = failure
    for path in dict.fromkeys(key[0] for key, _ in batch):
        yield path, ErrorRow(path, "classify", exc_type.__name__, error_text(exc_repr))


class ClassifyFrames(beam.PTransform):
    """(path, FrameFeatures) -> {"scores": (path, FrameScore), "errors": (path, ErrorRow)}.

    The spectrogram is dropped right after inference, in the same fused stage,
    so frames are never pickled between processes with their 0.5 MB payload.
    """

    def __init__(self, handler: CrnnModelHandler, progress=None):
        super().__init__()
        self.handler = handler
        self.progress = progress

    def expand(self, frames):
        main, failed = (
            frames
            | "To examples" >> beam.Map(_to_example)
            | "CRNN" >> RunInference(KeyedModelHandler(self.handler)).with_exception_handling()
        )
        scores = main | "To scores" >> beam.ParDo(ToScores(self.progress)).with_outputs(
            SCORE_ERRORS, main="scores"
        )
        failed_batches = failed.failed_inferences | "Failed batches" >> beam.FlatMap(_failed_batch)
        errors = (failed_batches, scores[SCORE_ERRORS]) | "Classify errors" >> beam.Flatten()
        return {"scores": scores.scores, "errors": errors}
