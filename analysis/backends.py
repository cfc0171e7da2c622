"""Which runtime executes the CRNN: one place for the backend and precision choices.

* ``keras``: the folded graph (``analysis/crnn_folded.py``) on TensorFlow.
* ``openvino``: the same graph converted once and cached
  (``analysis/openvino_model.py``); no TensorFlow in processes that find the
  cache, a quarter of the start-up and memory, bf16 on CPUs with bf16/AMX units, and
  int8 (quantised once with NNCF, ``recogenre[int8]``: ``analysis/openvino_int8.py``).

Both give the reference model's scores to float rounding in ``fp32``
(tests/test_backends.py); ``bf16`` trades about 1e-2 on a score for speed, ``int8``
about 0.1 (benchmarks/int8.py measures both).
"""

from __future__ import annotations

import numpy as np

from recogenre.analysis.model_output import ModelOutput

BACKENDS = ("openvino", "keras")
PRECISIONS = ("fp32", "bf16", "int8")
# Chosen by measurement (docs/performance.md): equal to Keras within 1e-5, faster, no TensorFlow in workers.
DEFAULT_BACKEND = "openvino"
DEFAULT_PRECISION = "fp32"
# Largest batch of frames per model call. The CPU time per frame is the same from 1 to 16 frames
# on both backends, but the activations grow with the batch (OpenVINO's peak RSS for the model
# alone: 205 MB at 2 frames, 290 MB at 4, 820 MB at 16; benchmarks/ov_settings.py).
DEFAULT_BATCH = 4


KERAS_EXTRA = "recogenre[keras]"
KERAS_MISSING = f"--backend keras needs TensorFlow and Keras: pip install '{KERAS_EXTRA}'"
INT8_EXTRA = "recogenre[int8]"
INT8_MISSING = f"--precision int8 needs NNCF to quantise the model: pip install '{INT8_EXTRA}'"


def keras_available() -> bool:
    """Whether the ``keras`` extra is installed (found without importing TensorFlow)."""
    from importlib.util import find_spec

    return find_spec("keras") is not None and find_spec("tensorflow") is not None


class KerasModel:
    """The folded graph on Keras/TensorFlow (fp32 only: TensorFlow's CPU bf16 is not faster here)."""

    def __init__(self, weights_path: str, threads: int | None = None):
        if threads:
            limit_tensorflow_threads(threads)
        from recogenre.analysis.crnn import load_crnn
        from recogenre.analysis.crnn_folded import fold

        self.keras_model = fold(load_crnn(weights_path))

    def infer(self, x: np.ndarray) -> ModelOutput:
        scores, embeddings = self.keras_model.predict_on_batch(x)
        return ModelOutput(np.asarray(scores, np.float32), np.asarray(embeddings, np.float32))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.infer(x).scores


def limit_tensorflow_threads(threads: int) -> None:
    """Caps TensorFlow and BLAS threads in this process; must run before TensorFlow's first op."""
    import threadpoolctl

    from recogenre.analysis.crnn import tf

    threadpoolctl.threadpool_limits(threads)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already started in this process (another model copy)


def check(backend: str, precision: str) -> None:
    """Raises ValueError for an unknown backend or a precision the backend does not offer."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
    if backend == "keras" and precision != "fp32":
        raise ValueError(
            f"--precision {precision} needs --backend openvino (the keras backend runs fp32 only)"
        )
    if backend == "keras" and not keras_available():
        raise ValueError(KERAS_MISSING)
    if precision == "int8":
        from recogenre.analysis.openvino_int8 import nncf_available

        if not nncf_available():
            raise ValueError(INT8_MISSING)


def load_backend(
    backend: str, precision: str, weights_path: str, weights_sha256: str, threads: int | None = None
):
    """An object with ``infer(x (n, 96, 1366, 1)) -> ModelOutput`` and ``predict(x) -> (n, 10)``
    for this backend and precision."""
    check(backend, precision)
    if backend == "keras":
        return KerasModel(weights_path, threads)
    from recogenre.analysis import openvino_model

    return openvino_model.load(weights_path, weights_sha256, precision, threads)


def prepare(backend: str, weights_path: str, weights_sha256: str, precision: str = DEFAULT_PRECISION) -> None:
    """Done once before workers start, so that they only read: the OpenVINO conversion
    (and, for int8, the quantisation)."""
    if backend == "openvino":
        from recogenre.analysis.openvino_model import ensure_cached

        ensure_cached(weights_path, weights_sha256)
        if precision == "int8":
            from recogenre.analysis.openvino_int8 import ensure_quantised

            ensure_quantised(weights_path, weights_sha256)
