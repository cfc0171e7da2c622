"""Precision table: bf16 and int8 against fp32 (agreement) and what each costs (CPU ms per audio second).

Agreement, per frame: the fraction of frames whose top genre is fp32's, and the largest
|score difference|, on
  * shared: every non-silent frame of every clip in ../shared/audio (what a run classifies);
  * dense: frames starting every 4 s of the same clips (overlapping, more frames to count);
  * reference: the four reference melgrams of ../shared/reference;
  * probe: the synthesised frames quantisation is checked on before it is cached.
Tracks: each shared clip's top genre (the mean over its frames) per precision.
Speed: the model alone (``OpenVinoModel.infer``) on a batch of the pipeline's size
(``DEFAULT_BATCH``), 1 and 2 inference threads pinned with ``taskset`` to as many cores,
the minimum CPU time of several calls, per second of audio (a frame is 29.12 s).

    .venv/bin/python benchmarks/int8.py [--repeats 7] [--rounds 3] [--speed-only]

Figures only; the int8 model is quantised first if this machine has none cached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PRECISIONS = ("fp32", "bf16", "int8")


def frame_sets() -> dict[str, np.ndarray]:
    from recogenre.analysis.decode import decode
    from recogenre.analysis.features import TrackReader
    from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE
    from recogenre.analysis.int8_calibration import calibration_frames
    from recogenre.analysis.melspec import is_silent, log_mel
    from recogenre.analysis.openvino_int8 import PROBE_FRAMES, PROBE_SEED

    shared, dense = [], []
    for path in sorted((SHARED / "audio").iterdir()):
        if path.suffix == ".md":
            continue
        with TrackReader(str(path)) as reader:
            shared += [f.melgram for f in reader.frames() if not f.silent]
        _, samples = decode(str(path))
        for start in range(0, len(samples) - FRAME_SAMPLES + 1, 4 * SAMPLE_RATE):
            piece = samples[start : start + FRAME_SAMPLES]
            if not is_silent(piece):
                dense.append(log_mel(piece))
    reference = [np.load(p)[0, 0] for p in sorted((SHARED / "reference").glob("*.melgram.npy"))]
    probe = calibration_frames(PROBE_FRAMES, PROBE_SEED)  # what quantisation is checked on
    return {"shared": np.stack(shared), "dense": np.stack(dense), "reference": np.stack(reference),
            "probe": probe}


def _model(precision: str, threads: int | None = None):
    from recogenre.analysis.openvino_model import load
    from recogenre.analysis.weights import resolve_weights

    return load(*resolve_weights(str(SHARED / "weights" / "crnn_gtzan_keras1.h5")), precision, threads)


def agreement_table() -> list[str]:
    from recogenre.analysis.backends import DEFAULT_BATCH
    from recogenre.analysis.openvino_int8 import agreement

    sets = frame_sets()
    scores = {}
    for precision in PRECISIONS:
        model = _model(precision)
        for name, frames in sets.items():
            scores[precision, name] = np.concatenate(
                [
                    model.predict(frames[i : i + DEFAULT_BATCH, ..., None])
                    for i in range(0, len(frames), DEFAULT_BATCH)
                ]
            )
    lines = [f"{'precision':<10}" + "".join(f"{f'{n} ({len(f)} frames)':>28}" for n, f in sets.items())]
    lines.append(f"{'':<10}" + f"{'same top genre  max |diff|':>28}" * len(sets))
    for precision in PRECISIONS[1:]:
        cells = []
        for name in sets:
            same, worst = agreement(scores["fp32", name], scores[precision, name])
            cells.append(f"{same:>16.1%} {worst:>11.4f}")
        lines.append(f"{precision:<10}" + "".join(cells))
    return lines


def track_table() -> list[str]:
    """Each shared clip's top genre (what a run's tracks table holds) per precision."""
    from recogenre.analysis.classifier import Model, classify_file
    from recogenre.analysis.weights import resolve_weights

    path, digest = resolve_weights(str(SHARED / "weights" / "crnn_gtzan_keras1.h5"))
    models = {q: Model(path, digest, "openvino", q) for q in PRECISIONS}
    lines = [f"{'clip':<28}" + "".join(f"{q:>12}" for q in PRECISIONS)]
    for clip in sorted((SHARED / "audio").iterdir()):
        if clip.suffix == ".md":
            continue
        tops = [classify_file(str(clip), models[q]).vector.top_genre for q in PRECISIONS]
        lines.append(f"{clip.name:<28}" + "".join(f"{t or '-':>12}" for t in tops))
    return lines


def one_speed(precision: str, threads: int, repeats: int) -> float:
    """CPU ms per audio second of this process's model (run in a child pinned by taskset)."""
    from recogenre.analysis.backends import DEFAULT_BATCH
    from recogenre.analysis.frames import FRAME_SECONDS
    from recogenre.analysis.int8_calibration import calibration_frames

    model = _model(precision, threads)
    x = calibration_frames(DEFAULT_BATCH, seed=1)[..., None]
    model.infer(x)  # the first call allocates
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        model.infer(x)
        best = min(best, time.process_time() - start)
    return best * 1000 / (DEFAULT_BATCH * FRAME_SECONDS)


def speed_table(repeats: int, rounds: int) -> list[str]:
    """Rounds interleave the precisions, so that load from elsewhere on the machine (a shared
    2-core box) falls on all of them alike; each cell is the minimum over the rounds."""
    best: dict[tuple[str, int], float] = {}
    for _ in range(rounds):
        for precision in PRECISIONS:
            for threads in (1, 2):
                cores = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:threads])
                cmd = ["taskset", "-c", cores, sys.executable, __file__, "--one", precision, str(threads),
                       "--repeats", str(repeats)]
                done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
                ms = json.loads(done.stdout.splitlines()[-1])
                best[precision, threads] = min(ms, best.get((precision, threads), ms))
    lines = [f"{'precision':<10}{'1 thread':>12}{'2 threads':>12}   (CPU ms per audio second, min of "
             f"{rounds} x {repeats} calls of {_batch()} frames)"]
    for precision in PRECISIONS:
        lines.append(f"{precision:<10}" + "".join(f"{best[precision, t]:>12.3f}" for t in (1, 2)))
    return lines


def _batch() -> int:
    from recogenre.analysis.backends import DEFAULT_BATCH

    return DEFAULT_BATCH


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed calls per process")
    p.add_argument("--rounds", type=int, default=3, help="processes per precision and thread count")
    p.add_argument("--speed-only", action="store_true", help="skip the agreement tables")
    p.add_argument("--one", nargs=2, metavar=("PRECISION", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_speed(args.one[0], int(args.one[1]), args.repeats)))
        return
    if not args.speed_only:
        print("\n".join(agreement_table()), flush=True)
        print()
        print("\n".join(track_table()), flush=True)
        print()
    print("\n".join(speed_table(args.repeats, args.rounds)))


if __name__ == "__main__":
    main()
