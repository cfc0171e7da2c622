"""The benchmark catalogues, built from ../shared/audio (never committed).

The mixed set (:func:`build`):

* copies of every shared clip, in sets, some transcoded (FLAC, Ogg Vorbis,
  WAV) so formats and lengths mix as in a real library: at least 3 hours;
* one 3-hour FLAC made by concatenating clips, to show memory stays bounded.

The MP3-heavy set (:func:`build_mp3`), as most real libraries are MP3/AAC:
copies of the 203 s MP3 until the set holds at least 3 hours, plus every
other clip once.

The stereo MP3 set (:func:`build_mp3_stereo`), a stand-in for a commercial MP3
library (issue 23): the shared clips resampled to 44.1 or 48 kHz, made stereo
and encoded by LAME (PyAV's libmp3lame) at 128-320 kbps -- 10 files, 12 minutes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
TRANSCODE = {1: ("FLAC", ".flac"), 2: ("OGG", ".ogg"), 3: ("WAV", ".wav")}
LONG_SECONDS = 3 * 3600


MP3_CLIP = "example_cl.mp3"


def clip_seconds(path: Path) -> float:
    return sf.info(path).duration if path.suffix != ".3gp" else 69.12  # libsndfile cannot read 3GP


def _start(folder: Path) -> list[Path]:
    """Empties ``folder`` for a new build and lists the shared clips it is built from."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return sorted(p for p in SHARED_AUDIO.iterdir() if p.suffix != ".md")


def build_mp3(folder: Path, seconds: float = 3 * 3600 + 60) -> Path:
    """Builds (once) and returns the MP3-heavy catalogue folder."""
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    clips = _start(folder)
    for clip in clips:
        shutil.copyfile(clip, folder / clip.name)
    rest = seconds - sum(clip_seconds(p) for p in clips)
    mp3 = SHARED_AUDIO / MP3_CLIP
    for k in range(max(0, int(np.ceil(rest / clip_seconds(mp3))))):
        shutil.copyfile(mp3, folder / f"{mp3.stem}-{k:03d}{mp3.suffix}")
    stamp.write_text("")
    return folder


# (name, source clips played back to back, rate, kbps): every rate/bitrate pair, and
# lengths from a 30 s clip to a 203 s piece, as in a real library.
MP3_STEREO = (
    ("classical-48k-320", ("example_cl.mp3",), 48000, 320),
    ("classical-44k-128", ("example_cl.mp3",), 44100, 128),
    ("actionable-48k-256", ("bensound-actionable.mp3",), 48000, 256),
    ("cute-44k-192", ("bensound-cute.mp3",), 44100, 192),
    ("dubstep-48k-128", ("bensound-dubstep.mp3",), 48000, 128),
    ("jazzpiano-44k-320", ("bensound-thejazzpiano.mp3",), 44100, 320),
    ("disco-metal-48k-192", ("disco.00000.au", "metal.00000.au"), 48000, 192),
    ("metal-disco-44k-256", ("metal.00000.au", "disco.00000.au"), 44100, 256),
    (
        "bensound-medley-48k-160",
        ("bensound-cute.mp3", "bensound-dubstep.mp3", "bensound-thejazzpiano.mp3", "bensound-actionable.mp3"),
        48000,
        160,
    ),
    ("disco-44k-224", ("disco.00000.au",), 44100, 224),
)


def stereo_at(names: tuple[str, ...], rate: int) -> np.ndarray:
    """The clips back to back as (n, 2) float32 at ``rate``.

    A mono clip gets a second channel that differs from the first (a 7 ms echo mixed in)
    so the encoder codes two channels, as it would for a real stereo recording.
    """
    import soxr

    parts = []
    for name in names:
        y, sr = sf.read(SHARED_AUDIO / name, dtype="float32", always_2d=True)
        y = soxr.resample(y, sr, rate, quality="VHQ")
        if y.shape[1] == 1:
            lag = int(0.007 * rate)
            echo = np.concatenate([np.zeros(lag, np.float32), y[:-lag, 0]])
            y = np.stack([y[:, 0], 0.8 * y[:, 0] + 0.2 * echo], axis=1)
        parts.append(y)
    return np.clip(np.concatenate(parts), -1, 1).astype(np.float32)


def encode_mp3(path: Path, y: np.ndarray, rate: int, kbps: int) -> None:
    """(n, 2) float32 -> a stereo MP3 by LAME (libmp3lame in PyAV's FFmpeg) at ``kbps``."""
    import av

    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="stereo")
        stream.bit_rate = kbps * 1000
        step = 1152 * 16
        for i in range(0, len(y), step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(y[i : i + step].T), format="fltp", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def build_mp3_stereo(folder: Path) -> Path:
    """Builds (once) and returns the stereo MP3 set: 44.1 and 48 kHz, 128-320 kbps."""
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    _start(folder)
    for name, clips, rate, kbps in MP3_STEREO:
        encode_mp3(folder / f"{name}.mp3", stereo_at(clips, rate), rate, kbps)
    stamp.write_text("")
    return folder


def build(folder: Path, copies_seconds: float = 3 * 3600 + 60, long_seconds: int = LONG_SECONDS) -> Path:
    """Builds (once) and returns the catalogue folder (``long_seconds=0``: no long file)."""
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    clips = _start(folder)
    set_seconds = sum(clip_seconds(p) for p in clips)
    n_sets = int(np.ceil(copies_seconds / set_seconds))
    for k in range(n_sets):
        target = folder / f"set{k:02d}"
        target.mkdir()
        fmt = TRANSCODE.get(k % 4)
        for clip in clips:
            if fmt and clip.suffix == ".au":  # GTZAN clips re-encoded: other decoders, same audio
                data, sr = sf.read(clip, dtype="int16")
                sf.write(target / (clip.stem + fmt[1]), data, sr, format=fmt[0])
            else:
                shutil.copyfile(clip, target / clip.name)
    if long_seconds:
        write_long(folder / "long" / "three-hours.flac", long_seconds)
    stamp.write_text("")
    return folder


def write_long(path: Path, seconds: int = LONG_SECONDS) -> None:
    """Three hours of GTZAN clips back to back, written block by block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [sf.read(SHARED_AUDIO / n, dtype="int16")[0] for n in ("disco.00000.au", "metal.00000.au")]
    sr = 22050
    with sf.SoundFile(path, "w", sr, 1, "PCM_16", format="FLAC") as out:
        written, i = 0, 0
        while written < seconds * sr:
            block = parts[i % 2][: seconds * sr - written]
            out.write(block)
            written += len(block)
            i += 1


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
