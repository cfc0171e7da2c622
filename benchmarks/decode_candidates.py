"""Ways to turn a stereo MP3 into 12 kHz mono, against today's path (issue 23).

The reference is RESULTS_VERSION 4's path (libsndfile's libmpg123, channel mean,
soxr HQ streamed). For each candidate and each file of a list: CPU seconds (``time.process_time``,
the minimum of ``--repeat`` runs) per audio second; the log-mel of every
consecutive 29.12 s frame against today's (max and median |dB difference|);
and the model's top genre on every frame (OpenVINO fp32) against today's.
Run it on one core (``taskset -c 1``). Prints figures; asserts nothing.

    taskset -c 1 .venv/bin/python benchmarks/decode_candidates.py FILE_LIST [--repeat 5] [--only a,b]

Candidates that the product cannot use are measured for the record:
``mpg123-quarter`` calls the system's libmpg123 (not a dependency; libsndfile's
copy inside the soundfile wheel does not export its functions) with
MPG123_DOWN_SAMPLE=2 and MPG123_MONO_MIX.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recogenre.analysis.decode import decode
from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE

BLOCK_SECONDS = 10.0


def pad_to(y: np.ndarray, n_in: int, sr: int) -> np.ndarray:
    """librosa.load's length: ceil(n * 12000 / sr)."""
    want = -(-n_in * SAMPLE_RATE // sr)
    return y[:want] if len(y) >= want else np.concatenate([y, np.zeros(want - len(y), np.float32)])


def sf_blocks(path: str):
    with sf.SoundFile(path) as f:
        block = int(BLOCK_SECONDS * f.samplerate)
        while len(b := f.read(block, dtype="float32", always_2d=True)):
            yield f.samplerate, b.mean(axis=1, dtype=np.float32)


def soxr_stream(blocks, quality: str) -> np.ndarray:
    out, rs, n_in, sr = [], None, 0, 0
    for sr, b in blocks:
        if rs is None:
            rs = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality=quality)
        n_in += len(b)
        out.append(rs.resample_chunk(b, last=False))
    out.append(rs.resample_chunk(np.zeros(0, np.float32), last=True))
    return pad_to(np.concatenate(out), n_in, sr)


def sf_decode_only(path: str) -> None:
    for _ in sf_blocks(path):
        pass


def sf_soxr(quality: str) -> Callable[[str], np.ndarray]:
    return lambda path: soxr_stream(sf_blocks(path), quality)


def sf_poly(path: str) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1, dtype=np.float32)
    g = gcd(SAMPLE_RATE, sr)
    return pad_to(resample_poly(y, SAMPLE_RATE // g, sr // g).astype(np.float32), len(y), sr)


def av_frames(path: str, threads: bool):
    import av

    with av.open(path) as c:
        s = c.streams.audio[0]
        if threads:
            s.codec_context.thread_count = 1
            s.codec_context.thread_type = "NONE"
        yield from c.decode(s)


def av_soxr(threads: bool) -> Callable[[str], np.ndarray]:
    def run(path: str) -> np.ndarray:
        def blocks():
            for frame in av_frames(path, threads):
                p = frame.to_ndarray()
                yield frame.sample_rate, p.mean(axis=0, dtype=np.float32) if p.shape[0] > 1 else p[0]

        return soxr_stream(blocks(), "HQ")

    return run


def av_decode_only(path: str) -> None:
    for frame in av_frames(path, True):
        frame.to_ndarray()


def av_swr(path: str) -> np.ndarray:
    """FFmpeg's swresample downmixes (ac=1) and resamples to 12 kHz (its default filter)."""
    import av

    rs = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    out, n_in, sr = [], 0, 0
    for frame in av_frames(path, True):
        n_in += frame.samples
        sr = frame.sample_rate
        out += [o.to_ndarray()[0] for o in rs.resample(frame)]
    out += [o.to_ndarray()[0] for o in rs.resample(None)]
    return pad_to(np.concatenate(out), n_in, sr)


_mpg123 = None


def mpg123_quarter(path: str) -> np.ndarray:
    """libmpg123 decoding at a quarter of the rate, channels mixed, float output."""
    global _mpg123
    if _mpg123 is None:
        _mpg123 = ctypes.CDLL("libmpg123.so.0")
        _mpg123.mpg123_new.restype = ctypes.c_void_p
        _mpg123.mpg123_param.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_double]
        _mpg123.mpg123_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _mpg123.mpg123_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        _mpg123.mpg123_getformat.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 3
        for name in ("mpg123_close", "mpg123_delete"):
            getattr(_mpg123, name).argtypes = [ctypes.c_void_p]
        _mpg123.mpg123_init()
    lib = _mpg123
    err = ctypes.c_int()
    mh = lib.mpg123_new(None, ctypes.byref(err))
    flags = 0x4 | 0x20 | 0x40 | 0x400  # MONO_MIX | QUIET | GAPLESS | FORCE_FLOAT
    lib.mpg123_param(mh, 1, flags, 0.0)  # MPG123_FLAGS
    lib.mpg123_param(mh, 4, 2, 0.0)  # MPG123_DOWN_SAMPLE: quarter rate
    lib.mpg123_open(mh, path.encode())
    rate, ch, enc = ctypes.c_long(), ctypes.c_int(), ctypes.c_int()
    buf = np.empty(1 << 16, np.float32)
    done = ctypes.c_size_t()
    parts = []
    while True:
        rc = lib.mpg123_read(mh, buf.ctypes.data, buf.nbytes, ctypes.byref(done))
        if done.value:
            parts.append(buf[: done.value // 4].copy())
        if rc == -11:  # MPG123_NEW_FORMAT
            lib.mpg123_getformat(mh, ctypes.byref(rate), ctypes.byref(ch), ctypes.byref(enc))
            continue
        if rc != 0:
            break
    lib.mpg123_close(mh)
    lib.mpg123_delete(mh)
    y = np.concatenate(parts)
    if rate.value == SAMPLE_RATE:
        return y
    return soxr_stream([(rate.value, y)], "HQ")


REFERENCE = "before: libsndfile+soxr-HQ"
CANDIDATES: dict[str, Callable[[str], np.ndarray | None]] = {
    # RESULTS_VERSION 4's decoding of an MP3 (AudioStream without its checks): the reference.
    REFERENCE: sf_soxr("HQ"),
    "product: AudioStream": lambda path: decode(path)[1],
    "sf-decode-only": sf_decode_only,
    "sf+soxr-VHQ": sf_soxr("VHQ"),
    "sf+soxr-MQ": sf_soxr("MQ"),
    "sf+soxr-LQ": sf_soxr("LQ"),
    "sf+resample_poly": sf_poly,
    "av-decode-only": av_decode_only,
    "av+soxr-HQ (default threads)": av_soxr(False),
    "av+soxr-HQ (1 thread)": av_soxr(True),
    "av+swr-mono-12k": av_swr,
    "mpg123-quarter-mix": mpg123_quarter,
}


def log_mels(y: np.ndarray) -> np.ndarray:
    from recogenre.analysis.melspec import log_mel

    n = max(1, len(y) // FRAME_SAMPLES)
    y = np.resize(y, FRAME_SAMPLES) if len(y) < FRAME_SAMPLES else y
    return np.stack([log_mel(y[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) for i in range(n)])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file_list")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", default="")
    args = p.parse_args()
    files = [f for f in Path(args.file_list).read_text().split("\n") if f]
    names = [n for n in CANDIDATES if not args.only or n in args.only.split(",") or n == REFERENCE]
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.weights import resolve_weights

    model = Model(*resolve_weights(), backend="openvino", precision="fp32")
    audio_s = sum(sf.info(f).duration for f in files)
    ref_mels = {f: log_mels(CANDIDATES[REFERENCE](f)) for f in files}
    ref_top = {f: model.predict(m).argmax(1) for f, m in ref_mels.items()}
    print(f"{len(files)} files, {audio_s:.0f} s of audio; CPU ms per audio s, min/median of {args.repeat}:")

    for name in names:
        fn = CANDIDATES[name]
        runs = []
        for _ in range(args.repeat):
            t = 0.0
            for f in files:
                t0 = time.process_time()
                y = fn(f)
                t += time.process_time() - t0
            runs.append(t / audio_s * 1000)
        line = f"  {name:<30} {min(runs):6.3f} / {statistics.median(runs):6.3f}"
        if y is not None and name != REFERENCE:
            diffs, agree, frames = [], 0, 0
            for f in files:
                m = log_mels(fn(f))
                ref = ref_mels[f]
                k = min(len(m), len(ref))
                diffs.append(np.abs(m[:k] - ref[:k]).ravel())
                agree += int((model.predict(m[:k]).argmax(1) == ref_top[f][:k]).sum())
                frames += k
            d = np.concatenate(diffs)
            line += f"   log-mel |dB diff| max {d.max():7.4f} median {np.median(d):.5f};"
            line += f" top genre {agree}/{frames}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
