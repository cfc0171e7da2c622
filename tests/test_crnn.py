"""The Keras 3 port must give the 2016 model's outputs, and keep them when re-saved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recogenre.analysis.crnn import build_crnn, load_crnn
from recogenre.analysis.genres import GENRES
from tests.conftest import REFERENCE, WEIGHTS

EXPECTED = json.loads((REFERENCE / "crnn_expected_outputs.json").read_text())


def reference_batch() -> tuple[np.ndarray, np.ndarray]:
    names = sorted(EXPECTED["outputs"])
    # (1, 1, 96, 1366) channels-first -> (96, 1366, 1) channels-last
    x = np.stack([np.load(REFERENCE / n)[0].transpose(1, 2, 0) for n in names])
    y = np.array([[EXPECTED["outputs"][n][g] for g in GENRES] for n in names])
    return x, y


def test_genre_order_is_the_models():
    assert tuple(EXPECTED["genres"]) == GENRES


def test_port_reproduces_the_keras1_theano_outputs(model):
    x, expected = reference_batch()
    # the Keras reference itself, then the model the commands use (the default backend)
    np.testing.assert_allclose(load_crnn(WEIGHTS).predict_on_batch(x), expected, rtol=0, atol=1e-4)
    got = model.predict(x[..., 0])
    assert got.shape == (4, 10)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_keras3_formats_load_to_the_same_outputs(tmp_path):
    legacy = load_crnn(WEIGHTS)
    x, _ = reference_batch()
    want = legacy.predict_on_batch(x)

    legacy.save_weights(tmp_path / "crnn.weights.h5")
    legacy.save(tmp_path / "crnn.keras")
    for path in (tmp_path / "crnn.weights.h5", tmp_path / "crnn.keras"):
        np.testing.assert_allclose(load_crnn(path).predict_on_batch(x), want, atol=1e-6)


def test_untrained_graph_differs_from_the_port():
    """Guards the test above: a model that ignores the weights cannot pass it."""
    x, expected = reference_batch()
    assert np.abs(build_crnn().predict_on_batch(x) - expected).max() > 1e-3


@pytest.mark.parametrize("layer", ["conv1", "gru1", "bn_0_freq"])
def test_shapes_follow_the_original_graph(layer):
    m = build_crnn()
    assert m.input_shape == (None, 96, 1366, 1)
    assert m.output_shape == (None, 10)
    shapes = {w.name: tuple(w.shape) for w in m.get_layer(layer).weights}
    if layer == "conv1":
        assert shapes["kernel"] == (3, 3, 1, 64)
    elif layer == "gru1":
        assert shapes["kernel"] == (128, 96) and shapes["recurrent_kernel"] == (32, 96)
    else:
        assert shapes["gamma"] == (1440,)  # the 1366 frames padded with 37 zeros either side


def test_numpy_reference_reproduces_the_keras1_theano_outputs():
    """The TensorFlow-free reference the OpenVINO conversion is proven against (no Keras involved)."""
    from recogenre.analysis.crnn_arrays import read_layer_weights
    from recogenre.analysis.crnn_numpy import forward

    x, expected = reference_batch()
    scores, embedding = forward(read_layer_weights(WEIGHTS), x)
    assert scores.shape == (4, 10) and embedding.shape == (4, 32)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-4)


def test_keras3_weights_read_without_keras_equal_the_legacy_file(tmp_path):
    """A Keras 3 .weights.h5 saved from the port reads (h5py only) into the same arrays."""
    from recogenre.analysis.crnn_arrays import read_layer_weights

    path = tmp_path / "resaved.weights.h5"
    load_crnn(WEIGHTS).save_weights(path)
    legacy, resaved = read_layer_weights(WEIGHTS), read_layer_weights(path)
    assert legacy.keys() == resaved.keys()
    for name in legacy:
        for a, b in zip(legacy[name], resaved[name], strict=True):
            np.testing.assert_array_equal(np.asarray(a, np.float32), b)
