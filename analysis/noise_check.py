"""Whether a decoded stream is white noise: random bytes read as audio, not music.

A file of random bytes that some decoder accepts (headerless µ-law, raw PCM
in a container, a damaged stream) decodes to full-scale white noise, and the
model, asked for a genre, gives one (classical or pop, confidence up to
0.22: above ``--min-confidence``). No music is white over a whole file:
its long-term spectrum falls with frequency by tens of dB, while the
spectrum of random samples is flat to a fraction of a dB.

The check is the *spectral flatness* (geometric over arithmetic mean, as
``librosa.feature.spectral_flatness`` defines it) of the whole file's mean
power spectrum: Hann-windowed 512-sample frames, :data:`FRAMES_PER_SECOND`
a second spread over the whole file, of the decoded mono stream at its own
sample rate (before resampling to 12 kHz, which would cut the band), their
power spectra summed over the file, then flatness over the bins between DC
and Nyquist. A stream is flagged when that flatness is at least
:data:`MIN_FLATNESS` and its RMS at least :data:`MIN_RMS`. The sums are
accumulated block by block as the stream is decoded; no audio is kept.
librosa's function works on a whole spectrogram in memory, so the few lines
here do the same sums incrementally.

Measured on the shared clips and on generated noise (the project's decode
notes hold the table):

* every clip in ``../shared/audio``: whole-file flatness 0.00002-0.26
  (metal.00000.au 0.26, die.au 0.20, 22.05 kHz GTZAN disco 0.068,
  the 3gp 0.068, bensound-dubstep 0.0003);
* random bytes read as µ-law (8 kHz), 8-bit and 16-bit PCM, generated
  uniform and Gaussian white noise in WAV and FLAC, at -30 dBFS to full
  scale, 2 s and longer: 0.976-0.998 (fewer frames average less: 0.5 s
  of random µ-law gives 0.89 and is not flagged).

:data:`MIN_FLATNESS` = 0.9 leaves 0.64 of margin above the noisiest music.
White noise through a lossy encoder (MP3 cuts the band above 16 kHz: 0.019)
is not flagged: it is no longer random data. The level floor keeps dither
and hiss under -40 dBFS out (such a file is silent, not noise); random
bytes come out at RMS 0.3-0.6.

Cost (``benchmarks/decode_checks.py``, one core): 0.015 ms of CPU per second
of 44.1 kHz audio in libsndfile's 10 s blocks, 0.16 ms in FFmpeg's
1,152-sample packets -- 1-2 % of decoding.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

FFT_SIZE = 512
FRAMES_PER_SECOND = 10  # frames analysed per second of audio: a whole-file average needs no more
MIN_FLATNESS = 0.9  # whole-file spectral flatness at or above this is white noise (music <= 0.26)
MIN_RMS = 0.01  # -40 dBFS: fainter noise is dither or hiss, not a noise burst
WHITE_NOISE = "white noise"  # the start of the decode_warnings entry of a flagged stream

_WINDOW = np.hanning(FFT_SIZE).astype(np.float32)


class WhiteNoiseCheck:
    """Accumulates a stream's mean power spectrum and level; :meth:`verdict` judges it."""

    def __init__(self, sample_rate: int) -> None:
        # one frame at the start of every span: FRAMES_PER_SECOND frames a second at any rate
        self._span = max(FFT_SIZE, sample_rate // FRAMES_PER_SECOND)
        self._power = np.zeros(FFT_SIZE // 2 + 1, np.float64)
        self._frames = 0
        self._sum_squares = 0.0
        self._samples = 0
        self._carry = np.zeros(0, np.float32)

    def add(self, block: np.ndarray) -> None:
        """One mono float32 block at the source rate."""
        if not len(block):
            return
        self._sum_squares += float(np.dot(block, block))  # float32 BLAS: precise enough for a level floor
        self._samples += len(block)
        span, start = self._span, 0
        if len(self._carry):  # complete the span begun in earlier blocks (FFmpeg's are small)
            start = span - len(self._carry)
            self._carry = np.concatenate([self._carry, block[:start]])
            if len(self._carry) < span:
                return
            self._analyse(self._carry)
        whole = (len(block) - start) // span * span
        if whole > 0:
            self._analyse(block[start : start + whole])
        self._carry = block[start + whole :].copy()

    def _analyse(self, spans: np.ndarray) -> None:
        """The first FFT_SIZE samples of each span of ``spans`` (a whole number of spans)."""
        frames = spans.reshape(-1, self._span)[:, :FFT_SIZE] * _WINDOW
        spectra = np.fft.rfft(frames, axis=1)
        self._power += (spectra.real**2 + spectra.imag**2).sum(axis=0)
        self._frames += len(frames)

    def flatness(self) -> float | None:
        """Whole-stream spectral flatness (0-1) between DC and Nyquist; None below one frame."""
        if self._frames == 0:
            return None
        power = self._power[1:-1] / self._frames
        if not power.any():
            return None  # digital silence: no spectrum to judge
        power = np.maximum(power, 1e-20)
        return float(np.exp(np.mean(np.log(power))) / np.mean(power))

    def rms(self) -> float:
        return float(np.sqrt(self._sum_squares / self._samples)) if self._samples else 0.0

    def verdict(self) -> str | None:
        """The ``decode_warnings`` entry of a stream that is white noise, or None."""
        flatness, rms = self.flatness(), self.rms()
        if flatness is None or flatness < MIN_FLATNESS or rms < MIN_RMS:
            return None
        return (
            f"{WHITE_NOISE}: spectral flatness {flatness:.2f} at {20 * np.log10(rms):.0f} dBFS "
            "over the whole file (random data, not music): top_genre unknown"
        )


def watched(blocks: Iterator[np.ndarray], check: WhiteNoiseCheck) -> Iterator[np.ndarray]:
    """``blocks`` unchanged, each one added to ``check`` on its way."""
    for block in blocks:
        check.add(block)
        yield block
