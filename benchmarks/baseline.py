"""The original system's approach, for comparison in the same benchmark run.

A sequential loop, as the 2016-era code did it: ``librosa.load`` at 12 kHz
(the whole file in memory), consecutive 29.12 s frames, librosa's mel
spectrogram per frame, and one ``model.predict`` per track -- with the same
ported model and weights. Files librosa cannot load count as failures.

Usage: python benchmarks/baseline.py FILE_LIST  ->  one JSON line on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

START = time.monotonic()

import warnings  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from recogenre.analysis.crnn import load_crnn  # noqa: E402
from recogenre.analysis.weights import resolve_weights  # noqa: E402


def main(list_file: str) -> None:
    warnings.simplefilter("ignore")
    model = load_crnn(resolve_weights()[0])
    paths = Path(list_file).read_text().split("\n")
    n_tracks = n_frames = failed = 0
    audio_s = 0.0
    first_frame_at = None
    for path in filter(None, paths):
        try:
            y, sr = librosa.load(path, sr=12000)
        except Exception:
            failed += 1
            continue
        n = 349440
        chunks = [y[i * n : (i + 1) * n] for i in range(len(y) // n)] or [np.pad(y, (0, n - len(y)))]
        mels = [
            librosa.power_to_db(
                librosa.feature.melspectrogram(
                    y=c, sr=sr, n_fft=512, hop_length=256, n_mels=96, pad_mode="reflect"
                )
                ** 2,
                ref=1.0,
            )
            for c in chunks
        ]
        model.predict(np.stack(mels)[..., None], verbose=0)
        if first_frame_at is None:
            first_frame_at = time.monotonic() - START
        n_tracks += 1
        n_frames += len(mels)
        audio_s += len(y) / sr
    wall = time.monotonic() - START
    print(
        json.dumps(
            {
                "wall_s": wall,
                "startup_s": first_frame_at,
                "tracks": n_tracks,
                "frames": n_frames,
                "failed": failed,
                "audio_s": audio_s,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
