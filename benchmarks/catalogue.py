"""The benchmark catalogue, built from ../shared/audio (never committed).

* copies of every shared clip, in sets, some transcoded (FLAC, Ogg Vorbis,
  WAV) so formats and lengths mix as in a real library: at least 3 hours;
* one 3-hour FLAC made by concatenating clips, to show memory stays bounded.
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


def build(folder: Path, copies_seconds: float = 3 * 3600 + 60) -> Path:
    """Builds (once) and returns the catalogue folder."""
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    clips = sorted(p for p in SHARED_AUDIO.iterdir() if p.suffix != ".md")
    set_seconds = sum(sf.info(p).duration if p.suffix != ".3gp" else 69.12 for p in clips)
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
    write_long(folder / "long" / "three-hours.flac")
    stamp.write_text("")
    return folder


def write_long(path: Path) -> None:
    """Three hours of GTZAN clips back to back, written block by block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [sf.read(SHARED_AUDIO / n, dtype="int16")[0] for n in ("disco.00000.au", "metal.00000.au")]
    sr = 22050
    with sf.SoundFile(path, "w", sr, 1, "PCM_16", format="FLAC") as out:
        written, i = 0, 0
        while written < LONG_SECONDS * sr:
            block = parts[i % 2][: LONG_SECONDS * sr - written]
            out.write(block)
            written += len(block)
            i += 1


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
