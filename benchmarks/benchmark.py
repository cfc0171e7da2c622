"""recogenre's benchmark: the pipeline against this machine's limit and the original.

    ./run_local.sh bench            (or: .venv/bin/python benchmarks/benchmark.py)

Builds a catalogue from ../shared/audio (>= 3 h of copies in mixed formats
plus one 3-hour file) under benchmarks/work/, then in one session measures:

1. each stage alone at its best setting (decode+resample, log-mel, CRNN at the
   best batch size and thread count) -> the limit for all cores;
2. the pipeline on all cores with the DirectRunner (multi-processing), sampling
   its progress files and every worker's peak RSS;
3. the original approach (benchmarks/baseline.py) over the same files.

It prints figures and ratios; it asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from catalogue import audio_files, build  # noqa: E402

FRAME_SECONDS = 29.12
PY = sys.executable


def run_json(*args: str) -> dict:
    proc = subprocess.run([PY, *args], capture_output=True, text=True, cwd=HERE.parent)
    if proc.returncode:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                out += map(int, children)
                todo += map(int, children)
        except OSError:
            continue
    return out


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def is_python(pid: int) -> bool:
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure_limit(file_list: Path, cores: int) -> dict:
    front = run_json("benchmarks/stages.py", "frontend", str(file_list))
    settings = [run_json("benchmarks/stages.py", "inference", str(t)) for t in sorted({1, cores})]
    # Core-seconds per frame: a model using T threads for w seconds occupies T cores.
    best = min(
        (
            (s["threads"] * w, s["threads"], int(b))
            for s in settings
            for b, w in s["wall_s_per_frame"].items()
        ),
    )
    per_hour = {
        "decode": front["decode_cpu_s"] / front["audio_s"] * 3600,
        "logmel": front["logmel_s_per_frame"] * 3600 / FRAME_SECONDS,
        "inference": best[0] * 3600 / FRAME_SECONDS,
    }
    return {
        "per_hour": per_hour,
        "best_threads": best[1],
        "best_batch": best[2],
        "x_realtime": cores * 3600 / sum(per_hour.values()),
        "inference_settings": settings,
    }


def run_pipeline(catalogue: Path, out: Path, cores: int, extra: list[str]) -> dict:
    cmd = [
        PY,
        "-m",
        "pipeline.cli",
        "run",
        "--catalogue",
        str(catalogue),
        "--output",
        str(out),
        "--full",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={cores}",
        "--progress-seconds=3600",
    ]
    cpu_before = children_cpu()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples, peak = [], {}
    while proc.poll() is None:
        time.sleep(0.5)
        for pid in [proc.pid, *descendants(proc.pid)]:
            if is_python(pid):  # the launcher and its SDK workers, not helper shells
                peak[pid] = max(peak.get(pid, 0), status_kb(pid, "VmHWM"))
        folders = list(out.glob("runs/*/.progress"))
        if folders:
            from transforms.progress import read_totals

            samples.append((time.monotonic() - start, read_totals(str(folders[0]))))
    _, stderr = proc.communicate()
    wall = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"pipeline failed:\n{stderr[-3000:]}")
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    return {
        "wall": wall,
        "cpu": children_cpu() - cpu_before,
        "samples": samples,
        "manifest": manifest,
        "launcher_peak_kb": peak.pop(proc.pid, 0),
        "worker_peak_kb": peak,
    }


def steady_state(samples: list, total_frames: int) -> tuple[float | None, float | None]:
    """Start-up (first classified frame) and frames/s between 10% and 90% of the frames."""
    points = [(t, s.get("classified", 0)) for t, s in samples]
    first = next((t for t, n in points if n > 0), None)
    lo = next(((t, n) for t, n in points if n >= 0.1 * total_frames), None)
    hi = next(((t, n) for t, n in points if n >= 0.9 * total_frames), None)
    if not lo or not hi or hi[0] <= lo[0]:
        return first, None
    return first, (hi[1] - lo[1]) / (hi[0] - lo[0])


def main(argv: list[str]) -> None:
    """``--pipeline-only`` skips the limit and the baseline; other arguments go to ``recogenre run``."""
    pipeline_only = "--pipeline-only" in argv
    pipeline_args = [a for a in argv if a != "--pipeline-only"]
    cores = os.cpu_count() or 1
    work = HERE / "work"
    t0 = time.monotonic()
    catalogue = build(work / "catalogue")
    files = audio_files(catalogue)
    file_list = work / "files.txt"
    file_list.write_text("\n".join(map(str, files)) + "\n")
    print(
        f"catalogue: {len(files)} files under {catalogue} (built in {time.monotonic() - t0:.0f} s)",
        flush=True,
    )

    limit = {"per_hour": {}, "best_threads": None, "best_batch": None, "x_realtime": float("nan")}
    if not pipeline_only:
        limit = measure_limit(file_list, cores)
    print("stages alone, CPU seconds per audio hour:", flush=True)
    for stage, cost in limit["per_hour"].items():
        print(f"  {stage:<10} {cost:7.2f}")
    print(f"  CRNN best setting: {limit['best_threads']} thread(s), batch {limit['best_batch']}")
    print(f"limit on {cores} cores: {limit['x_realtime']:.0f}x real-time", flush=True)

    with tempfile.TemporaryDirectory(dir=work) as tmp:
        run = run_pipeline(catalogue, Path(tmp) / "out", cores, pipeline_args)
    m = run["manifest"]
    audio_s, frames, tracks = m["audio_hours"] * 3600, m["counts"]["frames"], m["counts"]["tracks"]
    startup, fps = steady_state(run["samples"], frames)
    steady_x = fps * FRAME_SECONDS if fps else None
    stage_cpu = m.get("stage_cpu_seconds", {})
    per_hour = {k: v / m["audio_hours"] for k, v in stage_cpu.items()}
    per_hour["beam overhead"] = (run["cpu"] - sum(stage_cpu.values())) / m["audio_hours"]
    print(
        f"pipeline ({m['runner']}, {cores} workers): {tracks} tracks, {frames} frames, "
        f"{m['counts']['errors']} errors, {m['audio_hours']:.2f} h of audio"
    )
    print(f"  wall {run['wall']:.1f} s, start-up to first classified frame {startup:.1f} s")
    print(
        f"  overall {audio_s / run['wall']:.0f}x real-time, {frames / run['wall']:.1f} frames/s, "
        f"{tracks / run['wall']:.2f} tracks/s"
    )
    if steady_x:
        print(
            f"  steady state {steady_x:.0f}x real-time ({fps:.1f} frames/s) = "
            f"{steady_x / limit['x_realtime']:.0%} of the limit"
        )
    print("  CPU seconds per audio hour: " + ", ".join(f"{k} {v:.2f}" for k, v in per_hour.items()))
    peaks = sorted(run["worker_peak_kb"].values(), reverse=True)
    print(
        f"  peak RSS per worker: {', '.join(f'{kb / 1024:.0f} MB' for kb in peaks[: cores + 1])} "
        f"(launcher {run['launcher_peak_kb'] / 1024:.0f} MB)",
        flush=True,
    )

    if pipeline_only:
        return
    base = run_json("benchmarks/baseline.py", str(file_list))
    base_x = base["audio_s"] / base["wall_s"]
    pipe_x = audio_s / run["wall"]
    print(
        f"baseline (sequential librosa.load + predict per track): {base['tracks']} tracks "
        f"({base['failed']} it could not load), {base['audio_s'] / 3600:.2f} h in {base['wall_s']:.1f} s "
        f"= {base_x:.0f}x real-time"
    )
    print(f"pipeline / baseline throughput, start-up included: {pipe_x / base_x:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
