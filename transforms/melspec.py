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

import librosa
import numpy as np

from transforms.frames import HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE

SILENCE_DBFS = -60.0  # a quiet phone recording sits near -46 dBFS and is music
AMIN = 1e-10
TOP_DB = 80.0


@functools.cache
def mel_basis() -> np.ndarray:
    """The (96, 257) mel filter bank, built once per process."""
    return librosa.filters.mel(
        sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, htk=False, norm="slaney", dtype=np.float32
    )


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel of one frame of 12 kHz audio, shape (96, 1 + len // 256), float32 dB.

    Equal to ``power_to_db(melspectrogram(y=samples, sr=12000, n_fft=512,
    hop_length=256, n_mels=96, pad_mode="reflect") ** 2, ref=1.0, amin=1e-10,
    top_db=80)``; the filter bank is cached rather than rebuilt per frame.
    """
    stft = librosa.stft(
        samples, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann", center=True, pad_mode="reflect"
    )
    power = np.abs(stft) ** 2
    mel = mel_basis() @ power
    return librosa.power_to_db(mel**2, ref=1.0, amin=AMIN, top_db=TOP_DB).astype(np.float32, copy=False)


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for zeros)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def is_silent(samples: np.ndarray) -> bool:
    """Digital silence: the model scores it ~96% classical, so it must not vote."""
    return bool(rms_dbfs(samples) < SILENCE_DBFS)
