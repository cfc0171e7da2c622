"""The models loaded in this process, one per (weights sha256, backend, precision).

A long-running Beam worker (a Dask cluster serving nightly runs, a warm
DirectRunner process) and a notebook calling ``recogenre.classify`` in a loop
both load the CRNN once and reuse it: later runs and calls pay no TensorFlow
start-up or weight loading. Callers pass the digest of the file as it is now,
so changed weights are never served from here. No Beam in this module: the
Python API uses it without importing Beam.
"""

from __future__ import annotations

import threading
import time

from recogenre.analysis.classifier import Model

_MODELS: dict[tuple[str, str, str], Model] = {}
_LOCK = threading.Lock()


def process_model(
    path: str, digest: str, backend: str, precision: str, threads: int | None = None
) -> tuple[Model, int]:
    """(the model, CPU ms spent loading it now; 0 when this process had it already).

    ``threads`` applies only to the first load of a key.
    """
    key = (digest, backend, precision)
    with _LOCK:
        model = _MODELS.get(key)
        if model is not None:
            return model, 0
        start = time.process_time()
        model = _MODELS[key] = Model(path, digest, backend, precision, threads)
        return model, round((time.process_time() - start) * 1000)


def loaded_model(digest: str, backend: str, precision: str) -> Model | None:
    """The model this process loaded for these weights and options, if any (no loading)."""
    with _LOCK:
        return _MODELS.get((digest, backend, precision))
