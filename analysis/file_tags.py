"""The tags a file already carries (artist, album, title, genre...), read with mutagen.

``read_tags`` is what ``run`` stores in the ``tracks`` table's metadata columns
(analysis/schemas.py); it is Beam-free so that other features (albums, the beets
plugin, training labels) read tags the same way. It never raises: a file without
tags, with tags mutagen cannot parse, or that mutagen does not know gives
:data:`NO_TAGS` (every field null), because a broken tag must not cost a track
its genre.

mutagen's "easy" interface (``mutagen.File(path, easy=True)``) gives the same key
for every format (ID3, MP4 atoms, Vorbis comments, APEv2). WAV and AIFF files keep
an ID3 tag in a chunk, which mutagen exposes only as raw ID3 frames: those are
read through the frame ids the easy interface uses for the same keys.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from recogenre.analysis.paths import is_remote, to_os_path

# Values of a multi-valued text tag (two artists) joined as one column value; file_genre
# keeps genres as a list instead (it is what genre comparisons need).
JOIN = "; "
INT32_MAX = 2**31 - 1

# The easy key of each column, and the ID3 frame holding it (WAV/AIFF: raw ID3 frames).
TEXT_KEYS = {"artist": "TPE1", "album": "TALB", "albumartist": "TPE2", "title": "TIT2"}
ID3_FRAMES = {**TEXT_KEYS, "tracknumber": "TRCK", "date": "TDRC", "genre": "TCON"}
# Vorbis comments and APEv2 have no fixed name for the album artist; foobar2000 writes this one.
ALBUMARTIST_ALIASES = ("albumartist", "album artist")


class FileTags(NamedTuple):
    """The tags ``tracks`` stores; a field is None when the file has no usable value for it."""

    artist: str | None = None
    album: str | None = None
    albumartist: str | None = None
    title: str | None = None
    tracknumber: int | None = None  # "3/12" -> 3
    year: int | None = None  # the date tag's first four digits
    file_genre: tuple[str, ...] | None = None  # as stored, in order; None when there is none

    def columns(self) -> dict:
        """The ``tracks`` columns (analysis/schemas.py) holding these tags."""
        row = self._asdict()
        row["file_genre"] = None if self.file_genre is None else list(self.file_genre)
        return row


NO_TAGS = FileTags()
COLUMNS = FileTags._fields


def _texts(values) -> list[str]:
    """Non-empty, valid-UTF-8 strings of a tag's values (Parquet strings must be UTF-8)."""
    texts = []
    for value in values if isinstance(values, (list, tuple)) else [values]:
        text = str(value).replace("\x00", " ").strip()
        if text:
            texts.append(text.encode("utf-8", "replace").decode("utf-8"))
    return texts


def _leading_int(texts: list[str], digits: str = r"\d+") -> int | None:
    """The number a tag's first value starts with ("3/12" -> 3, "1999-05-01" -> 1999)."""
    match = re.match(digits, texts[0]) if texts else None
    if not match:
        return None
    value = int(match.group(0))
    return value if 0 < value <= INT32_MAX else None


def _easy_values(tags, key: str) -> list[str]:
    keys = ALBUMARTIST_ALIASES if key == "albumartist" else (key,)
    for name in keys:
        try:
            values = tags[name]
        except (KeyError, ValueError, TypeError):
            continue
        texts = _texts(values)
        if texts:
            return texts
    return []


def _id3_values(tags, key: str) -> list[str]:
    frame = tags.get(ID3_FRAMES[key])
    if frame is None:
        return []
    if key == "genre":
        return _texts(frame.genres)  # ID3v1 numbers ("(17)") as names, as EasyID3 gives them
    return _texts([str(t) for t in frame.text])


def tags_of(tags) -> FileTags:
    """The columns from a mutagen tag object (easy, or raw ID3 frames)."""
    from mutagen.id3 import ID3

    values = _id3_values if isinstance(tags, ID3) else _easy_values

    def text(key: str) -> str | None:
        texts = values(tags, key)
        return JOIN.join(texts) if texts else None

    genres = values(tags, "genre")
    return FileTags(
        **{key: text(key) for key in TEXT_KEYS},
        tracknumber=_leading_int(values(tags, "tracknumber")),
        year=_leading_int(values(tags, "date"), r"\d{4}"),
        file_genre=tuple(genres) if genres else None,
    )


def read_tags(path: str) -> FileTags:
    """The tags of the file at ``path`` (a stored path); :data:`NO_TAGS` when there are none.

    Remote paths (``gs://``...) are not read: mutagen seeks around the file (an MP3's
    ID3v1 tag is at its end), which on a remote filesystem is a ranged request per
    seek, for every file of a library, on top of decoding it. Their columns are null.
    """
    if is_remote(path):
        return NO_TAGS
    try:
        import mutagen

        audio = mutagen.File(to_os_path(path), easy=True)
        if audio is None or audio.tags is None:
            return NO_TAGS
        return tags_of(audio.tags)
    except Exception:  # mutagen raises many types for a damaged tag; all mean "no usable tags"
        return NO_TAGS
