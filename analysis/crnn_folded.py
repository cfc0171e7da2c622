"""The CRNN's inference graph: the reference model with its exact simplifications applied.

``analysis/crnn.py`` stays the definition (and what the 1e-4 reference test
checks); this module derives a cheaper graph with the same function from it,
which both backends run:

* each ``bn{i}`` is folded into the convolution before it: scaling a
  convolution's output channel is scaling its kernel, so
  ``W' = W * g / sqrt(var + eps)`` and ``b' = (b - mean) * g / sqrt(var + eps) + beta``;
* ``bn_0_freq`` becomes an affine on the *padded* input, ``y = p * s[t] + c[t]``:
  it normalises each of the 1440 time steps of the zero-padded frame, so the
  37 padded steps either side turn into ``c[t]`` (not zeros) before ``conv1``.
  It cannot go into ``conv1``'s kernel because ``s`` varies along time within
  each 3x3 window;
* each ELU moves after its max-pooling: ELU is non-decreasing, so
  ``max(elu(x)) == elu(max(x))`` exactly, and it runs on 4 to 16 times fewer values.

The results equal the reference model's to float rounding (tests/test_backends.py).

The graph has two outputs: the ten scores and ``gru2``'s 32 outputs (what feeds the
final Dense), the frame's *embedding* -- a similarity feature, not a genre. One call
gives both, so the embedding costs no second pass through the convolutions.
"""

from __future__ import annotations

import numpy as np

from recogenre.analysis.crnn import FILTERS, POOLS, TIME_PADDING, keras, layers, recurrent_head
from recogenre.analysis.crnn_arrays import BN_LAYERS, CONV_LAYERS, GRU_LAYERS, fold_layer_weights
from recogenre.analysis.frames import N_MELS, N_STEPS

# Bump when the folded graph's structure changes: part of the OpenVINO cache key.
GRAPH_VERSION = 2  # 2: a second output, gru2's 32 values (the embedding)


def folded_weights(reference: keras.Model) -> dict[str, list[np.ndarray]]:
    """The folded graph's weights by layer name, computed in float64 from the reference's
    (``analysis/crnn_arrays.py``, shared with the TensorFlow-free OpenVINO conversion)."""
    layers_ = {name: reference.get_layer(name).get_weights() for name in (*BN_LAYERS, *CONV_LAYERS)}
    layers_ |= {name: reference.get_layer(name).get_weights() for name in (*GRU_LAYERS, "preds")}
    epsilons = {reference.get_layer(name).epsilon for name in BN_LAYERS}
    (eps,) = epsilons  # one epsilon for every BatchNormalization of build_crnn()
    return fold_layer_weights(layers_, eps)


@keras.saving.register_keras_serializable(package="recogenre")
class TimeAffine(layers.Layer):
    """``x * scale[t] + shift[t]`` along the time axis: ``bn_0_freq`` with its statistics folded."""

    def __init__(self, steps: int, **kwargs):
        super().__init__(**kwargs)
        self.steps = steps

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(self.steps,), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(self.steps,), initializer="zeros", name="shift")

    def call(self, x):
        return x * keras.ops.reshape(self.scale, (1, 1, -1, 1)) + keras.ops.reshape(self.shift, (1, 1, -1, 1))

    def get_config(self):
        return {**super().get_config(), "steps": self.steps}


EMBEDDING_LAYER = "gru2"  # the last recurrent layer: its 32 outputs feed the final Dense


def with_embedding(model: keras.Model) -> keras.Model:
    """A view of a one-output CRNN (the reference) giving ``[scores (n, 10), embedding (n, 32)]``."""
    return keras.Model(model.inputs, [model.outputs[0], model.get_layer(EMBEDDING_LAYER).output])


def build_folded() -> keras.Model:
    """The folded CRNN graph: input ``(batch, 96, 1366, 1)``; outputs ``[scores (batch, 10),
    embedding (batch, 32)]``."""
    melgram = keras.Input(shape=(N_MELS, N_STEPS, 1), name="melgram")
    x = layers.ZeroPadding2D(padding=((0, 0), (TIME_PADDING, TIME_PADDING)))(melgram)
    x = TimeAffine(N_STEPS + 2 * TIME_PADDING, name="input_affine")(x)
    for i, (filters, pool) in enumerate(zip(FILTERS, POOLS), start=1):
        x = layers.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(pool_size=pool, strides=pool, name=f"pool{i}")(x)
        x = layers.ELU(name=f"elu{i}")(x)
    scores_only = keras.Model(melgram, recurrent_head(x))
    return keras.Model(
        melgram, [scores_only.output, scores_only.get_layer(EMBEDDING_LAYER).output], name="crnn_gtzan_folded"
    )


def fold(reference: keras.Model) -> keras.Model:
    """The folded graph carrying the reference model's weights."""
    model = build_folded()
    for name, values in folded_weights(reference).items():
        model.get_layer(name).set_weights(values)
    return model
