"""The folded CRNN built directly as an OpenVINO graph from numpy weights: no TensorFlow.

The same graph as ``analysis/crnn_folded.py`` (``bn{i}`` folded into the
convolutions, ``bn_0_freq`` an affine on the padded input, ELU after the
pooling), written with OpenVINO's opset API so that converting the weights
needs only h5py, numpy and OpenVINO. The input is channels-last
``(batch, 96, 1366, 1)`` like the Keras graph's; with one channel that is
NCHW ``(batch, 1, 96, 1366)`` after a transpose. The two GRUs are unrolled
over their 15 steps: OpenVINO's GRUSequence has no Keras 1 ``hard_sigmoid``
(``clip(0.2 x + 0.5, 0, 1)``; its HSigmoid is ``relu6(x + 3) / 6``). Outputs:
the ten scores and gru2's 32 outputs (the embedding).
"""

from __future__ import annotations

import math

import numpy as np

from recogenre.analysis.crnn_arrays import CONV_LAYERS, GRU_LAYERS, LayerWeights
from recogenre.analysis.crnn_layout import FILTERS, GRU_UNITS, PADDED_STEPS, POOLS, TIME_PADDING
from recogenre.analysis.frames import N_MELS, N_STEPS


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def build_model(folded: LayerWeights):
    """An ``openvino.Model`` of the folded CRNN with these weights (``crnn_arrays.fold_layer_weights``)."""
    import openvino as ov
    import openvino.opset13 as ops

    melgram = ops.parameter([-1, N_MELS, N_STEPS, 1], np.float32, name="melgram")
    x = ops.transpose(melgram, _i64([0, 3, 1, 2]))  # (n, 1, 96, 1366)
    x = ops.pad(x, _i64([0, 0, 0, TIME_PADDING]), _i64([0, 0, 0, TIME_PADDING]), "constant", _f32(0.0))
    scale, shift = folded["input_affine"]
    x = ops.add(ops.multiply(x, _f32(scale).reshape(1, 1, 1, -1)), _f32(shift).reshape(1, 1, 1, -1))
    for name, pool in zip(CONV_LAYERS, POOLS):
        kernel, bias = folded[name]  # HWIO -> OIHW
        x = ops.convolution(x, _f32(np.transpose(kernel, (3, 2, 0, 1))), [1, 1], [1, 1], [1, 1], [1, 1])
        x = ops.add(x, _f32(bias).reshape(1, -1, 1, 1))
        x = ops.max_pool(x, list(pool), [1, 1], [0, 0], [0, 0], list(pool), "floor").output(0)
        x = ops.elu(x, 1.0)
    x = ops.transpose(x, _i64([0, 2, 3, 1]))  # (n, 1, 15, 128) channels-last, as Keras reshapes it
    sequence = ops.reshape(x, _i64([0, -1, FILTERS[-1]]), special_zero=True)  # (n, 15, 128)
    steps = PADDED_STEPS // math.prod(width for _, width in POOLS)  # 1440 / 96 = 15
    inputs = [ops.gather(sequence, _i64(t), _i64(1)) for t in range(steps)]
    for name in GRU_LAYERS:
        inputs = _gru(ops, inputs, folded[name])
    embedding = inputs[-1]
    dense, dense_bias = folded["preds"]
    scores = ops.sigmoid(ops.add(ops.matmul(embedding, _f32(dense), False, False), _f32(dense_bias)))
    return ov.Model(
        [ops.result(scores, name="scores"), ops.result(embedding, name="embedding")],
        [melgram],
        "crnn_gtzan_folded",
    )


def _i64(values) -> np.ndarray:
    return np.asarray(values, np.int64)


def _gru(ops, inputs: list, weights: list[np.ndarray]) -> list:
    """The states of a Keras 1 GRU (gates z, r, h; reset before the recurrent matmul) over ``inputs``."""
    kernel, recurrent, bias = (_f32(w) for w in weights)
    u = GRU_UNITS
    gates = [slice(0, u), slice(u, 2 * u), slice(2 * u, 3 * u)]  # z, r, h
    w = [_f32(kernel[:, g]) for g in gates]
    rec = [_f32(recurrent[:, g]) for g in gates]
    b = [_f32(bias[g]) for g in gates]

    def project(x, i):
        return ops.add(ops.matmul(x, w[i], False, False), b[i])

    def hard_sigmoid(v):
        return ops.clamp(ops.add(ops.multiply(v, _f32(0.2)), _f32(0.5)), 0.0, 1.0)

    states, h = [], None
    for x in inputs:
        xz, xr, xh = (project(x, i) for i in range(3))
        if h is None:  # the initial state is zero: its matmuls vanish
            z = hard_sigmoid(xz)
            h = ops.multiply(ops.subtract(_f32(1.0), z), ops.tanh(xh))
        else:
            z = hard_sigmoid(ops.add(xz, ops.matmul(h, rec[0], False, False)))
            r = hard_sigmoid(ops.add(xr, ops.matmul(h, rec[1], False, False)))
            candidate = ops.tanh(ops.add(xh, ops.matmul(ops.multiply(r, h), rec[2], False, False)))
            h = ops.add(ops.multiply(z, h), ops.multiply(ops.subtract(_f32(1.0), z), candidate))
        states.append(h)
    return states
