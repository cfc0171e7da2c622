"""What the second output (the 32-d embedding) costs the CRNN: ms per frame, before and after.

    .venv/bin/python benchmarks/embedding_cost.py [FRAMES] [REPEATS]

Builds the folded graph with one output (scores only, as before the embedding)
and with two (scores and gru2's outputs), converts both to OpenVINO in memory,
and times a batch of FRAMES frames (default 4) on each, interleaved so that a
busy machine slows both alike; Keras too. Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np


def _time(fn, x: np.ndarray, repeats: int) -> list[float]:
    fn(x)  # warm up this shape
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - start) * 1000 / len(x))
    return out


def main(frames: int = 4, repeats: int = 10) -> None:
    import openvino as ov

    from recogenre.analysis.crnn import keras, load_crnn
    from recogenre.analysis.crnn_folded import fold
    from recogenre.analysis.frames import N_MELS, N_STEPS
    from recogenre.analysis.weights import resolve_weights

    two = fold(load_crnn(resolve_weights()[0]))
    one = keras.Model(two.inputs, two.outputs[0])
    x = np.random.default_rng(0).normal(-30, 20, (frames, N_MELS, N_STEPS, 1)).astype(np.float32)
    core = ov.Core()
    compiled = {}
    for name, model in (("scores only", one), ("scores + embedding", two)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = ov.convert_model(model, example_input=x[:1])
        converted.reshape([-1, N_MELS, N_STEPS, 1])
        compiled[name] = core.compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    runs = {
        **{f"openvino fp32, {n}": c for n, c in compiled.items()},  # a CompiledModel is callable
        "keras, scores only": one.predict_on_batch,
        "keras, scores + embedding": two.predict_on_batch,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(3):  # interleaved rounds
        for name, fn in runs.items():
            times[name] += _time(fn, x, max(1, repeats // 3))
    print(f"CRNN inference, batches of {frames} frames, ms per frame (median, min of {len(times[name])}):")
    for name, t in times.items():
        print(f"  {name:<34} median {np.median(t):7.1f}  min {np.min(t):7.1f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
