"""The CRNN in numpy: the reference the OpenVINO model is proven equal to, without TensorFlow.

It follows the *definition* (``analysis/crnn.py``'s Keras graph), not the
folded inference graph, so that a mistake in the folding or in the OpenVINO
graph shows up as a difference: zero padding of 37 time steps either side,
``bn_0_freq`` over the 1440 padded steps, four blocks of 3x3 convolution
(cross-correlation with the flipped Theano kernels), batch normalisation,
ELU and max-pooling, the (1, 15, 128) -> (15, 128) reshape, two GRUs with
Keras 1's gates (z, r, h; reset applied before the recurrent matmul, i.e.
``reset_after=False``; ``hard_sigmoid`` = ``clip(0.2 x + 0.5, 0, 1)``), and
the sigmoid Dense. Computed in float64; a hand-written forward pass is
needed because the point is to check OpenVINO without TensorFlow.
"""

from __future__ import annotations

import numpy as np

from recogenre.analysis.crnn_arrays import BN_LAYERS, CONV_LAYERS, GRU_LAYERS, LayerWeights
from recogenre.analysis.crnn_layout import BN_EPSILON, GRU_UNITS, POOLS, TIME_PADDING


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 1's piecewise-linear sigmoid."""
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def _batch_norm(x: np.ndarray, weights: list[np.ndarray], axis: int) -> np.ndarray:
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in weights)
    shape = [1] * x.ndim
    shape[axis] = -1

    def along(v: np.ndarray) -> np.ndarray:
        return v.reshape(shape)

    return (x - along(mean)) / np.sqrt(along(var) + BN_EPSILON) * along(gamma) + along(beta)


def _conv3x3_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(n, h, w, cin) * HWIO (3, 3, cin, cout), stride 1, zero 'same' padding, as 9 matmuls."""
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.broadcast_to(np.asarray(bias, np.float64), (n, h, w, kernel.shape[-1])).copy()
    for dy in range(3):
        for dx in range(3):
            out += padded[:, dy : dy + h, dx : dx + w, :] @ np.asarray(kernel[dy, dx], np.float64)
    return out


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _max_pool(x: np.ndarray, pool: tuple[int, int]) -> np.ndarray:
    n, h, w, c = x.shape
    ph, pw = pool
    x = x[:, : h // ph * ph, : w // pw * pw, :]  # 'valid' pooling drops the remainder
    return x.reshape(n, h // ph, ph, w // pw, pw, c).max(axis=(2, 4))


def _gru(sequence: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """All states (n, steps, units) of a Keras 1 GRU (gates z, r, h; reset before the matmul)."""
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    u = GRU_UNITS
    projected = sequence @ kernel + bias  # (n, steps, 3u): z, r, h
    h = np.zeros((sequence.shape[0], u))
    states = []
    for t in range(sequence.shape[1]):
        xz, xr, xh = projected[:, t, :u], projected[:, t, u : 2 * u], projected[:, t, 2 * u :]
        z = hard_sigmoid(xz + h @ recurrent[:, :u])
        r = hard_sigmoid(xr + h @ recurrent[:, u : 2 * u])
        candidate = np.tanh(xh + (r * h) @ recurrent[:, 2 * u :])
        h = z * h + (1.0 - z) * candidate
        states.append(h)
    return np.stack(states, axis=1)


def forward(layers: LayerWeights, melgrams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores (n, 10), embeddings (n, 32)) for log-mel frames (n, 96, 1366, 1), in float64."""
    x = np.asarray(melgrams, np.float64)
    x = np.pad(x, ((0, 0), (0, 0), (TIME_PADDING, TIME_PADDING), (0, 0)))
    x = _batch_norm(x, layers[BN_LAYERS[0]], axis=2)  # over the 1440 padded time steps
    for conv, bn, pool in zip(CONV_LAYERS, BN_LAYERS[1:], POOLS):
        x = _conv3x3_same(x, *layers[conv])
        x = _max_pool(_elu(_batch_norm(x, layers[bn], axis=3)), pool)
    x = x.reshape(x.shape[0], -1, x.shape[-1])  # (n, 1, 15, 128) -> (n, 15, 128)
    x = _gru(x, layers[GRU_LAYERS[0]])
    embedding = _gru(x, layers[GRU_LAYERS[1]])[:, -1, :]
    dense, dense_bias = (np.asarray(w, np.float64) for w in layers["preds"])
    scores = 1.0 / (1.0 + np.exp(-(embedding @ dense + dense_bias)))
    return scores, embedding
