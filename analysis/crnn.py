"""The CRNN of Choi et al. (2016) in Keras 3, with a faithful port of the
Keras 1.1 / Theano GTZAN weights.

The 2016 weights were trained channels-first under Theano. Reproducing their
outputs to 1e-4 in a channels-last Keras 3 graph needs every one of these:

* Theano's ``conv2d`` is a true convolution, so each 3x3 kernel is flipped in
  both spatial axes before being transposed from (out, in, h, w) to HWIO.
* Keras 1 ``BatchNormalization`` stores the *variance* in ``running_std`` and
  used ``epsilon=1e-6``.
* ``bn_0_freq`` normalises over the 1440 *time* steps of the zero-padded input
  (37 zeros either side of the 1366 frames), not over frequency.
* Keras 1's ``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)``; Keras 3's is
  ``relu6(x + 3) / 6``, so the GRUs get their own recurrent activation.
* Keras 1 GRUs apply the reset gate *before* the recurrent matmul, which is
  Keras 3's ``reset_after=False``; gates are stacked in the order z, r, h.
* After four poolings the tensor is (1, 15, 128) channels-last, which is the
  15-step sequence of 128 features that Keras 1 produced with
  ``Permute((3, 1, 2))`` + ``Reshape((15, 128))`` channels-first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import h5py


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hides TensorFlow's C++ start-up notices (oneDNN, CPU features).

    They are written to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL can be
    set from Python, and would drown a command-line tool's own messages.
    Python exceptions still propagate once the descriptor is restored.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") is not None:
        yield  # the user chose a level: respect it
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _native_stderr_silenced():
    import keras
    import tensorflow as tf  # noqa: F401  (keras' backend, re-exported quietly)
    from keras import layers

from recogenre.analysis.crnn_arrays import keras1_layer_weights  # noqa: E402
from recogenre.analysis.crnn_layout import BN_EPSILON, FILTERS, GRU_UNITS, POOLS, TIME_PADDING  # noqa: E402
from recogenre.analysis.frames import N_MELS, N_STEPS  # noqa: E402 (after the quiet import)
from recogenre.analysis.genres import GENRES  # noqa: E402
from recogenre.analysis.weights import is_keras1_weights  # noqa: E402

KERAS1_BN_EPSILON = BN_EPSILON


@keras.saving.register_keras_serializable(package="recogenre")
def keras1_hard_sigmoid(x):
    """Keras 1's piecewise-linear sigmoid, ``clip(0.2 x + 0.5, 0, 1)``."""
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def build_crnn() -> keras.Model:
    """The CRNN graph (inference only) for channels-last log-mel input.

    Input ``(batch, 96, 1366, 1)`` float32 log-mel in dB; output
    ``(batch, 10)`` independent sigmoid scores in :data:`GENRES` order.
    """
    melgram = keras.Input(shape=(N_MELS, N_STEPS, 1), name="melgram")
    x = layers.ZeroPadding2D(padding=((0, 0), (TIME_PADDING, TIME_PADDING)))(melgram)
    x = layers.BatchNormalization(axis=2, epsilon=KERAS1_BN_EPSILON, name="bn_0_freq")(x)
    for i, (filters, pool) in enumerate(zip(FILTERS, POOLS), start=1):
        x = layers.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(axis=3, epsilon=KERAS1_BN_EPSILON, name=f"bn{i}")(x)
        x = layers.ELU(name=f"elu{i}")(x)
        x = layers.MaxPooling2D(pool_size=pool, strides=pool, name=f"pool{i}")(x)
    return keras.Model(melgram, recurrent_head(x), name="crnn_gtzan")


def recurrent_head(x):
    """The convolutional features (batch, 1, 15, 128) -> two GRUs -> ten sigmoid scores.

    Shared by the reference graph and the folded inference graph, which differ only
    before it.
    """
    x = layers.Reshape((-1, FILTERS[-1]), name="to_sequence")(x)  # (1, 15, 128) -> (15, 128)
    for i, return_sequences in ((1, True), (2, False)):
        x = layers.GRU(
            GRU_UNITS,
            activation="tanh",
            recurrent_activation=keras1_hard_sigmoid,
            reset_after=False,
            return_sequences=return_sequences,
            name=f"gru{i}",
        )(x)
    return layers.Dense(len(GENRES), activation="sigmoid", name="preds")(x)


def load_crnn(weights_path: str | Path) -> keras.Model:
    """The CRNN with weights from either the legacy Keras 1.1 file or Keras 3.

    Keras 3 files (``.keras`` archives or ``.weights.h5``) are what fine-tuned
    models will be saved as; full ``.keras`` models load with safe mode on so
    a model file can never run arbitrary code.
    """
    path = Path(weights_path)
    if path.suffix == ".keras":
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    model = build_crnn()
    if is_keras1_weights(path):
        with h5py.File(path, "r") as h5:
            for name, values in keras1_layer_weights(h5).items():
                model.get_layer(name).set_weights(values)
    else:
        model.load_weights(path)
    return model
