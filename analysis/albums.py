"""Albums from tracks: which album a track belongs to, and an album's genre -- Beam-free.

Libraries are organised by album, and a user wants one consistent genre per album
as well as per track. An album is found from the track's tags when it has them,
else from its folder:

* ``albumartist`` and ``album`` tags: the album is (albumartist, album), wherever
  its tracks lie (a two-disc album in ``CD1/`` and ``CD2/`` is one album);
* an ``album`` tag without ``albumartist``: (album, folder) -- "Greatest Hits" of two
  artists must not become one album, and most such rips keep an album in one folder;
* no ``album`` tag (or no tag columns at all, as in runs before they existed): the
  track's folder, the album folder of an ``Artist/Album/track`` library.

An album's genre vector is the mean of its tracks' vectors weighted by their
``analysed_s`` (the seconds the model heard): a 40-minute suite counts more than a
30-second interlude, and a track cut short by the decode limit counts for what was
heard. Silent tracks (no vector) and white noise (no music) do not vote. Its
``confidence`` is the tracks' confidence weighted the same way, and it is labelled
like a track (:func:`recogenre.analysis.aggregate.label`: ``unknown`` below
``--min-confidence``). ``agreement`` is the share of its voting tracks whose
``top_genre`` is the album's: 1.0 for an album the model hears as one genre.

:class:`AlbumAccumulator` is constant in size (sums and a count per genre), so a
Beam ``CombineFn`` can merge partial albums from any number of workers.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, label
from recogenre.analysis.genres import GENRES

_SEPARATOR = "\x1f"  # the ASCII unit separator: no tag or path holds it, so keys cannot collide


class AlbumKey(NamedTuple):
    """What makes two tracks one album; ``folder`` is None when the tags alone decide."""

    albumartist: str | None
    album: str | None
    folder: str | None

    @property
    def album_id(self) -> str:
        """16 hex digits of the key's sha1: the same album has the same id in every run."""
        parts = [self.albumartist or "", self.album or "", self.folder or ""]
        return hashlib.sha1(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:16]


def _text(value: Any) -> str | None:
    """A tag cell as one string: None for null, NaN or blank; a list's values joined."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        value = "; ".join(str(v) for v in value if v is not None and str(v).strip())
    text = str(value).strip()
    return text or None


def folder_of(path: str) -> str:
    """The folder a track's stored path lies in (also for ``gs://bucket/…`` paths)."""
    return posixpath.dirname(path)


def album_key(row: Mapping[str, Any]) -> AlbumKey:
    """The album of a tracks row (see the module docstring); tag columns may be absent."""
    albumartist, album = _text(row.get("albumartist")), _text(row.get("album"))
    if album and albumartist:
        return AlbumKey(albumartist, album, None)
    if album:
        return AlbumKey(None, album, folder_of(row["path"]))
    return AlbumKey(None, None, folder_of(row["path"]))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def track_weight(row: Mapping[str, Any]) -> float:
    """The seconds a track's vote weighs: its ``analysed_s``; its duration in rows before that
    column; 1 when neither is known (every track one vote)."""
    for column in ("analysed_s", "duration_s"):
        value = _number(row.get(column))
        if value is not None and value > 0:
            return value
    return 1.0


def votes(row: Mapping[str, Any]) -> bool:
    """Whether the track's vector counts for its album: not silent and not white noise."""
    noise = row.get("white_noise")  # None or NaN (a table read with pandas) when not judged
    return _number(row.get(GENRES[0])) is not None and not (
        noise is not None and noise == noise and bool(noise)
    )


@dataclass
class AlbumAccumulator:
    """One album's running sums; ``add`` a tracks row, ``merge`` another, ``row`` at the end."""

    n_tracks: int = 0
    duration_s: float = 0.0
    weight: float = 0.0  # of the voting tracks
    genre_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(GENRES)))
    confidence_sum: float = 0.0
    confidence_weight: float = 0.0
    track_genres: dict[str, int] = field(default_factory=dict)  # voting tracks per top_genre
    folder: str | None = None  # the first by path

    def add(self, row: Mapping[str, Any]) -> AlbumAccumulator:
        self.n_tracks += 1
        self.duration_s += _number(row.get("duration_s")) or 0.0
        folder = folder_of(row["path"])
        self.folder = folder if self.folder is None else min(self.folder, folder)
        if not votes(row):
            return self
        w = track_weight(row)
        self.weight += w
        self.genre_sum += w * np.array([float(row[g]) for g in GENRES])
        confidence = _number(row.get("confidence"))
        if confidence is not None:
            self.confidence_sum += w * confidence
            self.confidence_weight += w
        top = row.get("top_genre")
        top = str(top) if _text(top) else ""
        self.track_genres[top] = self.track_genres.get(top, 0) + 1
        return self

    def merge(self, other: AlbumAccumulator) -> AlbumAccumulator:
        self.n_tracks += other.n_tracks
        self.duration_s += other.duration_s
        self.weight += other.weight
        self.genre_sum = self.genre_sum + other.genre_sum
        self.confidence_sum += other.confidence_sum
        self.confidence_weight += other.confidence_weight
        for genre, n in other.track_genres.items():
            self.track_genres[genre] = self.track_genres.get(genre, 0) + n
        if other.folder is not None:
            self.folder = other.folder if self.folder is None else min(self.folder, other.folder)
        return self

    def row(self, key: AlbumKey, run_id: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict:
        """The album's row of the ``albums`` table (schema ``ALBUMS``)."""
        genres = self.genre_sum / self.weight if self.weight > 0 else None
        confidence = self.confidence_sum / self.confidence_weight if self.confidence_weight > 0 else None
        top = label(genres, confidence, min_confidence)
        voting = sum(self.track_genres.values())
        return {
            "album_id": key.album_id,
            "albumartist": key.albumartist,
            "album": key.album,
            "folder": key.folder or self.folder,
            "n_tracks": self.n_tracks,
            "duration_s": self.duration_s,
            **(dict.fromkeys(GENRES) if genres is None else {g: float(v) for g, v in zip(GENRES, genres)}),
            "top_genre": top,
            "top_score": None if genres is None else float(np.max(genres)),
            "confidence": confidence,
            "agreement": (self.track_genres.get(top, 0) / voting) if voting and top is not None else None,
            "run_id": run_id,
        }


def album_rows(
    tracks: Iterable[Mapping[str, Any]], run_id: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE
) -> list[dict]:
    """The ``albums`` table of a run's tracks rows, in one process (tests, small tools)."""
    albums: dict[AlbumKey, AlbumAccumulator] = {}
    for row in tracks:
        albums.setdefault(album_key(row), AlbumAccumulator()).add(row)
    return [acc.row(key, run_id, min_confidence) for key, acc in albums.items()]
