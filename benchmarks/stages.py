"""Each stage's cost in isolation, at its best setting: the machine's limit.

    python benchmarks/stages.py frontend FILE_LIST  -> decode and log-mel CPU seconds
    python benchmarks/stages.py inference THREADS [BACKEND PRECISION]
                                                    -> seconds per frame by batch size

Inference runs in its own process per thread count, because TensorFlow's
thread pools are fixed when it starts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def frontend(list_file: str) -> dict:
    from recogenre.analysis.decode import AudioStream
    from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE
    from recogenre.analysis.melspec import log_mel

    log_mel(np.zeros(FRAME_SAMPLES, np.float32))  # librosa's lazy imports
    decode_s = audio_s = 0.0
    sample = None
    for path in filter(None, Path(list_file).read_text().split("\n")):
        try:
            with AudioStream(path) as stream:
                start = time.thread_time()
                n = 0
                for block in stream:
                    n += len(block)
                    if sample is None and n >= FRAME_SAMPLES:
                        sample = block
                decode_s += time.thread_time() - start
                audio_s += n / SAMPLE_RATE
        except Exception:
            continue
    frame = np.resize(sample, FRAME_SAMPLES).astype(np.float32)
    reps = 40
    start = time.thread_time()
    for _ in range(reps):
        log_mel(frame)
    return {
        "decode_cpu_s": decode_s,
        "audio_s": audio_s,
        "logmel_s_per_frame": (time.thread_time() - start) / reps,
    }


def inference(threads: int, backend: str = "keras", precision: str = "fp32") -> dict:
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.weights import resolve_weights

    model = Model(*resolve_weights(), backend=backend, precision=precision, threads=threads)
    rng = np.random.default_rng(0)
    x = rng.normal(-30, 20, size=(32, 96, 1366)).astype(np.float32)
    out = {}
    for batch in (1, 4, 8, 16, 32):
        model.predict(x[:batch])  # trace and warm up this shape
        reps = max(2, 48 // batch)
        start = time.perf_counter()
        for _ in range(reps):
            model.predict(x[:batch])
        out[batch] = (time.perf_counter() - start) / (reps * batch)
    return {"threads": threads, "backend": backend, "precision": precision, "wall_s_per_frame": out}


if __name__ == "__main__":
    what, arg = sys.argv[1], sys.argv[2]
    print(json.dumps(frontend(arg) if what == "frontend" else inference(int(arg), *sys.argv[3:5])))
