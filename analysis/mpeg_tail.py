"""Whether an MP3 ends inside its last frame: the mark of a half-copied file.

An MP3 without a Xing/Info header has no length field, and libmpg123 drops
an incomplete last frame without a word, so a truncated MP3 would decode as
a shorter, clean file. A FLAC or WAV cut short betrays itself by its header;
for MP3 the equivalent evidence is the frame chain at the end of the file:
walk the frame headers through the last few kilobytes and see whether the
last frame runs past the end. Reading one tail is cheap; no decoder exposes
this, hence the small parser (header layout per ISO/IEC 11172-3 and 13818-3).
"""

from __future__ import annotations

import os

TAIL_BYTES = 16_384  # dozens of frames at any bit rate
_MIN_CHAIN = 3  # consecutive valid headers before the chain is believed

_BITRATES_KBPS = {
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_length(header: bytes) -> int | None:
    """Bytes of the MPEG audio frame starting with ``header`` (4 bytes), or None if not a header."""
    b0, b1, b2 = header[0], header[1], header[2]
    if b0 != 0xFF or b1 & 0xE0 != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
    rate_index, sr_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer == 4 or rate_index in (0, 15) or sr_index == 3:
        return None
    kbps = _BITRATES_KBPS[(1 if version == 3 else 2, layer)][rate_index - 1]
    sr = _SAMPLE_RATES[version][sr_index]
    if layer == 1:
        return (12 * kbps * 1000 // sr + padding) * 4
    per_frame = 144 if layer == 2 or version == 3 else 72
    return per_frame * kbps * 1000 // sr + padding


def _audio_end(data: bytes) -> int:
    """Where the frames end, before an ID3v1 or APEv2 tag at the end of the file."""
    end = len(data)
    if end >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128
    if end >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
        size = int.from_bytes(data[end - 20 : end - 16], "little")
        has_header = data[end - 9] & 0x80
        end = max(0, end - size - (32 if has_header else 0))
    return end


def missing_bytes(path: str) -> int:
    """Bytes the last frame lacks (0: the file ends on a frame boundary, or no chain was found)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        data = f.read()
    end = _audio_end(data)
    for start in range(0, max(0, end - 4)):
        pos, count = start, 0
        while pos + 4 <= end:
            length = frame_length(data[pos : pos + 4])
            if not length:
                break
            if pos + length > end:
                if count >= _MIN_CHAIN:
                    return pos + length - end
                break
            pos, count = pos + length, count + 1
        if count >= _MIN_CHAIN:
            return 0  # the chain reaches the end, or something other than frames follows it
    return 0
