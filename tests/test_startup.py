"""What start-up and the OpenVINO workers do not pay for (issue 10): Beam in ``classify``,
OpenVINO's telemetry fork, CPU pinning of the inference thread, and cold worker processes;
and a worker that ends while its model still loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from recogenre.pipeline.warm_workers import _planned_workers
from tests.conftest import ROOT, WEIGHTS, clip

PROBE = """
import json, sys
forks = []
sys.addaudithook(lambda event, args: forks.append(1) if event == "os.fork" else None)
from recogenre.cli import main
code = main(["classify", "--weights", sys.argv[1], sys.argv[2]])
print(json.dumps({"code": code, "beam": "apache_beam" in sys.modules, "forks": len(forks)}))
"""


def test_classify_imports_no_beam_and_forks_nothing():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(WEIGHTS), clip("disco.00000.au")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "beam": False, "forks": 0}, proc.stdout


# A worker with nothing to classify: RunInference's handler (called on one of the harness's
# daemon threads) starts loading the model in the background, and the process ends at once.
# What is still running when it finalizes (atexit runs after Python has joined its non-daemon
# threads, just before) is printed last.
ENDS_WHILE_LOADING = """
import atexit, json, sys, threading
from recogenre.analysis.backends import DEFAULT_BACKEND, DEFAULT_PRECISION
from recogenre.transforms.inference import CrnnModelHandler
from recogenre.analysis.model_cache import loaded_model
from recogenre.analysis.weights import resolve_weights
path, digest = resolve_weights(sys.argv[1])
def at_exit():
    running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    loaded = loaded_model(digest, DEFAULT_BACKEND, DEFAULT_PRECISION) is not None
    print(json.dumps({"running": running, "loaded": loaded}))
atexit.register(at_exit)
handler = CrnnModelHandler(path, digest, backend="openvino")
# From a daemon thread, as Beam's SDK harness calls it.
starter = threading.Thread(target=handler.load_model, daemon=True)
starter.start()
starter.join()
sys.exit(0)
"""


def test_a_worker_ending_while_its_model_loads_waits_for_the_load():
    """Ending while the background load is inside OpenVINO's C++ (GIL released) aborted the
    process ("terminate called without an active exception", SIGABRT): Python ends a daemon
    thread that returns into a finalizing interpreter with pthread_exit, whose unwinding through
    pybind11's noexcept frames calls std::terminate. The process must finish the load first."""
    proc = subprocess.run(
        [sys.executable, "-c", ENDS_WHILE_LOADING, str(WEIGHTS)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "terminate called" not in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"running": [], "loaded": True}, proc.stdout


def _cores(cpu_list: str) -> set[int]:
    cores = set()
    for part in cpu_list.split(","):
        lo, _, hi = part.partition("-")
        cores.update(range(int(lo), int(hi or lo) + 1))
    return cores


def test_openvino_inference_is_not_pinned_to_one_core():
    """OpenVINO pins a one-thread model to core 0 by default: every worker would infer there."""
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.weights import resolve_weights

    model = Model(*resolve_weights(str(WEIGHTS)), backend="openvino", threads=1)
    status = f"/proc/self/task/{threading.get_native_id()}/status"
    allowed: list[set[int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with open(status) as f:
                allowed.append(_cores(f.read().split("Cpus_allowed_list:")[1].split()[0]))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for _ in range(3):
            model.predict(np.zeros((2, 96, 1366), np.float32))
    finally:
        done.set()
        sampler.join()
    assert allowed and all(cores == os.sched_getaffinity(0) for cores in allowed)


@pytest.mark.parametrize(
    "beam_args, workers",
    [
        ([], os.cpu_count()),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=0"], os.cpu_count()),
        (["--direct_running_mode", "multi_processing", "--direct_num_workers", "3"], 3),
        (["--direct_num_workers=1"], 0),  # Beam's in-process worker
        (["--direct_running_mode=multi_threading"], 0),
        (["--runner=PortableRunner", "--job_endpoint=embed"], 0),
        (["--environment_type=LOOPBACK"], 0),
    ],
)
def test_warm_workers_only_for_the_multi_process_direct_runner(beam_args, workers):
    assert _planned_workers(beam_args) == workers


def test_no_warm_workers_for_a_dask_run_or_when_turned_off(monkeypatch):
    import argparse

    from recogenre.pipeline.warm_workers import ENV_SWITCH, start

    assert start([], argparse.Namespace(dask_address="tcp://127.0.0.1:8786")) is None
    monkeypatch.setenv(ENV_SWITCH, "0")
    assert start([]) is None
