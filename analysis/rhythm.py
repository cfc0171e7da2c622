"""Rhythm descriptors of a frame, from the log-mel recogenre already computes.

Many users' taxonomies are about rhythm rather than timbre (dance styles, tempo
classes, "chill vs energetic"), which the CRNN's scores and embedding barely
see. Each non-silent frame's 96x1366 log-mel gives, at 46.9 columns a second:

* the **onset-strength envelope**: ``librosa.onset.onset_strength(S=log_mel,
  sr=12000, n_fft=512, hop_length=256)`` -- the mean over mel bands of the
  positive first difference, shifted by ``1 + n_fft // (2 * hop)`` columns;
* the frame's **global tempogram**: the autocorrelation of the Hann-windowed
  envelope, normalised to 1 at lag 0 -- the centre column of
  ``librosa.feature.tempogram(onset_envelope=env, win_length=len(env))``;
* the **tempo**: ``librosa.feature.tempo(tg=that column)`` (its log-normal
  prior around 120 bpm, nothing above 320 bpm) and the tempogram's value there
  (``tempo_strength``);
* **pulse clarity**: the tempogram's highest value between 30 and 300 bpm
  (MIRtoolbox's "maximum of the autocorrelation");
* a **tempogram profile**: its mean in :data:`PROFILE_BINS` log-spaced tempo
  bands from 30 to 300 bpm (a coarse picture of every periodicity, not only
  the winner: a waltz and a march with the same tempo differ here);
* the envelope's **mean and std**, and the **onset rate**: onsets a second as
  ``librosa.onset.onset_detect(onset_envelope=env)`` picks them.

Only the frame's real audio is described: a short track's zero-padded frame
gives the envelope of its real columns (zero-padded to the frame's length
before the autocorrelation, so every frame has the same tempo grid).

The functions are librosa's written out in numpy, in the same order, for the
reason ``analysis/melspec.py`` gives (librosa's first call imports scipy and
numba, ~1.8 s of CPU in every worker); ``tests/test_rhythm.py`` checks them
against librosa itself. A track's vector is the mean of its voting frames'
vectors, weighted by their audio share (``analysis/aggregate.py``).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from recogenre.analysis.frames import HOP_LENGTH, N_FFT, N_STEPS, SAMPLE_RATE

# Bump when the definition below changes what it gives (RESULTS_VERSION follows).
RHYTHM_VERSION = "1"

START_BPM = 120.0  # librosa.feature.tempo's log-normal prior: centre and std in octaves
STD_BPM = 1.0
MAX_TEMPO = 320.0
MIN_BPM, MAX_BPM = 30.0, 300.0  # the tempo range of pulse clarity and of the profile
PROFILE_BINS = 12
PROFILE_EDGES = np.geomspace(MIN_BPM, MAX_BPM, PROFILE_BINS + 1)

# The rhythm column's components, in order (tracks.rhythm is a list of these).
RHYTHM_COMPONENTS: tuple[str, ...] = (
    "tempo_bpm",
    "tempo_strength",
    "pulse_clarity",
    "onset_mean",
    "onset_std",
    "onset_rate",
    *(f"tempogram_{lo:.0f}_{hi:.0f}" for lo, hi in itertools.pairwise(PROFILE_EDGES)),
)
RHYTHM_SIZE = len(RHYTHM_COMPONENTS)

# librosa.onset.onset_detect's peak-picking defaults, at 12 kHz and hop 256
_PRE_MAX = int(np.ceil(0.03 * SAMPLE_RATE // HOP_LENGTH))
_POST_MAX = int(np.ceil(0.00 * SAMPLE_RATE // HOP_LENGTH + 1))
_PRE_AVG = int(np.ceil(0.10 * SAMPLE_RATE // HOP_LENGTH))
_POST_AVG = int(np.ceil(0.10 * SAMPLE_RATE // HOP_LENGTH + 1))
_WAIT = int(np.ceil(0.03 * SAMPLE_RATE // HOP_LENGTH))
_DELTA = 0.07


def tempo_frequencies(n_lags: int = N_STEPS) -> np.ndarray:
    """``librosa.tempo_frequencies(n_lags, sr=12000, hop_length=256)``: the bpm of each lag (lag 0: inf)."""
    bpms = np.zeros(n_lags, dtype=np.float64)
    bpms[0] = np.inf
    bpms[1:] = 60.0 * SAMPLE_RATE / (HOP_LENGTH * np.arange(1.0, n_lags))
    return bpms


@functools.cache
def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The lag grid of a full frame: bpms, the tempo prior, the 30-300 bpm mask, each profile bin's lags."""
    bpms = tempo_frequencies(N_STEPS)
    with np.errstate(divide="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(START_BPM)) / STD_BPM) ** 2
    logprior[: int(np.argmax(bpms < MAX_TEMPO))] = -np.inf
    in_range = (bpms >= MIN_BPM) & (bpms <= MAX_BPM)
    bins = [np.flatnonzero((bpms >= lo) & (bpms < hi)) for lo, hi in itertools.pairwise(PROFILE_EDGES)]
    assert all(len(b) for b in bins), "every profile bin holds at least one lag"
    return bpms, logprior, in_range, bins


def _hann(n: int) -> np.ndarray:
    """The periodic Hann window of ``scipy.signal.get_window("hann", n)``."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def onset_strength(log_mel: np.ndarray) -> np.ndarray:
    """``librosa.onset.onset_strength(S=log_mel, sr=12000, n_fft=512, hop_length=256)``, float32 (n,)."""
    rise = np.subtract(log_mel[:, 1:], log_mel[:, :-1])
    np.maximum(rise, 0.0, out=rise)  # in place: half the time of a second array
    env = rise.mean(axis=0)
    shift = 1 + N_FFT // (2 * HOP_LENGTH)  # the lag, and centring's n_fft / (2 hop)
    return np.concatenate([np.zeros(shift, env.dtype), env])[: log_mel.shape[1]]


def global_tempogram(envelope: np.ndarray, n_lags: int = N_STEPS) -> np.ndarray:
    """The normalised autocorrelation of the Hann-windowed envelope, ``n_lags`` lags.

    For an envelope of ``n_lags`` columns this is the centre column of
    ``librosa.feature.tempogram(onset_envelope=envelope, win_length=n_lags)``.
    A shorter envelope (a short track's real part) is windowed over its own
    length and zero-padded, so the lags mean the same tempi.
    """
    n = len(envelope)
    windowed = np.zeros(n_lags, np.float64)
    windowed[: min(n, n_lags)] = (envelope.astype(np.float64) * _hann(n))[:n_lags]
    # zero-padded to a power of two >= 2 n - 1 (librosa pads to scipy's next_fast_len; 2 * 1366 has the
    # prime factor 683, which made numpy's FFT half of this function's cost)
    size = 1 << (2 * n_lags - 1).bit_length()
    spectrum = np.fft.rfft(windowed, n=size)
    autocorr = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=size)[:n_lags]
    peak = np.max(np.abs(autocorr))
    return autocorr / peak if peak > np.finfo(np.float64).tiny else autocorr


def onset_count(envelope: np.ndarray) -> int:
    """How many onsets ``librosa.onset.onset_detect(onset_envelope=envelope, sr=12000, hop_length=256)``
    finds."""
    x = envelope.astype(np.float64) - envelope.min()
    x /= x.max() + np.finfo(np.float64).tiny
    if not x.any():
        return 0
    n = len(x)
    # librosa.util.peak_pick: a local max over [i - pre_max, i + post_max) at least delta above the mean
    # of [i - pre_avg, i + post_avg), then `wait` frames skipped; the windows are clipped at the ends.
    padded = np.concatenate([np.full(_PRE_MAX, -np.inf), x, np.full(_POST_MAX, -np.inf)])
    local_max = np.lib.stride_tricks.sliding_window_view(padded, _PRE_MAX + _POST_MAX)[:n].max(axis=1)
    cumsum = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(n)
    lo, hi = np.maximum(0, idx - _PRE_AVG), np.minimum(n, idx + _POST_AVG)
    mean = (cumsum[hi] - cumsum[lo]) / (hi - lo)
    candidates = np.flatnonzero((x == local_max) & (x >= mean + _DELTA))
    count, next_allowed = 0, 0
    for i in candidates:  # the wait rule, over the few candidates
        if i >= next_allowed:
            count += 1
            next_allowed = i + _WAIT + 1
    return count


def rhythm_vector(log_mel: np.ndarray) -> np.ndarray:
    """The :data:`RHYTHM_COMPONENTS` of one frame's real log-mel columns (96, n), float32."""
    envelope = onset_strength(log_mel)
    bpms, logprior, in_range, bins = _grid()
    tg = global_tempogram(envelope)
    best = int(np.argmax(np.log1p(1e6 * tg) + logprior))  # librosa.feature.tempo
    seconds = len(envelope) * HOP_LENGTH / SAMPLE_RATE
    values = [
        bpms[best],
        tg[best],
        tg[in_range].max(),
        envelope.mean(),
        envelope.std(),
        onset_count(envelope) / seconds,
        *(tg[b].mean() for b in bins),
    ]
    return np.asarray(values, np.float32)


def mean_rhythm(vectors: list[np.ndarray], weights: list[float]) -> np.ndarray | None:
    """A track's rhythm: the weighted mean of its voting frames' vectors (None: none), float32."""
    if not vectors:
        return None
    w = np.asarray(weights, np.float64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    mean = (np.stack([np.asarray(v, np.float64) for v in vectors]) * w[:, None]).sum(0) / w.sum()
    return mean.astype(np.float32)
