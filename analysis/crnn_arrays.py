"""The CRNN's weights as numpy arrays, read from HDF5 without TensorFlow, and their folding.

Both weight files recogenre accepts as HDF5 are read here with h5py into one
convention, Keras 3's (the layer names of ``analysis/crnn.py``'s graph,
channels-last kernels): the legacy Keras 1.1 / Theano file, with every trap of
its port handled (see ``analysis/crnn.py``), and a Keras 3 ``.weights.h5``
saved from ``build_crnn()``. The folding of ``analysis/crnn_folded.py``
is done here in float64, once for every backend:

* ``bn{i}`` into the convolution before it: ``W' = W * g / sqrt(var + eps)``,
  ``b' = (b - mean) * g / sqrt(var + eps) + beta``;
* ``bn_0_freq`` into an affine on the padded input, ``p * s[t] + c[t]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recogenre.analysis.crnn_layout import BN_EPSILON, FILTERS

LayerWeights = dict[str, list[np.ndarray]]
BN_LAYERS = ("bn_0_freq", *(f"bn{i}" for i in range(1, len(FILTERS) + 1)))
CONV_LAYERS = tuple(f"conv{i}" for i in range(1, len(FILTERS) + 1))
GRU_LAYERS = ("gru1", "gru2")


def keras1_layer_weights(h5) -> LayerWeights:
    """A Keras 1.1 / Theano weights file (an open ``h5py.File``) in Keras 3's convention."""

    def group(name: str) -> dict[str, np.ndarray]:
        g = h5[name]
        return {k.decode().removeprefix(f"{name}_"): g[k.decode()][()] for k in g.attrs["weight_names"]}

    converted: LayerWeights = {}
    for name in BN_LAYERS:
        w = group(name)
        # Keras 1 names the variance "running_std".
        converted[name] = [w["gamma"], w["beta"], w["running_mean"], w["running_std"]]
    for name in CONV_LAYERS:
        w = group(name)
        kernel = w["W"][:, :, ::-1, ::-1]  # Theano true convolution -> cross-correlation
        converted[name] = [np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)), w["b"]]
    for name in GRU_LAYERS:
        w = group(name)
        converted[name] = [  # gates stacked z, r, h, as Keras 3 does
            np.concatenate([w["W_z"], w["W_r"], w["W_h"]], axis=1),
            np.concatenate([w["U_z"], w["U_r"], w["U_h"]], axis=1),
            np.concatenate([w["b_z"], w["b_r"], w["b_h"]]),
        ]
    w = group("preds")
    converted["preds"] = [w["W"], w["b"]]
    return converted


def keras3_layer_weights(h5) -> LayerWeights:
    """A Keras 3 ``.weights.h5`` of ``build_crnn()`` (groups named by class, in graph order)."""

    def numbered(base: str, i: int) -> str:
        return base if i == 0 else f"{base}_{i}"

    def read(group: str, n: int) -> list[np.ndarray]:
        return [h5[f"{group}/vars/{v}"][()] for v in range(n)]

    out: LayerWeights = {}
    for i, name in enumerate(BN_LAYERS):
        out[name] = read(f"layers/{numbered('batch_normalization', i)}", 4)  # gamma, beta, mean, var
    for i, name in enumerate(CONV_LAYERS):
        out[name] = read(f"layers/{numbered('conv2d', i)}", 2)
    for i, name in enumerate(GRU_LAYERS):
        out[name] = read(f"layers/{numbered('gru', i)}/cell", 3)
    out["preds"] = read("layers/dense", 2)
    return out


def read_layer_weights(path: str | Path) -> LayerWeights:
    """The weights of an HDF5 file (legacy or Keras 3 ``.weights.h5``) by layer name."""
    import h5py

    from recogenre.analysis.weights import is_keras1_weights

    legacy = is_keras1_weights(path)
    with h5py.File(path, "r") as h5:
        return keras1_layer_weights(h5) if legacy else keras3_layer_weights(h5)


def _bn_scale_shift(bn: list[np.ndarray], eps: float) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn)
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_layer_weights(layers: LayerWeights, eps: float = BN_EPSILON) -> LayerWeights:
    """The folded graph's weights by layer name (``input_affine``, ``conv1..4``, ``gru1/2``, ``preds``)."""
    out: LayerWeights = {}
    scale, shift = _bn_scale_shift(layers["bn_0_freq"], eps)
    out["input_affine"] = [scale.astype(np.float32), shift.astype(np.float32)]
    for i, name in enumerate(CONV_LAYERS, 1):
        kernel, bias = (np.asarray(w, np.float64) for w in layers[name])
        scale, shift = _bn_scale_shift(layers[f"bn{i}"], eps)
        with np.errstate(over="ignore", invalid="ignore"):  # absurd weights: refused by the probe, not here
            out[name] = [(kernel * scale).astype(np.float32), (bias * scale + shift).astype(np.float32)]
    for name in (*GRU_LAYERS, "preds"):
        out[name] = [np.asarray(w, np.float32) for w in layers[name]]
    return out
