"""The report's data: track names a person can read, and a compact payload for the page.

A catalogue of 10,000 tracks has ~80,000 frames of ten scores each. Written
as HTML rows or PNG charts that is tens of megabytes; the page instead
carries every score once, quantised (a frame's to one byte, 0.5 % steps; a
track's to two, so its bars print the same 0.1 % as the table) and base64
encoded, and draws a track's charts in the browser only when it is opened.
The table's columns are plain JSON arrays (one per column, not one object
per row), so key names are not repeated 10,000 times.
"""

from __future__ import annotations

import base64
import glob
import os
from pathlib import Path
from typing import Any

import numpy as np

from recogenre.analysis.genres import GENRES
from recogenre.analysis.paths import canonical_root, is_remote
from recogenre.apps.evaluate import genre_of

FRAME_STEPS = 200  # a frame score of 1.0 is byte 200: 0.5 % resolution, finer than a timeline shows
TRACK_STEPS = 10_000  # a track score of 1.0 is 10000 (two bytes, little-endian): 0.01 %
# The largest value of each width stands for a silent track or frame: no score, not a score of zero.
# match codes of the table's "match" column
RIGHT, WRONG, NOT_A_GENRE = 1, 0, -1


def start_folder(manifest: dict[str, Any], run_path: str) -> str | None:
    """The folder the run was started in, where its relative ``--catalogue`` and paths begin.

    The manifest records ``--output`` and ``--catalogue`` as typed. A relative
    ``--output`` gives the start folder away: the run folder is
    ``START/OUTPUT/runs/<run-id>``. Otherwise, when the catalogue as typed
    exists from here, the report is taken to run where the run did.
    """
    output = manifest.get("output")
    if output and not is_remote(output) and not os.path.isabs(output):
        parts = Path(os.path.normpath(output)).parts
        out = Path(os.path.abspath(run_path)).parent.parent  # OUT/runs/<run-id>
        if parts == (".",):
            return str(out)
        if ".." not in parts and out.parts[-len(parts) :] == parts:
            return str(Path(*out.parts[: -len(parts)]))
    catalogue = manifest.get("catalogue")
    if catalogue and not is_remote(catalogue) and not os.path.isabs(catalogue):
        fixed = os.sep.join(_fixed_part(catalogue)) or "."
        if os.path.exists(fixed):
            return os.getcwd()
    return None


def absolute(path: str, start: str | None) -> str:
    """``path`` as the run saw it, made absolute against the run's start folder when known."""
    if start is None or os.path.isabs(path) or is_remote(path):
        return path
    return os.path.normpath(os.path.join(start, path))


def _fixed_part(catalogue: str) -> list[str]:
    """A glob's leading folders without wildcards: music/**/*.mp3 -> [music]."""
    parts = []
    for part in catalogue.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return parts


def catalogue_root(catalogue: str | None, paths: list[str]) -> str | None:
    """The absolute folder the run's catalogue names, or None when it cannot be known.

    The manifest records ``--catalogue`` as typed: a folder, a glob, or a
    catalogue file, possibly relative to wherever the run was started. A
    relative one is found again as the ancestor of the tracks whose path ends
    with it (tracks are recorded with absolute paths).
    """
    if not catalogue or is_remote(catalogue):
        return None
    parts = _fixed_part(catalogue)
    fixed = os.sep.join(parts) or "."
    if len(parts) == len(catalogue.split(os.sep)) and os.path.splitext(fixed)[1] and not os.path.isdir(fixed):
        fixed = os.path.dirname(fixed) or "."  # a catalogue file or a single audio file
    if os.path.isabs(fixed):
        return canonical_root(fixed)  # as the run stored the tracks' paths
    tail = [p for p in os.path.normpath(fixed).split(os.sep) if p not in ("", ".", "..")]
    absolute = [p for p in paths if os.path.isabs(p)]
    if not absolute:
        return None
    folder = os.path.commonpath(absolute) if len(absolute) > 1 else os.path.dirname(absolute[0])
    while True:
        if not tail or folder.split(os.sep)[-len(tail) :] == tail:
            return folder if tail else None
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def display_names(paths: list[str], root: str | None = None) -> list[str]:
    """Paths relative to the catalogue (or failing that to the folder they share).

    Catalogue-relative keeps the folders a library is organised by (``rock/…``)
    even when every track sits in one of them, and stays short when the
    tracks share nothing but "/".
    """
    if not paths:
        return []
    if root and all(p == root or p.startswith(root.rstrip(os.sep) + os.sep) for p in paths):
        return [os.path.relpath(p, root) for p in paths]
    if len(paths) == 1:
        return [os.path.basename(paths[0]) or paths[0]]
    try:
        shared = os.path.commonpath(paths)
    except ValueError:  # a mix of absolute and relative paths, or of URLs
        return list(paths)
    if shared in ("", os.sep):
        return list(paths)
    return [os.path.relpath(p, shared) for p in paths]


def quantise(scores: np.ndarray, steps: int = FRAME_STEPS, dtype: type = np.uint8) -> str:
    """Fractions 0-1 as base64 integers 0-``steps``; NaN (silent) as the dtype's largest value."""
    values = np.asarray(scores, dtype=float)
    out = np.full(values.shape, np.iinfo(dtype).max, dtype=np.dtype(dtype).newbyteorder("<"))
    known = ~np.isnan(values)
    out[known] = np.clip(np.rint(values[known] * steps), 0, steps)
    return base64.b64encode(out.tobytes()).decode("ascii")


def match_codes(labels: list[Any], top_genres: list[Any]) -> list[int | None]:
    """Per track: right, wrong, a label that is not a genre, or None when unlabelled.

    The same rule as ``recogenre evaluate``: a silent track with a label is wrong.
    """
    codes: list[int | None] = []
    for label, top in zip(labels, top_genres):
        if _missing(label):
            codes.append(None)
            continue
        genre = genre_of(label)
        codes.append(NOT_A_GENRE if genre is None else RIGHT if genre == top else WRONG)
    return codes


def frame_times(starts: np.ndarray, ends: np.ndarray, counts: np.ndarray) -> list[list[Any]]:
    """Each track's frame spans: ``[first_start, step, last_end]`` when regular, else ``[[s, e], …]``.

    ``starts``/``ends`` hold every frame, track after track, ``counts`` frames
    per track. Frames are nearly always back to back and of equal length, so
    three numbers describe a track's; segments or trimming may make them
    irregular. Vectorised: a per-track numpy call costs seconds at 10,000 tracks.
    """
    counts = np.asarray(counts, dtype=int)
    out: list[list[Any]] = [[] for _ in counts]
    has = np.flatnonzero(counts)
    if not len(has):
        return out
    first = (np.cumsum(counts) - counts)[has]
    sizes = counts[has]
    start0 = starts[first]
    step = np.where(sizes > 1, starts[np.minimum(first + 1, len(starts) - 1)] - start0, ends[first] - start0)
    owner = np.repeat(np.arange(len(has)), sizes)
    k = np.arange(len(starts)) - first[owner]
    off_start = np.abs(starts - (start0[owner] + k * step[owner]))
    off_end = np.where(k == sizes[owner] - 1, 0.0, np.abs(ends - (starts + step[owner])))
    irregular = np.maximum.reduceat(np.maximum(off_start, off_end), first) > 0.006
    last_end = ends[first + sizes - 1]
    for j, track in enumerate(has):
        if irregular[j]:
            a, b = first[j], first[j] + sizes[j]
            out[track] = [[round(float(x), 2), round(float(y), 2)] for x, y in zip(starts[a:b], ends[a:b])]
        else:
            out[track] = [round(float(start0[j]), 2), round(float(step[j]), 4), round(float(last_end[j]), 2)]
    return out


def payload(tracks, frames, names: list[str], root: str | None) -> dict[str, Any]:
    """Everything the page's script needs, as JSON-ready columns."""
    n = len(tracks)
    # -1: silent, -2: unknown (confidence below --min-confidence), else the genre's index
    top = [-1 if _missing(g) else GENRES.index(g) if g in GENRES else -2 for g in tracks["top_genre"]]
    label_values = list(tracks["label"])
    label_names = sorted({str(v) for v in label_values if not _missing(v)})
    label_index = {v: i for i, v in enumerate(label_names)}
    data: dict[str, Any] = {
        "genres": list(GENRES),
        "root": root,
        "labels": label_names,
        "tracks": {
            "name": names,
            "dur": [_round(v, 1) for v in tracks["duration_s"]],
            "top": top,
            "score": [_round(v * 100, 1) if not _missing(v) else None for v in tracks["top_score"]],
            "label": [-1 if _missing(v) else label_index[str(v)] for v in label_values],
            "match": match_codes(label_values, list(tracks["top_genre"])),
            "silent": [int(v) for v in tracks["n_silent_frames"].fillna(0)],
            "vec": quantise(
                tracks[list(GENRES)].to_numpy(dtype=float, na_value=np.nan), TRACK_STEPS, np.uint16
            ),
        },
    }
    if "confidence" in tracks.columns:  # a column other versions of the pipeline may add
        conf = tracks["confidence"].to_numpy(dtype=float, na_value=np.nan)
        known = conf[~np.isnan(conf)]
        percent = bool(len(known)) and float(known.min()) >= 0 and float(known.max()) <= 1
        data["conf_percent"] = percent
        data["tracks"]["conf"] = [_round(v * 100 if percent else v, 1 if percent else 3) for v in conf]
    if "analysed_s" in tracks.columns:
        data["tracks"]["analysed"] = [_round(v, 1) for v in tracks["analysed_s"]]
    data.update(user_genres(tracks))

    position = {tid: i for i, tid in enumerate(tracks["track_id"])}
    own = frames.assign(_pos=frames["track_id"].map(position))
    own = own[own["_pos"].notna()].astype({"_pos": int}).sort_values(["_pos", "frame_index"], kind="stable")
    pos = own["_pos"].to_numpy()
    counts = np.bincount(pos, minlength=n) if n else np.zeros(0, int)
    starts, ends = own["start_s"].to_numpy(dtype=float), own["end_s"].to_numpy(dtype=float)
    data["frames"] = {
        "count": [int(c) for c in counts],
        "time": frame_times(starts, ends, counts),
        "scores": quantise(own[list(GENRES)].to_numpy(dtype=float, na_value=np.nan)),
    }
    return data


def user_genres(tracks) -> dict[str, Any]:
    """``run --head``'s genres for the page: the distinct names, and per track an index into them
    (-1: none) and the confidence in %; nothing when no track has one (a run without a head)."""
    if "user_genre" not in tracks.columns or not tracks["user_genre"].notna().any():
        return {}
    values = list(tracks["user_genre"])
    names = sorted({str(v) for v in values if not _missing(v)})
    index = {v: i for i, v in enumerate(names)}
    confidence = tracks["user_confidence"] if "user_confidence" in tracks.columns else [None] * len(values)
    return {
        "user_genres": names,
        "user": {
            "genre": [-1 if _missing(v) else index[str(v)] for v in values],
            "conf": [_round(v * 100, 1) if not _missing(v) else None for v in confidence],
        },
    }


def _round(value: Any, digits: int) -> float | None:
    return None if _missing(value) else round(float(value), digits)


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA: what a null Parquet cell comes back as."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA refuses to be a bool
        return True


def album_payload(albums, root: str | None, start: str | None = None) -> dict[str, Any]:
    """The album view's columns (one album per entry, by folder then title).

    ``title`` is "albumartist – album" (or the album alone) when the tags named the
    album, else empty: the page then shows the folder, which is the album. Folders are
    shown relative to the catalogue, like the tracks' names, when they lie inside it.
    """
    albums = albums.sort_values(["folder", "album"], kind="stable", na_position="first")
    titles = []
    for artist, album in zip(albums["albumartist"], albums["album"]):
        titles.append(" – ".join(str(v) for v in (artist, album) if not _missing(v)))
    folders = []
    for folder in albums["folder"]:
        shown = absolute(str(folder), start)
        inside = root and (shown == root or shown.startswith(root.rstrip(os.sep) + os.sep))
        folders.append(os.path.relpath(shown, root) if inside else shown)
    return {
        "id": [str(v) for v in albums["album_id"]],
        "title": titles,
        "folder": folders,
        "top": [-1 if _missing(g) else GENRES.index(g) if g in GENRES else -2 for g in albums["top_genre"]],
        "score": [_round(v * 100, 1) if not _missing(v) else None for v in albums["top_score"]],
        "conf": [_round(v * 100, 1) if not _missing(v) else None for v in albums["confidence"]],
        "agree": [_round(v * 100, 1) if not _missing(v) else None for v in albums["agreement"]],
        "n": [int(v) for v in albums["n_tracks"]],
        "dur": [_round(v, 1) for v in albums["duration_s"]],
    }
