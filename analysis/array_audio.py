"""A waveform already in memory, as the decoder's stream of 12 kHz blocks.

``recogenre.classify_array(y, sr)`` must give what ``recogenre.classify`` gives
for a file holding the same samples, so the array goes through the decoder's
own channel mix (:func:`~recogenre.analysis.decode.mix_to_mono`) and
resampler (:func:`~recogenre.analysis.decode.resample_to_model_rate`), and
:class:`~recogenre.analysis.features.TrackReader` frames it as any file.

Layouts: a 1-D array is mono; a 2-D array is one recording with its channels
on the *shorter* axis, so librosa's ``(channels, n)`` and soundfile's
``(n, channels)`` both work (a square array is refused: it has no shorter
axis). Samples are floats (any float dtype; full scale is +-1) or integer PCM,
scaled by its dtype's own range as libsndfile scales it (int8 by 1/128, int16
by 1/32768, int32 by 1/2**31, uint8 centred on 128).

Samples at the wrong scale are refused (:class:`SampleScaleError`) rather
than guessed at: int64 -- what a Python list of ints becomes -- has no
agreed full scale (16-bit values as int64, divided by 2**63, would be
silence), and floats beyond +-:data:`MAX_FLOAT_PEAK` are integer values in
a float array (int16 values as floats, taken as they are, turn metal into
hiphop); real float audio, however loud a master, stays within a few units.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np

from recogenre.analysis.decode import BLOCK_SECONDS, AudioInfo, mix_to_mono, resample_to_model_rate
from recogenre.analysis.limits import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from recogenre.analysis.noise_check import WhiteNoiseCheck, watched

MAX_FLOAT_PEAK = 64.0  # +36 dBFS: no float audio comes near it; 16-bit values as floats go to 32768
MAX_CHANNELS = 64  # more "channels" than this is a batch of clips, which must be classified one by one
CODEC = "array"  # TrackResult.codec of a waveform given as an array


class SampleScaleError(ValueError):
    """Samples whose scale cannot be known (int64) or that are not at full scale +-1 (floats beyond 64)."""


def model_input(samples, sample_rate) -> tuple[np.ndarray, int, int]:
    """(samples, channels on the last axis, float32), the sample rate as an int, channels.

    Raises TypeError for what is not a waveform, :class:`SampleScaleError` (a ValueError)
    for samples at an unknown or wrong scale, and ValueError for a waveform no file could hold.
    """
    rate = _sample_rate(sample_rate)
    if isinstance(samples, str | bytes):
        raise TypeError("classify_array takes samples (a numpy array); for a file use classify(path)")
    y = np.asarray(samples)
    if y.ndim == 1:
        y = y[:, np.newaxis]
    elif y.ndim == 2:
        if y.shape[0] == y.shape[1] and y.size > 1:
            raise ValueError(f"cannot tell channels from samples in a {y.shape[0]}x{y.shape[1]} array")
        if y.shape[0] < y.shape[1]:
            y = y.T  # (channels, n), as librosa gives it
    else:
        raise ValueError(f"samples must be 1-D (mono) or 2-D (channels and samples), not {y.ndim}-D")
    if y.shape[1] > MAX_CHANNELS:
        raise ValueError(
            f"{y.shape[1]} channels (at most {MAX_CHANNELS}); a batch of clips is classified one at a time"
        )
    if y.shape[0] == 0:
        raise ValueError("no samples: the waveform is empty")
    y = _as_float32(y)
    if not np.isfinite(y).all():
        raise ValueError("the waveform holds NaN or infinite values")
    peak = float(np.abs(y).max())
    if peak > MAX_FLOAT_PEAK:
        raise SampleScaleError(
            f"sample values up to {peak:g}, beyond +-{MAX_FLOAT_PEAK:g}: float samples are at full scale "
            "+-1 (16-bit values as floats: divide by 32768, or pass them as an int16 array)"
        )
    return y, rate, y.shape[1]


def _sample_rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Real):
        raise TypeError(f"the sample rate must be a number of Hz, not {type(sample_rate).__name__}")
    if not np.isfinite(sample_rate) or sample_rate != int(sample_rate):
        raise ValueError(f"the sample rate must be a whole number of Hz, not {sample_rate}")
    rate = int(sample_rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"sample rate {rate} Hz is implausible (allowed {MIN_SAMPLE_RATE:,}-{MAX_SAMPLE_RATE:,} Hz)"
        )
    return rate


def _as_float32(y: np.ndarray) -> np.ndarray:
    """Float samples as they are; integer PCM scaled to +-1 as libsndfile reads it."""
    if y.dtype.kind == "f":
        return y.astype(np.float32, copy=False)
    if y.dtype == np.int64:
        raise SampleScaleError(
            "int64 samples have no full scale (a Python list of ints becomes int64): pass int16 or "
            "int32 PCM, e.g. np.asarray(y, np.int16), or floats in [-1, 1]"
        )
    if y.dtype.kind == "i":  # int8, int16, int32: by the dtype's own range
        return (y.astype(np.float64) / 2.0 ** (8 * y.dtype.itemsize - 1)).astype(np.float32)
    if y.dtype == np.uint8:
        return ((y.astype(np.float64) - 128.0) / 128.0).astype(np.float32)
    raise TypeError(f"samples must be floats or integer PCM (int8, int16, int32, uint8), not {y.dtype}")


class ArrayStream:
    """The interface of :class:`~recogenre.analysis.decode.AudioStream` over an array in memory."""

    def __init__(self, samples, sample_rate):
        self._samples, rate, channels = model_input(samples, sample_rate)
        n = self._samples.shape[0]
        self.info = AudioInfo(rate, channels, CODEC, decoder=CODEC, duration_s=n / rate)
        self.decode_warnings: str | None = None  # nothing is skipped; white noise is flagged as for files
        self.white_noise = False

    def __enter__(self) -> ArrayStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[np.ndarray]:
        """12 kHz mono float32 blocks, exactly as a file with these samples decodes."""
        step = max(1, int(BLOCK_SECONDS * self.info.sample_rate))  # bounds the mixing's temporary copies
        y = self._samples
        noise = WhiteNoiseCheck(self.info.sample_rate)
        blocks = (mix_to_mono(y[i : i + step]) for i in range(0, len(y), step))
        yield from resample_to_model_rate(watched(blocks, noise), self.info.sample_rate)
        verdict = noise.verdict()  # the decoder's last check, so an array equals its file
        if verdict:
            self.white_noise, self.decode_warnings = True, verdict
