"""DirectRunner vs a Dask cluster, cold and warm: what long-running workers save per nightly run.

    .venv/bin/python benchmarks/dask_warm.py [CATALOGUE]     (default: ../shared/audio)

Starts a `dask scheduler` and two single-threaded `dask worker` processes on
127.0.0.1 (stopped by pid at the end), then times, on the same catalogue:
the DirectRunner (one worker per core), a first Dask run (cold workers: TensorFlow,
the CRNN and librosa load in each worker) and a second full Dask run on the same
workers (warm). Prints wall times and the manifests' per-stage CPU seconds; asserts nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT.parent / "shared" / "weights" / "crnn_gtzan_keras1.h5"


def timed_run(catalogue: str, out: Path, *args: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "recogenre", "run", "--catalogue", catalogue, "--output", str(out)]
    cmd += ["--weights", str(WEIGHTS), "--full", "--progress-seconds=0", *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - start
    if proc.returncode:
        sys.exit(f"run failed: {proc.stderr[-2000:]}")
    return wall, json.loads((out / "latest" / "manifest.json").read_text())


def main() -> None:
    catalogue = sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "audio")
    work = Path(tempfile.mkdtemp(prefix="recogenre-dask-bench-"))
    scheduler_file = work / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    where = [f"--scheduler-file={scheduler_file}", "--host=127.0.0.1", "--no-dashboard"]
    scheduler = ["scheduler", "--port=0", *where]
    worker = ["worker", "--nworkers=1", "--nthreads=1", *where]
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [*dask, *scheduler],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        while not (scheduler_file.exists() and scheduler_file.stat().st_size):
            time.sleep(0.1)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [*dask, *worker, "--no-nanny"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        on_dask = ["--runner", "dask", "--dask_scheduler_file", str(scheduler_file)]
        rows = [
            ("DirectRunner", *timed_run(catalogue, work / "direct")),
            ("Dask, cold workers", *timed_run(catalogue, work / "dask", *on_dask)),
            ("Dask, warm workers", *timed_run(catalogue, work / "dask", *on_dask)),
        ]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a worker whose scheduler went first may not exit
                proc.kill()
                proc.wait()
    print(f"catalogue {catalogue}; load average before/after: {os.getloadavg()[0]:.1f}")
    for name, wall, m in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(m["stage_cpu_seconds"].items()))
        print(
            f"{name:20s} {wall:6.1f} s launcher to exit, {m['wall_time_s']:6.1f} s run, "
            f"{m['counts']['tracks']} tracks; CPU s by stage: {stages}"
        )
    cold, warm = rows[1][1], rows[2][1]
    print(f"a warm cluster saves {cold - warm:.1f} s per run ({cold / warm:.1f}x faster than cold)")


if __name__ == "__main__":
    main()
