"""The CRNN's architecture as plain numbers, importable without TensorFlow.

``analysis/crnn.py`` builds the Keras graph from these; the launcher's
weights check (``analysis/model_check.py``) derives every expected weight
shape from them, so a file that passes the check fits the graph exactly.
"""

from __future__ import annotations

from recogenre.analysis.frames import N_MELS, N_STEPS
from recogenre.analysis.genres import GENRES

TIME_PADDING = 37  # zeros either side of the 1366 frames: 1366 + 74 = 1440
POOLS = ((2, 2), (3, 3), (4, 4), (4, 4))
FILTERS = (64, 128, 128, 128)
GRU_UNITS = 32
KERNEL = 3
BN_EPSILON = 1e-6  # Keras 1's BatchNormalization epsilon, which the weights were trained with

INPUT_SHAPE = (N_MELS, N_STEPS, 1)
OUTPUT_SHAPE = (len(GENRES),)
PADDED_STEPS = N_STEPS + 2 * TIME_PADDING  # bn_0_freq normalises over these 1440 steps


def _channels() -> list[tuple[int, int]]:
    """(input, output) channels of each convolution."""
    ins = (INPUT_SHAPE[-1], *FILTERS[:-1])
    return list(zip(ins, FILTERS))


def keras3_weight_shapes() -> list[tuple[str, tuple[int, ...]]]:
    """(dataset path, shape) of a Keras 3 ``.weights.h5`` saved from ``build_crnn()``.

    Keras 3 names the groups after the layer classes in graph order
    (``conv2d``, ``conv2d_1``, ...), whatever names the layers were given.
    """

    def numbered(base: str, i: int) -> str:
        return base if i == 0 else f"{base}_{i}"

    shapes: list[tuple[str, tuple[int, ...]]] = []
    bn_sizes = [PADDED_STEPS, *FILTERS]
    for i, size in enumerate(bn_sizes):
        shapes += [(f"layers/{numbered('batch_normalization', i)}/vars/{v}", (size,)) for v in range(4)]
    for i, (cin, cout) in enumerate(_channels()):
        name = numbered("conv2d", i)
        shapes += [(f"layers/{name}/vars/0", (KERNEL, KERNEL, cin, cout)), (f"layers/{name}/vars/1", (cout,))]
    for i, cin in enumerate((FILTERS[-1], GRU_UNITS)):
        name = numbered("gru", i)
        shapes += [
            (f"layers/{name}/cell/vars/0", (cin, 3 * GRU_UNITS)),
            (f"layers/{name}/cell/vars/1", (GRU_UNITS, 3 * GRU_UNITS)),
            (f"layers/{name}/cell/vars/2", (3 * GRU_UNITS,)),
        ]
    shapes += [("layers/dense/vars/0", (GRU_UNITS, *OUTPUT_SHAPE)), ("layers/dense/vars/1", OUTPUT_SHAPE)]
    return shapes


def keras1_weight_shapes() -> list[tuple[str, tuple[int, ...]]]:
    """(dataset path, shape) of the legacy Keras 1.1 / Theano file (channels-first kernels)."""
    shapes: list[tuple[str, tuple[int, ...]]] = []
    for name, size in [("bn_0_freq", PADDED_STEPS)] + [(f"bn{i}", f) for i, f in enumerate(FILTERS, 1)]:
        shapes += [(f"{name}/{name}_{w}", (size,)) for w in ("beta", "gamma", "running_mean", "running_std")]
    for i, (cin, cout) in enumerate(_channels(), 1):
        shapes += [(f"conv{i}/conv{i}_W", (cout, cin, KERNEL, KERNEL)), (f"conv{i}/conv{i}_b", (cout,))]
    for i, cin in ((1, FILTERS[-1]), (2, GRU_UNITS)):
        for gate in "zrh":
            shapes += [
                (f"gru{i}/gru{i}_W_{gate}", (cin, GRU_UNITS)),
                (f"gru{i}/gru{i}_U_{gate}", (GRU_UNITS, GRU_UNITS)),
                (f"gru{i}/gru{i}_b_{gate}", (GRU_UNITS,)),
            ]
    shapes += [("preds/preds_W", (GRU_UNITS, *OUTPUT_SHAPE)), ("preds/preds_b", OUTPUT_SHAPE)]
    return shapes
