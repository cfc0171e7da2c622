"""The original front end's log-mel spectrogram, computed with librosa.

The 2016 code called ``librosa.logamplitude(melspectrogram(y)**2,
ref_power=1.0)`` with librosa 0.5. Its modern equivalent, reproduced here:

* ``stft`` with a periodic Hann window, ``n_fft=512``, ``hop_length=256`` and
  centred frames padded by *reflection* (librosa 0.5's only padding mode; the
  modern default is zeros);
* power spectrum through 96 Slaney-scale, Slaney-normalised mel filters
  (0-6 kHz at 12 kHz);
* the mel power spectrum is *squared again* (the original's ``**2``) and
  converted with ``power_to_db(ref=1.0, amin=1e-10, top_db=80)``.
"""

from __future__ import annotations

import functools

import numpy as np

from recogenre.analysis.frames import HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE

SILENCE_DBFS = -60.0  # a quiet phone recording sits near -46 dBFS and is music
AMIN = 1e-10
TOP_DB = 80.0

# Written out in numpy rather than calling librosa (which the tests use as the
# reference, tests/test_frontend.py): librosa's first stft/mel call imports
# scipy.signal, scipy.stats and numba, ~1.8 s of CPU in every worker process
# before its first frame. The operations below are librosa 0.11's own, in the
# same order and dtypes; the filter bank and window are bit-identical, the
# log-mel equal to float rounding (librosa transforms its edge frames in
# separate FFT calls, which round differently: < 1e-4 dB).


def _slaney_hz_to_mel(hz: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = hz / f_sp
    log_t = hz >= min_log_hz
    mels[log_t] = min_log_mel + np.log(hz[log_t] / min_log_hz) / logstep
    return mels


def _slaney_mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


@functools.cache
def mel_basis() -> np.ndarray:
    """The (96, 257) filter bank of ``librosa.filters.mel(sr=12000, n_fft=512, n_mels=96,
    htk=False, norm="slaney", dtype=float32)``, built once per process."""
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SAMPLE_RATE)
    edges = _slaney_hz_to_mel(np.array([0.0, SAMPLE_RATE / 2.0]))
    mel_f = _slaney_mel_to_hz(np.linspace(edges[0], edges[1], N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((N_MELS, 1 + N_FFT // 2), dtype=np.float32)
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, np.newaxis]
    return weights


@functools.cache
def _hann() -> np.ndarray:
    """The periodic Hann window as ``scipy.signal.get_window("hann", 512)`` computes it."""
    fac = np.linspace(-np.pi, np.pi, N_FFT + 1)
    w = np.zeros(N_FFT + 1)
    for k, a in enumerate((0.5, 0.5)):
        w += a * np.cos(k * fac)
    return w[:-1]


def stft_power(samples: np.ndarray) -> np.ndarray:
    """``np.abs(librosa.stft(samples, n_fft=512, hop_length=256, window="hann",
    center=True, pad_mode="reflect")) ** 2``, shape (257, 1 + len // 256)."""
    y = np.pad(samples, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP_LENGTH].T  # (512, n) as librosa's
    stft = np.fft.rfft(_hann()[:, np.newaxis] * frames, axis=-2).astype(np.complex64)
    return np.abs(stft) ** 2


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel of one frame of 12 kHz audio, shape (96, 1 + len // 256), float32 dB.

    Equal to ``power_to_db(melspectrogram(y=samples, sr=12000, n_fft=512,
    hop_length=256, n_mels=96, pad_mode="reflect") ** 2, ref=1.0, amin=1e-10,
    top_db=80)``; the filter bank is cached rather than rebuilt per frame.
    """
    mel = mel_basis() @ stft_power(samples)
    log_spec = 10.0 * np.log10(np.maximum(AMIN, mel**2))
    log_spec = np.maximum(log_spec, log_spec.max() - TOP_DB)  # power_to_db with ref=1.0
    return log_spec.astype(np.float32, copy=False)


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for zeros)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def is_silent(samples: np.ndarray) -> bool:
    """Digital silence: the model scores it ~96% classical, so it must not vote."""
    return bool(rms_dbfs(samples) < SILENCE_DBFS)
