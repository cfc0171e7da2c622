"""Where a genre goes in each audio format, read and written with mutagen.

- MP3: ID3v2 ``TCON``; a custom field NAME is ``TXXX:NAME``;
- FLAC, Ogg Vorbis, Opus, Ogg FLAC: Vorbis comment ``GENRE``; custom: ``NAME`` (upper case);
- MP4 audio (.m4a, .m4b, .mp4): ``©gen`` (an old numeric ``gnre`` is read too, and dropped
  when replaced); custom: ``----:com.apple.iTunes:NAME``.

Those are the fields library managers (beets, Picard, foobar2000, MusicBee,
iTunes/Music, Plex, Jellyfin, MPD) read. Everything else is refused by name,
with the reason, rather than written where few tools look: WAV and AIFF can
carry an ID3 chunk but most players and managers ignore it; AU has no tag
format; 3GP/AMR use 3GPP's own atoms; raw AAC (ADTS), WMA, WebM/Matroska and
the rest are not handled by this module.

An ID3 tag keeps its version (v2.3 stays v2.3, which older Windows and car
players need; new tags are v2.4); an existing ID3v1 tag is updated with it.
An MP3's APEv2 ``Genre`` is read as well, and updated where it is (see FileTags).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from dataclasses import field as dc_field

from recogenre.analysis.genres import GENRES

STANDARD = "genre"
# The spelling written into files: the ID3v1 genre list's names, which every tagger knows.
TAG_VALUES = {g: "Hip-Hop" if g == "hiphop" else g.capitalize() for g in GENRES}

MP3, VORBIS, MP4 = "ID3", "Vorbis comment", "MP4"
APE_GENRE = "APEv2 Genre"  # an MP3's genre in an APEv2 tag (see FileTags)
FORMAT_OF_EXTENSION = {
    ".mp3": MP3,
    ".flac": VORBIS,
    ".ogg": VORBIS,
    ".oga": VORBIS,
    ".opus": VORBIS,
    ".m4a": MP4,
    ".m4b": MP4,
    ".mp4": MP4,
}
UNSUPPORTED_REASONS = {
    ".wav": "WAV: most library managers ignore an ID3 chunk in WAV",
    ".wave": "WAV: most library managers ignore an ID3 chunk in WAV",
    ".rf64": "WAV: most library managers ignore an ID3 chunk in WAV",
    ".w64": "Wave64 has no tag format library managers read",
    ".aif": "AIFF: most library managers ignore an ID3 chunk in AIFF",
    ".aiff": "AIFF: most library managers ignore an ID3 chunk in AIFF",
    ".aifc": "AIFF: most library managers ignore an ID3 chunk in AIFF",
    ".au": "AU has no tag format",
    ".snd": "AU has no tag format",
    ".3gp": "3GPP files use their own tag atoms",
    ".3g2": "3GPP files use their own tag atoms",
    ".amr": "AMR has no tag format",
}
_NAME = re.compile(r"[\x20-\x3c\x3e-\x7d]+")  # a Vorbis comment name: printable ASCII without '=' or '~'

_MUTAGEN_CLASSES = {
    MP3: ("MP3", "EasyMP3"),
    VORBIS: ("FLAC", "OggVorbis", "OggOpus", "OggFLAC", "OggSpeex"),
    MP4: ("MP4", "EasyMP4"),
}


class Unsupported(Exception):
    """A file this module does not write (its format, or contents that do not match its name)."""


@dataclass(frozen=True)
class Field:
    """The field ``--field`` names: the format's genre field (``custom`` None) or a custom one.

    A type of its own rather than a name, so that a custom field called ``genre``
    (``TXXX:genre``) can never be taken for the standard genre field.
    """

    custom: str | None = None


GENRE_FIELD = Field()
_STANDARD_KEYS = {MP3: "TCON", VORBIS: "GENRE", MP4: "\xa9gen"}
FORMAT_NAMES = {MP3: "MP3", VORBIS: "FLAC, Ogg Vorbis and Opus", MP4: "MP4"}


def field_name(field: str) -> Field:
    """``--field`` -> the standard genre field or a custom one; ValueError when unusable.

    ``genre`` and ``TCON`` name the standard field; ``TXXX:NAME`` (ID3's spelling) and a
    bare ``NAME`` the custom field NAME. A bare ID3 frame ID other than TCON (``TIT2``,
    ``COMM``) is refused: the user names a frame this module does not write, and writing
    ``TXXX:TIT2`` instead would not be the field they named.
    """
    if field.strip().lower() in (STANDARD, "tcon"):
        return GENRE_FIELD
    name = field[5:] if field.upper().startswith("TXXX:") else field
    if not _NAME.fullmatch(name) or ":" in name or name.strip() != name:
        raise ValueError(
            f"--field {field!r}: use 'genre' or a custom name of printable ASCII letters, digits "
            "and punctuation without '=', ':' or '~' (e.g. TXXX:recogenre_genre)"
        )
    if name == field and _is_id3_frame_id(name):
        raise ValueError(
            f"--field {field!r}: {name} is an ID3 frame other than the genre; recogenre writes "
            "only 'genre' (TCON) or a custom field (e.g. TXXX:recogenre_genre)"
        )
    return Field(name)


def _is_id3_frame_id(name: str) -> bool:
    from mutagen.id3 import Frames, Frames_2_2

    return name in Frames or name in Frames_2_2


def tag_format(path: str) -> str:
    """The tag format for a file name; Unsupported with the reason for any other."""
    ext = os.path.splitext(path)[1].lower()
    if ext in FORMAT_OF_EXTENSION:
        return FORMAT_OF_EXTENSION[ext]
    reason = UNSUPPORTED_REASONS.get(ext, f"{ext or 'no extension'}: no tag writer for this format")
    raise Unsupported(f"unsupported format: {reason}")


def field_key(fmt: str, field: Field) -> str:
    """The key the field has in ``fmt``'s tags, as printed to the user.

    Unsupported when a custom name is the format's genre field itself: Vorbis comment
    names ignore case, so a custom ``genre`` would be ``GENRE``, the user's real genre.
    """
    if field.custom is None:
        return _STANDARD_KEYS[fmt]
    if fmt == MP3:
        key = f"TXXX:{field.custom}"
    elif fmt == VORBIS:
        key = field.custom.upper()
    else:
        key = f"----:com.apple.iTunes:{field.custom}"
    if key == _STANDARD_KEYS[fmt]:
        raise Unsupported(
            f"in {FORMAT_NAMES[fmt]} files a custom field named {field.custom!r} is the genre field "
            f"itself ({key})"
        )
    return key


@dataclass
class FileTags:
    """One file's tags, opened with mutagen; ``set`` then ``save`` writes the field.

    An MP3's genre may also be in an APEv2 tag at its end (foobar2000, MP3Gain and
    older Winamp setups write one): it counts as a genre already there, and a
    replaced genre is written where the existing one is, so the file never ends
    up with two genres that disagree.
    """

    path: str
    fmt: str
    audio: object  # the mutagen FileType
    ape: object | None = None  # an MP3's APEv2 tag (mutagen.apev2.APEv2), when it has one
    _changed: set[str] = dc_field(default_factory=set, init=False)  # "own", "ape"

    def found(self, field: Field) -> dict[str, list[str]]:
        """Where the file already holds a value for the field: {key as printed: values}."""
        places = {}
        values = self._own_values(field)
        if values:
            places[field_key(self.fmt, field)] = values
        if field == GENRE_FIELD and self.ape is not None and "Genre" in self.ape:
            values = _ape_values(self.ape["Genre"])
            if values:
                places[APE_GENRE] = values
        return places

    def get(self, field: Field) -> list[str]:
        return [v for values in self.found(field).values() for v in values]

    def stored(self, field: Field, values: list[str]) -> dict[str, list[str]]:
        """What :meth:`found` reads back after ``set(field, values)``: {key: values}.

        ID3v2.3 has no multiple values: several are stored as one, joined by "/"
        (mutagen's and Picard's v2.3 convention), and read back as that one value.
        """
        shown = {}
        for key in self.targets(field):
            v23 = self.fmt == MP3 and key != APE_GENRE and self._id3_version()[:2] == (2, 3)
            shown[key] = ["/".join(values)] if v23 and len(values) > 1 else list(values)
        return shown

    def _id3_version(self) -> tuple[int, ...]:
        return self.audio.tags.version if self.audio.tags is not None else (2, 4, 0)

    def targets(self, field: Field) -> list[str]:
        """The keys ``set`` writes: every place already holding a value, else the format's own field."""
        return list(self.found(field)) or [field_key(self.fmt, field)]

    def _own_values(self, field: Field) -> list[str]:
        tags = self.audio.tags
        if tags is None:
            return []
        key = field_key(self.fmt, field)
        if self.fmt == MP3:
            frames = tags.getall(key)
            if field == GENRE_FIELD:
                return [g for f in frames for g in f.genres if g]  # "(17)" read as "Rock"
            return [str(t) for f in frames for t in f.text if str(t)]
        if self.fmt == VORBIS:
            return [v for v in tags.get(key, []) if v]
        values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in tags.get(key, [])]
        if field == GENRE_FIELD and not values:
            from mutagen.id3 import TCON

            values = [TCON.GENRES[n - 1] for n in tags.get("gnre", []) if 0 < n <= len(TCON.GENRES)]
        return [v for v in values if v]

    def set(self, field: Field, value: str | list[str]) -> list[str]:
        """Sets the field in every place ``targets`` names; returns those keys.

        Several values are written as the format's own multiple values (see
        :func:`_set_own`), never joined into one string a player would show as one genre.
        """
        values = [value] if isinstance(value, str) else list(value)
        keys = self.targets(field)
        for key in keys:
            if key == APE_GENRE:
                self.ape["Genre"] = values  # an APEv2 text item holds several values, NUL-separated
                self._changed.add("ape")
            else:
                self._set_own(field, values)
                self._changed.add("own")
        return keys

    def _set_own(self, field: Field, values: list[str]) -> None:
        """ID3: one frame with several text values (v2.4 separates them with NUL; a v2.3 tag,
        which has no multiple values, gets them joined by "/", as mutagen and Picard write
        v2.3); Vorbis comments: the field repeated; MP4: one atom with several values."""
        if self.audio.tags is None:
            self.audio.add_tags()
        tags, key = self.audio.tags, field_key(self.fmt, field)
        if self.fmt == MP3:
            from mutagen.id3 import TCON, TXXX

            tags.delall(key)
            tags.add(
                TCON(encoding=3, text=values)
                if field == GENRE_FIELD
                else TXXX(encoding=3, desc=field.custom, text=values)
            )
        elif self.fmt == VORBIS:
            tags[key] = values
        else:
            from mutagen.mp4 import MP4FreeForm

            if field == GENRE_FIELD:
                tags.pop("gnre", None)  # the numeric genre would contradict the new one
                tags[key] = values
            else:
                tags[key] = [MP4FreeForm(v.encode("utf-8")) for v in values]

    def save(self) -> None:
        if "own" in self._changed:
            if self.fmt == MP3:
                self.audio.save(v2_version=3 if self._id3_version()[:2] == (2, 3) else 4)
            else:
                self.audio.save()
        if "ape" in self._changed:
            _save_ape(self.ape, self.path)


def _ape_values(value) -> list[str]:
    """An APEv2 item's text values (one item may hold several, NUL-separated)."""
    from mutagen.apev2 import TEXT

    if value.kind != TEXT:
        return [value.pprint()]  # binary or a link: still a genre there, shown as mutagen shows it
    return [v for v in value if v]


def _save_ape(ape, os_path: str) -> None:
    """Writes the APEv2 tag back, keeping what followed it.

    mutagen rewrites an APEv2 tag at the end of the file and cuts off whatever
    came after the old one -- the ID3v1 tag (and Lyrics3 block) that players
    expect last. Those bytes are put back after the new tag, as they were.
    ``_APEv2Data`` is mutagen's own parse of where the tag lies.
    """
    from mutagen.apev2 import _APEv2Data

    with open(os_path, "rb") as f:
        where = _APEv2Data(f)
        tail = b""
        if where.start is not None and not where.is_at_start:
            f.seek(where.end)
            tail = f.read()
    ape.save(os_path)
    if tail:
        with open(os_path, "ab") as f:
            f.write(tail)


def open_tags(os_path: str, fmt: str) -> FileTags:
    """The file's tags; Unsupported when its contents are not the format its name says."""
    import mutagen

    try:
        audio = mutagen.File(os_path)
    except mutagen.MutagenError:
        # mutagen trusts the name first: MP3 bytes named .flac fail as a broken FLAC. What the
        # bytes are, judged without the name, tells a misnamed file (skipped, like any other
        # mismatch) from a damaged one of the named format (a failure).
        found = _kind_without_name(os_path)
        if found is not None and found not in _MUTAGEN_CLASSES[fmt]:
            raise Unsupported(f"its contents ({found}) do not match its name ({fmt} expected)") from None
        raise
    kind = type(audio).__name__
    if audio is None or kind not in _MUTAGEN_CLASSES[fmt]:
        found = "not a format mutagen reads" if audio is None else kind
        raise Unsupported(f"its contents ({found}) do not match its name ({fmt} expected)")
    ape = None
    if fmt == MP3:
        from mutagen.apev2 import APENoHeaderError, APEv2

        with contextlib.suppress(APENoHeaderError):  # no APEv2 tag: the usual case
            ape = APEv2(os_path)
    return FileTags(os_path, fmt, audio, ape)


def _kind_without_name(os_path: str) -> str | None:
    """The mutagen class that reads the file when only its bytes are known (None: none does)."""
    import io

    import mutagen

    try:
        with io.FileIO(os.open(os_path, os.O_RDONLY), "rb") as f:  # FileIO from a descriptor has no name
            audio = mutagen.File(f)
    except (mutagen.MutagenError, OSError):
        return None
    return None if audio is None else type(audio).__name__
