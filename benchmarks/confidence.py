"""The measurements behind the confidence's definition and ``--min-confidence``'s default.

Classifies every clip in ``../shared/audio`` and a few generated sounds that
belong to no genre (a sine, brown and white noise, 0.12 s and 10 s fragments
of GTZAN clips, written to a temporary folder) and prints, per file: its
frames, the highest raw sigmoid (mean over the voting frames), the sum of the
raw sigmoids, the top genre's share of the normalised vector (what the
original printed), the confidence (``analysis/aggregate.py``) and the
``top_genre`` at the default threshold. Prints figures; asserts nothing.

Usage: .venv/bin/python benchmarks/confidence.py [--cover-tail]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE
from recogenre.analysis.classifier import Model, classify_file
from recogenre.analysis.weights import resolve_weights

SHARED = Path(__file__).resolve().parents[2] / "shared"


def generated(folder: Path) -> list[Path]:
    sr, rng = 22050, np.random.default_rng(0)
    t = np.arange(31 * sr) / sr
    brown = np.cumsum(rng.standard_normal(len(t)))
    brown -= np.convolve(brown, np.ones(2205) / 2205, "same")
    disco, r = sf.read(SHARED / "audio" / "disco.00000.au", dtype="float32")
    metal, _ = sf.read(SHARED / "audio" / "metal.00000.au", dtype="float32")
    sounds = {
        "sine-440Hz.wav": (0.3 * np.sin(2 * np.pi * 440 * t), sr),
        "brown-noise.wav": (brown / np.abs(brown).max() / 3, sr),
        "white-noise.wav": (0.1 * rng.standard_normal(len(t)), sr),
        "disco-0.12s.wav": (disco[10 * r : 10 * r + round(0.12 * r)], r),
        "metal-0.12s.wav": (metal[10 * r : 10 * r + round(0.12 * r)], r),
        "disco-10s.wav": (disco[10 * r : 20 * r], r),
    }
    for name, (samples, rate) in sounds.items():
        sf.write(folder / name, np.asarray(samples, np.float32), rate)
    return [folder / name for name in sounds]


def main() -> None:
    cover_tail = "--cover-tail" in sys.argv[1:]
    path, digest = resolve_weights(str(SHARED / "weights" / "crnn_gtzan_keras1.h5"))
    model = Model(path, digest)
    with tempfile.TemporaryDirectory() as tmp:
        files = sorted((SHARED / "audio").iterdir()) + generated(Path(tmp))
        heads = ("s", 6), ("fr", 3), ("max raw", 7), ("sum raw", 7), ("share", 6), ("conf", 6)
        print(f"{'file':27} " + " ".join(f"{h:>{w}}" for h, w in heads) + "  top_genre")
        for f in files:
            r = classify_file(str(f), model, cover_tail=cover_tail)
            raw = np.array([x.raw for x in r.frames if x.raw is not None])
            v = r.vector
            print(
                f"{f.name[:27]:27} {r.duration_s:6.1f} {len(r.frames):3d} {raw.max(axis=1).mean():7.3f} "
                f"{raw.sum(axis=1).mean():7.3f} {v.top_score * 100:5.1f}% {v.confidence:6.3f}  "
                f"{r.top_genre}" + (f" ({v.top_genre})" if r.top_genre != v.top_genre else "")
            )
    print(f"default --min-confidence {DEFAULT_MIN_CONFIDENCE:g}")


if __name__ == "__main__":
    main()
