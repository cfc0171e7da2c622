"""Whether libsndfile's reading of a file rests on a real header, not on the file's name.

libsndfile falls back to the file name when it recognises no header: a file
named ``*.au`` or ``*.snd`` (also ``*.vox``, ``*.gsm``, ...) opens as
*headerless* 8 kHz µ-law, whatever its bytes are -- a JPEG, a playlist or
random bytes then decode as noise and get a genre. soundfile reports that
case as format ``RAW``, which is refused here: headerless audio is never
assumed from an extension alone.

libsndfile's AU reader also accepts a ``.snd`` header whose data offset is
below the header's own 24 bytes (it then plays the header as audio), so an
AU header is checked here as the Sun/NeXT format defines it: magic ``.snd``
(big-endian; ``dns.`` is libsndfile's little-endian variant), data offset
>= 24, an encoding libsndfile decodes, 1-256 channels (an implausible sample
rate is ``corrupt``, as for every format: ``limits.sample_rate_problem``).
soundfile exposes none of these fields, hence the few lines of parsing.

libsndfile's MPEG reader (libmpg123) also goes by the name: a file named
``*.mp3`` holding another container (an M4A/AAC, an Ogg, a FLAC, ...) is
searched for an MPEG frame sync, and a false one in the compressed data
decodes as a fraction of a second of "silent" Layer I audio. When the
file's first bytes are another container's signature, libsndfile's reading
is not trusted and FFmpeg, which goes by the bytes, decodes the file.
"""

from __future__ import annotations

import struct

AU_HEADER_BYTES = 24
# Sun/NeXT encodings libsndfile reads: mu-law, PCM 8/16/24/32, float, double,
# G.721, G.723 (3 and 5 bit), A-law.
AU_ENCODINGS = frozenset({1, 2, 3, 4, 5, 6, 7, 23, 25, 26, 27})
AU_MAX_CHANNELS = 256  # libsndfile's own ceiling for any format

# Signatures of containers that are never MPEG audio: (offset, bytes).
OTHER_CONTAINERS = (
    (4, b"ftyp"),  # ISO BMFF: M4A, MP4, 3GP, MOV
    (0, b"OggS"),
    (0, b"fLaC"),
    (0, b"RIFF"),
    (0, b"FORM"),  # AIFF
    (0, b"caff"),
    (0, b"\x1aE\xdf\xa3"),  # Matroska, WebM
    (0, b"#!AMR"),
)

HEADERLESS = "not an audio file (no audio header; headerless audio is never assumed from the file name)"


def sndfile_header_problem(sndfile_format: str, head: bytes) -> str | None:
    """Why libsndfile's reading of a file (its ``format``, the file's first bytes) is not to be trusted.

    None when the format has a header libsndfile found by content (everything
    but RAW) and, for AU, that header is plausible.
    """
    if sndfile_format == "RAW":
        return HEADERLESS
    if sndfile_format == "AU":
        return au_problem(head)
    if sndfile_format == "MP3" and any(head[at : at + len(magic)] == magic for at, magic in OTHER_CONTAINERS):
        return HEADERLESS  # libmpg123 went by the name: FFmpeg reads the container
    return None


def au_problem(head: bytes) -> str | None:
    """Why the first 24 bytes of a file are not a plausible AU header, or None."""
    if len(head) < AU_HEADER_BYTES:
        return "not an audio file (AU header shorter than 24 bytes)"
    magic = head[:4]
    if magic == b".snd":
        order = ">"
    elif magic == b"dns.":
        order = "<"
    else:
        return "not an audio file (no .snd header)"
    offset, _size, encoding, _rate, channels = struct.unpack(order + "5I", head[4:AU_HEADER_BYTES])
    if offset < AU_HEADER_BYTES:
        return f"not an audio file (AU header: data offset {offset} < {AU_HEADER_BYTES})"
    if encoding not in AU_ENCODINGS:
        return f"not an audio file (AU header: unknown encoding {encoding})"
    if not 1 <= channels <= AU_MAX_CHANNELS:
        return f"not an audio file (AU header: {channels} channels)"
    return None  # the sample rate is judged with every format's (limits.sample_rate_problem): corrupt
