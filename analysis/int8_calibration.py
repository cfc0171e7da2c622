"""Log-mel frames of synthesised music-like audio: the calibration set of ``--precision int8``.

Post-training quantisation needs frames that exercise the activation ranges real music
does. The project ships no audio (and a wheel has none of the user's yet), so they are
generated here, deterministically (a fixed seed): every machine quantises from the same
frames and its cached int8 model does not depend on what it happened to classify first.
Each 29.12 s frame mixes what music is made of -- harmonic chords that change, drum
hits (a decaying low sine and a noise burst) on a beat, band-limited noise, clicks --
at levels from quiet to full scale, so that the per-layer ranges NNCF measures cover
those of real tracks (``benchmarks/int8.py`` measures the agreement this gives).
"""

from __future__ import annotations

import numpy as np

from recogenre.analysis.frames import FRAME_SAMPLES, SAMPLE_RATE
from recogenre.analysis.melspec import log_mel

SEED = 2026
# Measured on the shared clips' frames: 96 gave int8 the same or better agreement with fp32 than 48,
# and synthesised frames better than Gaussian noise (docs/performance.md).
N_FRAMES = 96


def _envelope(n: int, attack: int, decay_s: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    env = np.exp(-t / decay_s)
    attack = min(attack, n)
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    return env


def _chords(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Harmonic notes (decaying partials) in chords that change every 0.5-3 s."""
    out = np.zeros_like(t)
    start = 0
    partials = rng.integers(1, 9)
    rolloff = rng.uniform(0.3, 0.9)
    while start < len(t):
        length = int(rng.uniform(0.5, 3.0) * SAMPLE_RATE)
        root = rng.uniform(36, 72)  # MIDI note
        span = slice(start, min(len(t), start + length))
        tt = t[span] - t[start]
        env = _envelope(len(tt), int(0.01 * SAMPLE_RATE), rng.uniform(0.3, 4.0))
        for interval in rng.choice([0, 3, 4, 7, 10, 12], size=rng.integers(1, 5), replace=False):
            f0 = 440.0 * 2 ** ((root + interval - 69) / 12)
            for k in range(1, partials + 1):
                if k * f0 < SAMPLE_RATE / 2:
                    phase = rng.uniform(0, 6.3)
                    out[span] += rolloff ** (k - 1) * np.sin(2 * np.pi * k * f0 * tt + phase) * env
        start += length
    return out


def _drums(rng: np.random.Generator, n: int) -> np.ndarray:
    """A kick (decaying 50-90 Hz sine) and a snare (noise burst) on a beat of 70-180 bpm."""
    out = np.zeros(n)
    beat = int(60.0 / rng.uniform(70, 180) * SAMPLE_RATE)
    hit = int(0.25 * SAMPLE_RATE)
    t = np.arange(hit) / SAMPLE_RATE
    kick = np.sin(2 * np.pi * rng.uniform(50, 90) * t) * np.exp(-t / 0.08)
    snare = rng.normal(0, 0.5, hit) * np.exp(-t / 0.05)
    for i, at in enumerate(range(0, n - hit, beat)):
        out[at : at + hit] += kick if i % 2 == 0 else snare
        mid = at + beat // 2
        if rng.random() < 0.5 and mid + 60 <= n:  # a hi-hat-like click between beats
            out[mid : mid + 60] += rng.normal(0, 0.3, 60)
    return out


def _noise_band(rng: np.random.Generator, n: int) -> np.ndarray:
    """White noise kept between two random frequencies, slowly amplitude-modulated."""
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    low = rng.uniform(20, 3000)
    high = min(SAMPLE_RATE / 2, low * rng.uniform(1.5, 8))
    spectrum[(freqs < low) | (freqs > high)] = 0
    band = np.fft.irfft(spectrum, n)
    band /= np.abs(band).max() + 1e-12
    t = np.arange(n) / SAMPLE_RATE
    return band * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 2) * t))


def synthetic_samples(rng: np.random.Generator) -> np.ndarray:
    """One frame (FRAME_SAMPLES at 12 kHz, float32) of a random mix at a random level."""
    n = FRAME_SAMPLES
    t = np.arange(n) / SAMPLE_RATE
    parts = [_chords(rng, t), _drums(rng, n), _noise_band(rng, n)]
    weights = rng.uniform(0, 1, len(parts)) * (rng.random(len(parts)) < 0.8)
    if not weights.any():
        weights[0] = 1.0
    mix = sum(w * p / (np.abs(p).max() + 1e-12) for w, p in zip(weights, parts))
    level = 10 ** (rng.uniform(-40, -1) / 20)  # peak -40 to -1 dBFS
    return (mix / (np.abs(mix).max() + 1e-12) * level).astype(np.float32)


def calibration_frames(n: int = N_FRAMES, seed: int = SEED) -> np.ndarray:
    """``n`` log-mel frames (n, 96, 1366) float32 of synthesised audio, the same on every machine."""
    rng = np.random.default_rng(seed)
    return np.stack([log_mel(synthetic_samples(rng)) for _ in range(n)])
