"""OpenVINO settings for the pipeline's workers, measured in CPU time (valid on a busy machine).

    .venv/bin/python benchmarks/ov_settings.py [fp32|bf16]

1. CPU ms per frame and the peak RSS of a process holding only the model, by batch
   size (one process per batch size, one inference thread: a DirectRunner worker's share
   of a 2-core machine). This chose ``DEFAULT_BATCH`` in ``analysis/backends.py``.
2. Which cores the inferring thread may run on while it infers, with OpenVINO's CPU pinning
   on (its default) and off: with pinning on, a one-thread model is pinned to core 0 in
   every process, so all workers of a run classify on the same core.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np


def _model(precision: str, pinning: bool):
    import openvino as ov

    from recogenre.analysis.openvino_model import PRECISIONS, ensure_cached
    from recogenre.analysis.weights import resolve_weights

    core = ov.Core()
    config = {
        "INFERENCE_PRECISION_HINT": PRECISIONS[precision],
        "NUM_STREAMS": 1,
        "INFERENCE_NUM_THREADS": 1,
        "ENABLE_CPU_PINNING": pinning,
    }
    return core.compile_model(core.read_model(str(ensure_cached(*resolve_weights()))), "CPU", config)


def one_batch(batch: int, precision: str) -> dict:
    request = _model(precision, False).create_infer_request()
    x = np.random.default_rng(0).normal(-30, 20, (batch, 96, 1366, 1)).astype(np.float32)
    request.infer({0: x})
    reps = max(3, 48 // batch)
    start = time.process_time()
    for _ in range(reps):
        request.infer({0: x})
    return {
        "batch": batch,
        "cpu_ms_per_frame": (time.process_time() - start) / (reps * batch) * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def allowed_cores(pinning: bool, precision: str) -> list[str]:
    """The CPU lists the calling thread was allowed while it inferred (sampled from another thread)."""
    request = _model(precision, pinning).create_infer_request()
    x = np.zeros((4, 96, 1366, 1), np.float32)
    status = f"/proc/self/task/{threading.get_native_id()}/status"
    seen: set[str] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with open(status) as f:
                seen.add(f.read().split("Cpus_allowed_list:")[1].split()[0])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in range(3):
        request.infer({0: x})
    done.set()
    sampler.join()
    return sorted(seen)


def main(precision: str) -> None:
    print(f"OpenVINO {precision}, 1 inference thread; all cores: {sorted(os.sched_getaffinity(0))}")
    for batch in (1, 2, 4, 8, 16):
        cmd = [sys.executable, __file__, "--one", str(batch), precision]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        ms, mb = r["cpu_ms_per_frame"], r["peak_rss_mb"]
        print(f"  batch {batch:2}: {ms:5.1f} CPU ms/frame, peak RSS {mb:.0f} MB")
    for pinning in (True, False):
        cores = allowed_cores(pinning, precision)
        print(f"  ENABLE_CPU_PINNING={pinning}: the inferring thread may run on cores {' / '.join(cores)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one_batch(int(sys.argv[2]), sys.argv[3])))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "fp32")
