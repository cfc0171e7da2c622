"""recogenre's benchmark: the pipeline against this machine's limit and the original.

    ./run_local.sh bench            (or: .venv/bin/python benchmarks/benchmark.py)
    ./run_local.sh bench --sets mp3 --backends openvino     (a subset: ~5 minutes)

Builds three catalogues from ../shared/audio under benchmarks/work/:
``mixed`` (copies in mixed formats plus one 3-hour FLAC, >= 3 h), ``mp3`` (mostly
copies of a 203 s MP3, >= 3 h) and ``mp3stereo`` (the clips as 44.1 and 48 kHz
stereo MP3s by LAME at 128-320 kbps, 13.5 minutes; issue 23's stand-in for a
commercial MP3 library). For each set, in one session, it measures:

1. each stage alone at its best setting (decode+resample, log-mel, CRNN at the
   best batch size and thread count, per backend and precision) -> the limit for all cores;
2. the pipeline on all cores with the DirectRunner (multi-processing), sampling
   its progress files (start-up to the first classified frame) and every worker's
   peak RSS, once per backend/precision;
3. the original approach (benchmarks/baseline.py) over the same files;
4. bf16's deviation from fp32 on every frame (max |score difference|) and the
   tracks whose top genre agrees.

Options: ``--sets mixed,mp3,mp3stereo``, ``--backends keras,openvino``, ``--precisions fp32,bf16``
(each a subset of the default: all), ``--hours H`` (size of the mixed and mp3 sets; default 3),
``--pipeline-only`` (skip the limit and the baseline); anything else goes to ``recogenre run``.
It prints figures and ratios; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from catalogue import audio_files, build, build_mp3, build_mp3_stereo  # noqa: E402

from recogenre.analysis.frames import FRAME_SECONDS  # noqa: E402
from recogenre.analysis.genres import GENRES  # noqa: E402
from recogenre.pipeline.interrupt import descendants  # noqa: E402

PY = sys.executable
CONFIGS = (("keras", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"))
SETS = ("mixed", "mp3", "mp3stereo")


def run_json(*args: str) -> dict:
    proc = subprocess.run([PY, *args], capture_output=True, text=True, cwd=HERE.parent)
    if proc.returncode:
        raise SystemExit(f"benchmark step failed: {' '.join(args)}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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


def measure_frontend(file_list: Path) -> dict:
    front = run_json("benchmarks/stages.py", "frontend", str(file_list))
    return {
        "decode": front["decode_cpu_s"] / front["audio_s"] * 3600,
        "logmel": front["logmel_s_per_frame"] * 3600 / FRAME_SECONDS,
    }


def measure_limit(front: dict, cores: int, backend: str, precision: str) -> dict:
    settings = [
        run_json("benchmarks/stages.py", "inference", str(t), backend, precision) for t in sorted({1, cores})
    ]
    # Core-seconds per frame: a model using T threads for w seconds occupies T cores.
    best = min(
        (
            (s["threads"] * w, s["threads"], int(b))
            for s in settings
            for b, w in s["wall_s_per_frame"].items()
        ),
    )
    per_hour = {**front, "inference": best[0] * 3600 / FRAME_SECONDS}
    return {
        "per_hour": per_hour,
        "best_threads": best[1],
        "best_batch": best[2],
        "ms_per_frame": best[0] / best[1] * 1000,
        "x_realtime": cores * 3600 / sum(per_hour.values()),
    }


def run_pipeline(catalogue: Path, out: Path, extra: list[str]) -> dict:
    """``recogenre run`` with no runner options: the default, one worker process per core."""
    cmd = [
        PY,
        "-m",
        "recogenre",
        "run",
        "--catalogue",
        str(catalogue),
        "--output",
        str(out),
        "--full",
        "--progress-seconds=3600",
        *extra,
    ]
    cpu_before = children_cpu()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples, peak = [], {}
    while proc.poll() is None:
        time.sleep(0.1)  # fine enough for the start-up figure
        for pid in [proc.pid, *descendants(proc.pid)]:
            if is_python(pid):  # the launcher and its SDK workers, not helper shells
                peak[pid] = max(peak.get(pid, 0), status_kb(pid, "VmHWM"))
        folders = list(out.glob("runs/*/.progress"))
        if folders:
            from recogenre.analysis.progress import read_totals

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


def bf16_deviation(fp32_out: Path, bf16_out: Path) -> dict:
    """bf16 against fp32 on every frame (raw sigmoid scores) and every track's top genre."""
    import numpy as np
    import pandas as pd

    raw = [f"raw_{g}" for g in GENRES]
    keys = ["track_id", "frame_index"]
    a = pd.read_parquet(fp32_out / "latest" / "frames").dropna(subset=raw).sort_values(keys)
    b = pd.read_parquet(bf16_out / "latest" / "frames").dropna(subset=raw).sort_values(keys)
    merged = a.merge(b, on=keys, suffixes=("_a", "_b"))
    delta = np.abs(merged[[f"{r}_a" for r in raw]].to_numpy() - merged[[f"{r}_b" for r in raw]].to_numpy())
    ta = pd.read_parquet(fp32_out / "latest" / "tracks").dropna(subset=["top_genre"]).set_index("track_id")
    tb = pd.read_parquet(bf16_out / "latest" / "tracks").dropna(subset=["top_genre"]).set_index("track_id")
    both = ta.merge(tb, left_index=True, right_index=True, suffixes=("_a", "_b"))
    frame_top = merged[[f"{r}_a" for r in raw]].to_numpy().argmax(1) == merged[
        [f"{r}_b" for r in raw]
    ].to_numpy().argmax(1)
    return {
        "frames": len(merged),
        "max_abs": float(delta.max()) if len(delta) else float("nan"),
        "mean_abs": float(delta.mean()) if len(delta) else float("nan"),
        "frame_top_agree": int(frame_top.sum()),
        "tracks": len(both),
        "track_top_agree": int((both["top_genre_a"] == both["top_genre_b"]).sum()),
    }


def build_set(name: str, work: Path, hours: float) -> Path:
    seconds = hours * 3600 + 60
    tag = f"{hours:g}h"
    if name == "mp3stereo":
        return build_mp3_stereo(work / "catalogue-mp3stereo")  # a fixed set: 10 files, 13.5 minutes
    if name == "mp3":
        return build_mp3(work / f"catalogue-mp3-{tag}", seconds)
    if hours == 3:
        return build(work / "catalogue")  # the folder earlier benchmarks built
    return build(work / f"catalogue-mixed-{tag}", seconds, long_seconds=int(hours * 3600))


def report_run(label: str, run: dict, limit: dict | None, base_x: float | None, cores: int) -> dict:
    m = run["manifest"]
    audio_s, frames = m["audio_hours"] * 3600, m["counts"]["frames"]
    startup, fps = steady_state(run["samples"], frames)
    steady_x = fps * FRAME_SECONDS if fps else None
    overall_x = audio_s / run["wall"]
    peaks = sorted(run["worker_peak_kb"].values(), reverse=True)[: cores + 1]
    stage_cpu = m.get("stage_cpu_seconds", {})
    per_hour = {k: v / m["audio_hours"] for k, v in stage_cpu.items()}
    per_hour["beam overhead"] = (run["cpu"] - sum(stage_cpu.values())) / m["audio_hours"]
    lim = limit["x_realtime"] if limit else float("nan")
    print(f"  {label}: {m['counts']['tracks']} tracks, {frames} frames, {m['counts']['errors']} errors")
    if limit:
        print(
            f"    limit {lim:.0f}x real-time (CRNN {limit['ms_per_frame']:.1f} ms/frame at "
            f"{limit['best_threads']} thread(s), batch {limit['best_batch']})"
        )
    print(
        f"    wall {run['wall']:.1f} s, overall {overall_x:.0f}x real-time, start-up to first classified "
        f"frame {startup if startup is not None else float('nan'):.1f} s"
    )
    if steady_x:
        print(
            f"    steady state {steady_x:.0f}x real-time ({fps:.1f} frames/s) = "
            f"{steady_x / lim:.0%} of the limit"
        )
    print("    CPU seconds per audio hour: " + ", ".join(f"{k} {v:.2f}" for k, v in per_hour.items()))
    # The same figures in issue 23's unit: CPU milliseconds per second of audio (s/h / 3.6).
    print("    CPU ms per audio second: " + ", ".join(f"{k} {v / 3.6:.3f}" for k, v in per_hour.items()))
    print(
        f"    peak RSS per worker: {', '.join(f'{kb / 1024:.0f} MB' for kb in peaks)} "
        f"(launcher {run['launcher_peak_kb'] / 1024:.0f} MB)"
    )
    if base_x:
        print(f"    pipeline / baseline throughput, start-up included: {overall_x / base_x:.2f}x")
    return {
        "label": label,
        "limit": lim,
        "steady": steady_x,
        "overall": overall_x,
        "startup": startup,
        "rss_mb": max(peaks, default=0) / 1024,
        "vs_baseline": overall_x / base_x if base_x else None,
    }


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of mixed,mp3,mp3stereo")
    p.add_argument("--backends", default="keras,openvino", help="comma-separated subset of keras,openvino")
    p.add_argument("--precisions", default="fp32,bf16", help="comma-separated subset of fp32,bf16")
    p.add_argument("--hours", type=float, default=3.0, help="hours of audio per mixed/mp3 set (default 3)")
    p.add_argument("--pipeline-only", action="store_true", help="skip the limit and the baseline")
    args, rest = p.parse_known_args(argv)
    args.sets = [s for s in args.sets.split(",") if s]
    configs = [
        (b, q) for b, q in CONFIGS if b in args.backends.split(",") and q in args.precisions.split(",")
    ]
    if not configs or not set(args.sets) <= set(SETS):
        p.error(f"no such set or backend/precision: choose sets from {SETS}, configs from {CONFIGS}")
    args.configs = configs
    return args, rest


def main(argv: list[str]) -> None:
    args, pipeline_args = parse(argv)
    cores = os.cpu_count() or 1
    work = HERE / "work"
    summary = []
    for set_name in args.sets:
        t0 = time.monotonic()
        catalogue = build_set(set_name, work, args.hours)
        files = audio_files(catalogue)
        file_list = work / f"files-{set_name}.txt"
        file_list.write_text("\n".join(map(str, files)) + "\n")
        print(
            f"== set {set_name}: {len(files)} files under {catalogue} "
            f"(built in {time.monotonic() - t0:.0f} s)",
            flush=True,
        )
        front = None if args.pipeline_only else measure_frontend(file_list)
        if front:
            print(
                f"  decode {front['decode']:.2f}, log-mel {front['logmel']:.2f} CPU s per audio hour "
                f"(decode incl. resampling {front['decode'] / 3.6:.3f}, log-mel {front['logmel'] / 3.6:.3f} "
                "CPU ms per audio second)",
                flush=True,
            )
        base_x = None
        if not args.pipeline_only:
            base = run_json("benchmarks/baseline.py", str(file_list))
            base_x = base["audio_s"] / base["wall_s"]
            print(
                f"  baseline (sequential librosa.load + keras predict per track): {base['tracks']} tracks "
                f"({base['failed']} it could not load), {base['audio_s'] / 3600:.2f} h "
                f"in {base['wall_s']:.1f} s "
                f"= {base_x:.0f}x real-time, first frame at {base['startup_s']:.1f} s",
                flush=True,
            )
        outs: dict[tuple[str, str], Path] = {}
        tmp = Path(tempfile.mkdtemp(dir=work))
        try:
            for backend, precision in args.configs:
                label = f"{backend} {precision}"
                limit = None if front is None else measure_limit(front, cores, backend, precision)
                out = tmp / f"{backend}-{precision}"
                run = run_pipeline(
                    catalogue, out, ["--backend", backend, "--precision", precision, *pipeline_args]
                )
                outs[(backend, precision)] = out
                summary.append({"set": set_name, **report_run(label, run, limit, base_x, cores)})
                sys.stdout.flush()
            fp32 = outs.get(("openvino", "fp32")) or outs.get(("keras", "fp32"))
            if fp32 and ("openvino", "bf16") in outs:
                d = bf16_deviation(fp32, outs[("openvino", "bf16")])
                print(
                    f"  bf16 vs fp32: max |score difference| {d['max_abs']:.4f} (mean {d['mean_abs']:.5f}) "
                    f"over {d['frames']} frames; top genre agrees on "
                    f"{d['frame_top_agree']}/{d['frames']} frames, "
                    f"{d['track_top_agree']}/{d['tracks']} tracks "
                    f"({d['track_top_agree'] / max(1, d['tracks']):.1%})",
                    flush=True,
                )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("summary (x real-time; start-up s; RSS MB per worker):")
    for r in summary:
        ratio = f"{r['vs_baseline']:.2f}x baseline" if r["vs_baseline"] else "no baseline"
        steady = f"{r['steady']:.0f}" if r["steady"] else "n/a"
        startup = r["startup"] if r["startup"] is not None else float("nan")
        print(
            f"  {r['set']:<5} {r['label']:<13} limit {r['limit']:.0f}, steady {steady}, "
            f"overall {r['overall']:.0f}, start-up {startup:.1f}, RSS {r['rss_mb']:.0f}, {ratio}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
