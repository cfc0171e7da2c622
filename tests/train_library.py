"""Generated test libraries for ``recogenre train``: audio whose class is set by timbre or by tempo.

Files are laid out ``ROOT/CLASS/ALBUM/NN.flac`` (so ``folder:2`` is the class and
``folder:1`` the album) carry album, artist and title tags, and their class as a FLAC ``GENRE`` tag unless the
class is in ``untagged``. Each album has its own key, level and brightness, and each track
varies around them, so that a class is a family of sounds, not one sound repeated: a head
that learns must generalise across albums (CV is grouped by album), and one that guesses
cannot do better than chance.

Timbre classes: ``drone`` (sustained harmonic chords), ``noise`` (band-limited noise
bursts), ``pluck`` (decaying plucked notes). Tempo classes share one drum timbre and differ
only in tempo: ``slow`` (80 bpm), ``mid`` (110 bpm) and ``fast`` (140 bpm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050
SECONDS = 8.0
TIMBRE = ("drone", "noise", "pluck")
TEMPO = {"slow": 80.0, "mid": 110.0, "fast": 140.0}


def _drone(rng: np.random.Generator, album: dict, t: np.ndarray) -> np.ndarray:
    root = album["root"] * 2 ** (rng.integers(-3, 4) / 12)
    y = np.zeros_like(t)
    for ratio in (1.0, 1.25, 1.5):
        for h in range(1, 6):
            y += np.sin(2 * np.pi * root * ratio * h * t + rng.uniform(0, 6.28)) / h ** album["tilt"]
    return y * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))


def _noise(rng: np.random.Generator, album: dict, t: np.ndarray) -> np.ndarray:
    white = rng.standard_normal(len(t))
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(len(t), 1 / SR)
    centre = album["band"] * rng.uniform(0.8, 1.25)
    spectrum *= np.exp(-0.5 * ((freqs - centre) / (centre * 0.3)) ** 2)
    y = np.fft.irfft(spectrum, len(t))
    gate = (np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t) > -0.3).astype(float)
    return y / (np.abs(y).max() + 1e-9) * gate


def _pluck(rng: np.random.Generator, album: dict, t: np.ndarray) -> np.ndarray:
    y = np.zeros_like(t)
    step = rng.uniform(0.18, 0.3)
    for start in np.arange(0, t[-1], step):
        f = album["root"] * 2 * 2 ** (rng.integers(0, 12) / 12)
        idx = t >= start
        tau = t[idx] - start
        envelope = np.exp(-tau * album["decay"])
        y[idx] += np.sin(2 * np.pi * f * tau) * envelope * (1 + 0.5 * np.sin(4 * np.pi * f * tau))
    return y


def _drums(rng: np.random.Generator, album: dict, t: np.ndarray, bpm: float) -> np.ndarray:
    """Kick on every beat, hi-hat on the off-beats: the tempo is the only class difference."""
    y = np.zeros_like(t)
    beat = 60.0 / (bpm * rng.uniform(0.98, 1.02))
    for k, start in enumerate(np.arange(rng.uniform(0, 0.1), t[-1], beat / 2)):
        idx = (t >= start) & (t < start + 0.25)
        tau = t[idx] - start
        if k % 2 == 0:
            y[idx] += np.sin(2 * np.pi * album["kick"] * tau * np.exp(-tau * 8)) * np.exp(-tau * 12)
        else:
            y[idx] += rng.standard_normal(idx.sum()) * np.exp(-tau * 40) * 0.3
    return y


def render(kind: str, rng: np.random.Generator, album: dict, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    if kind in TEMPO:
        y = _drums(rng, album, t, TEMPO[kind])
    else:
        y = {"drone": _drone, "noise": _noise, "pluck": _pluck}[kind](rng, album, t)
    y = y / (np.abs(y).max() + 1e-9) * album["level"] * rng.uniform(0.8, 1.0)
    return y.astype(np.float32)


def make_library(
    root: Path,
    classes: dict[str, int],
    tracks_per_album: int = 3,
    seed: int = 20,
    untagged: tuple[str, ...] = (),
    seconds: float = SECONDS,
) -> dict[Path, str]:
    """``classes``: class -> number of albums. Returns each written file's class."""
    rng = np.random.default_rng(seed)
    made = {}
    for kind, albums in classes.items():
        for a in range(albums):
            album = {
                "root": rng.uniform(90, 260),
                "tilt": rng.uniform(0.7, 1.6),
                "band": rng.uniform(1500, 5000),
                "decay": rng.uniform(4, 12),
                "kick": rng.uniform(50, 90),
                "level": rng.uniform(0.3, 0.8),
            }
            folder = root / kind / f"{kind}-album{a + 1}"
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(tracks_per_album):
                path = folder / f"{n + 1:02d}.flac"
                sf.write(path, render(kind, rng, album, seconds), SR, format="FLAC")
                from mutagen.flac import FLAC

                audio = FLAC(path)  # album tags on every file (beets tells albums apart by them)
                audio["ALBUM"] = [f"{kind.capitalize()} Album {a + 1}"]
                audio["ARTIST"] = [f"The {kind.capitalize()} Band {a + 1}"]
                audio["TITLE"] = [f"Track {n + 1}"]
                if kind not in untagged:
                    audio["GENRE"] = [kind.capitalize()]
                audio.save()
                made[path] = kind
    return made
