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
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from recogenre.transforms.genres import GENRES

STANDARD = "genre"
# The spelling written into files: the ID3v1 genre list's names, which every tagger knows.
TAG_VALUES = {g: "Hip-Hop" if g == "hiphop" else g.capitalize() for g in GENRES}

MP3, VORBIS, MP4 = "ID3", "Vorbis comment", "MP4"
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


def field_name(field: str) -> str:
    """``--field`` -> ``genre`` (the standard field) or the custom name; ValueError when unusable.

    ``TXXX:NAME`` is accepted as ID3's spelling of the custom field NAME.
    """
    if field.strip().lower() in (STANDARD, "tcon"):
        return STANDARD
    name = field[5:] if field.upper().startswith("TXXX:") else field
    if not _NAME.fullmatch(name) or ":" in name or name.strip() != name:
        raise ValueError(
            f"--field {field!r}: use 'genre' or a custom name of printable ASCII letters, digits "
            "and punctuation without '=', ':' or '~' (e.g. TXXX:recogenre_genre)"
        )
    return name


def tag_format(path: str) -> str:
    """The tag format for a file name; Unsupported with the reason for any other."""
    ext = os.path.splitext(path)[1].lower()
    if ext in FORMAT_OF_EXTENSION:
        return FORMAT_OF_EXTENSION[ext]
    reason = UNSUPPORTED_REASONS.get(ext, f"{ext or 'no extension'}: no tag writer for this format")
    raise Unsupported(f"unsupported format: {reason}")


def field_key(fmt: str, field: str) -> str:
    """The key the field has in ``fmt``'s tags, as printed to the user."""
    if fmt == MP3:
        return "TCON" if field == STANDARD else f"TXXX:{field}"
    if fmt == VORBIS:
        return "GENRE" if field == STANDARD else field.upper()
    return "\xa9gen" if field == STANDARD else f"----:com.apple.iTunes:{field}"


@dataclass
class FileTags:
    """One file's tags, opened with mutagen; ``set`` then ``save`` writes the field."""

    path: str
    fmt: str
    audio: object  # the mutagen FileType

    def get(self, field: str) -> list[str]:
        tags = self.audio.tags
        if tags is None:
            return []
        key = field_key(self.fmt, field)
        if self.fmt == MP3:
            frames = tags.getall(key)
            if field == STANDARD:
                return [g for f in frames for g in f.genres if g]  # "(17)" read as "Rock"
            return [str(t) for f in frames for t in f.text if str(t)]
        if self.fmt == VORBIS:
            return [v for v in tags.get(key, []) if v]
        values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in tags.get(key, [])]
        if field == STANDARD and not values:
            from mutagen.id3 import TCON

            values = [TCON.GENRES[n - 1] for n in tags.get("gnre", []) if 0 < n <= len(TCON.GENRES)]
        return [v for v in values if v]

    def set(self, field: str, value: str) -> None:
        if self.audio.tags is None:
            self.audio.add_tags()
        tags, key = self.audio.tags, field_key(self.fmt, field)
        if self.fmt == MP3:
            from mutagen.id3 import TCON, TXXX

            tags.delall(key)
            tags.add(
                TCON(encoding=3, text=[value])
                if field == STANDARD
                else TXXX(encoding=3, desc=field, text=[value])
            )
        elif self.fmt == VORBIS:
            tags[key] = [value]
        else:
            from mutagen.mp4 import MP4FreeForm

            if field == STANDARD:
                tags.pop("gnre", None)  # the numeric genre would contradict the new one
                tags[key] = [value]
            else:
                tags[key] = [MP4FreeForm(value.encode("utf-8"))]

    def save(self) -> None:
        if self.fmt == MP3:
            version = self.audio.tags.version if self.audio.tags is not None else (2, 4, 0)
            self.audio.save(v2_version=3 if version[:2] == (2, 3) else 4)
        else:
            self.audio.save()


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
    return FileTags(os_path, fmt, audio)


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
