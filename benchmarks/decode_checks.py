"""What the decoder's safety checks cost per block, against decoding the block.

Per 10-second block at the source rate: the sample check (one max and one
min), the duration budget (an addition and a comparison), and the capture of
libsndfile's stderr (a lock, two dup2 calls and a zero-length read) and the
white-noise check's sums (``analysis/noise_check.py``; also per FFmpeg-sized
packet of 1,152 samples) -- each against decoding that block with
libsndfile, for an MP3 and a FLAC of the same clip. Prints figures; asserts
nothing.

Usage: .venv/bin/python benchmarks/decode_checks.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from recogenre.analysis import native_stderr
from recogenre.analysis.decode import BLOCK_SECONDS, AudioStream
from recogenre.analysis.noise_check import WhiteNoiseCheck

CLIP = Path(__file__).resolve().parents[2] / "shared" / "audio" / "example_cl.mp3"


def per_call(fn, repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def decode_seconds_per_block(path: str) -> float:
    with sf.SoundFile(path) as f:
        block = int(BLOCK_SECONDS * f.samplerate)
        t0, n = time.perf_counter(), 0
        while len(b := f.read(block, dtype="float32", always_2d=True)):
            b.mean(axis=1, dtype=np.float32)
            n += 1
    return (time.perf_counter() - t0) / n


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        flac = str(Path(tmp) / "clip.flac")
        y, sr = sf.read(CLIP, dtype="int16")
        sf.write(flac, y, sr)
        block = np.ascontiguousarray(y[: int(BLOCK_SECONDS * sr), 0], np.float32) / 32768
        sample_check = per_call(lambda: (block.max() <= 1e6) and (block.min() >= -1e6), 2000)
        capture = per_call(_one_capture, 2000)
        noise = WhiteNoiseCheck(sr)
        white_noise = per_call(lambda: noise.add(block), 200)
        packet = block[:1152]
        per_packet = per_call(lambda: noise.add(packet), 5000)
        print(f"per {BLOCK_SECONDS:g} s block at {sr} Hz:")
        print(f"  sample check (max, min)  {sample_check * 1e6:8.1f} us")
        print(f"  stderr capture           {capture * 1e6:8.1f} us")
        print(f"  white-noise sums         {white_noise * 1e6:8.1f} us")
        per_second = per_packet / 1152 * sr
        print(f"  white-noise sums in 1,152-sample packets: {per_second * 1e3:.2f} ms per audio second")
        for name, path in (("mp3", str(CLIP)), ("flac", flac)):
            d = decode_seconds_per_block(path)
            share = (sample_check + capture + white_noise) / d * 100
            print(f"  libsndfile decode {name:4}   {d * 1e6:8.1f} us  -> checks are {share:.2f}% of it")
        t0 = time.perf_counter()
        with AudioStream(str(CLIP)) as stream:
            n = sum(len(b) for b in stream)
        took = time.perf_counter() - t0
        print(f"whole stream (decode, checks, resampling): {took:.3f} s, {n / 12000:.0f} s of audio")


def _one_capture() -> None:
    with native_stderr.captured():
        pass


if __name__ == "__main__":
    main()
