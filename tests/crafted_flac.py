"""A FLAC built by hand from constant frames of 65,535 samples: the cheapest audio per byte there is.

libsndfile cannot write it (it refuses rates above 655,350 Hz and picks its own block
size), and the crafted file of issue 18 is exactly this: a header declaring an hour at
768 kHz, about 4,700 samples per byte, every frame a CONSTANT subframe (format:
https://xiph.org/flac/format.html).
"""

from __future__ import annotations

import struct
from pathlib import Path

BLOCK = 65_535


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _utf8_number(n: int) -> bytes:
    return chr(n).encode("utf-8", "surrogatepass") if n < 0x110000 else b""


def _frame(number: int, value: int) -> bytes:
    header = bytes([0xFF, 0xF8, 0x70, 0x08]) + _utf8_number(number) + struct.pack(">H", BLOCK - 1)
    header += bytes([_crc8(header)])
    frame = header + b"\x00" + struct.pack(">h", value)  # CONSTANT subframe, 16-bit value
    return frame + struct.pack(">H", _crc16(frame))


def constant_flac(path: Path, seconds: float, sample_rate: int = 768_000, value: int = 4096) -> Path:
    """``seconds`` of one constant 16-bit mono value at ``sample_rate``, in frames of 65,535 samples."""
    frames = int(seconds * sample_rate) // BLOCK
    total = frames * BLOCK
    info = struct.pack(">HH", BLOCK, BLOCK) + b"\x00" * 6  # block sizes; frame sizes unknown
    info += ((sample_rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big")
    info += b"\x00" * 16  # no MD5
    with open(path, "wb") as f:
        f.write(b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info)
        for number in range(frames):
            f.write(_frame(number, value))
    return path
