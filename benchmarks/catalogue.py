"""The benchmark catalogues, built from ../shared/audio (never committed).

The mixed set (:func:`build`):

* copies of every shared clip, in sets, some transcoded (FLAC, Ogg Vorbis,
  WAV) so formats and lengths mix as in a real library: at least 3 hours;
* one 3-hour FLAC made by concatenating clips, to show memory stays bounded.

The MP3-heavy set (:func:`build_mp3`), as most real libraries are MP3/AAC:
copies of the 203 s MP3 until the set holds at least 3 hours, plus every
other clip once.
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
