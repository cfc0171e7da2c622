"""What a file may claim or cost before recogenre calls it corrupt or too long.

A nightly run reads files nobody curated, and the service reads uploads from
anyone: no header is trusted to size a loop, an allocation or a worker's
time. These are the only places the limits are written down; the decoder
(``analysis/decode.py``), segment planning, the pipeline and the service
all take them from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Telephone audio is 8 kHz and some old voice codecs 6 kHz; DXD/DSD-to-PCM
# masters top out at 705.6/768 kHz. Anything outside is a damaged header.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000

DEFAULT_MAX_DURATION_HOURS = 12.0
# ``serve`` reads uploads from anyone: its own, much tighter default (apps/upload_budget.py).
DEFAULT_SERVICE_MAX_DURATION_HOURS = 0.5

# Samples (all channels) decoded at once: 16 MiB of float32. A header may
# claim 1,024 channels at 768 kHz; a block never grows with what it claims.
MAX_BLOCK_SAMPLES = 1 << 22

# Float samples are nominally within +-1; loud masters and DSP output go a
# little beyond, but nothing real comes near a million.
MAX_ABS_SAMPLE = 1e6

# The most compressible audio there is: a FLAC frame of 65,535 constant
# samples in about 8 bytes. A header that claims more sample frames per byte
# of the file than this describes audio the file cannot hold.
MAX_FRAMES_PER_BYTE = 65_536 // 8

# A header whose length the file can plausibly hold is still only trusted to
# split a file between workers when the file has at least this many bytes per
# claimed sample frame (real FLAC music: 1-3 bytes); below it, the file is
# decoded whole and the decoder finds out.
MIN_BYTES_PER_FRAME_TO_SPLIT = 1 / 64

# FFmpeg demuxers (``AVInputFormat`` names) allowed to open a file: audio
# containers that read nothing but the file itself. Playlists and protocol
# demuxers (sdp, rtp, rtsp, hls, dash, concat, image2, tee, lavfi, ...) can
# open sockets or other files and are never allowed, for catalogue files and
# uploads alike.
ALLOWED_DEMUXERS = frozenset(
    {
        "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "ape", "asf", "au", "caf", "dsf", "dts",
        "eac3", "flac", "loas", "matroska", "mlp", "mov", "mp3", "mpc", "mpc8", "ogg", "shn",
        "tak", "truehd", "tta", "voc", "w64", "wav", "wsaud", "wv", "xwma",
    }
)  # fmt: skip


def sample_rate_problem(sample_rate: int) -> str | None:
    """Why a header's sample rate is implausible, or None."""
    if MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        return None
    return (
        f"implausible header: sample rate {sample_rate} Hz "
        f"(allowed {MIN_SAMPLE_RATE:,}-{MAX_SAMPLE_RATE:,} Hz)"
    )


def length_problem(frames: float, sample_rate: int, size_bytes: int) -> str | None:
    """Why a header's length cannot be held by a file of ``size_bytes``, or None."""
    if not math.isfinite(frames) or frames < 0:
        return f"implausible header: length {frames} samples"
    if frames <= size_bytes * MAX_FRAMES_PER_BYTE:
        return None
    return f"implausible header: {frames / sample_rate / 3600:,.1f} h of audio in {size_bytes:,} bytes"


@dataclass(frozen=True)
class DecodeLimits:
    """The per-file budget one decode may spend; the defaults are the command line's."""

    max_duration_s: float = DEFAULT_MAX_DURATION_HOURS * 3600

    @classmethod
    def from_hours(cls, hours: float | None) -> DecodeLimits:
        return cls() if hours is None else cls(max_duration_s=hours * 3600)

    def too_long(self, seconds: float) -> str | None:
        if seconds <= self.max_duration_s:
            return None
        return f"longer than the {self.max_duration_s / 3600:g} h limit (--max-duration)"


def add_max_duration_argument(
    p, default_hours: float = DEFAULT_MAX_DURATION_HOURS, outcome: str = "an error row"
) -> None:
    """``--max-duration HOURS`` for ``run``, ``classify`` and ``serve``: one help text for all
    (``serve`` passes its own default, ``DEFAULT_SERVICE_MAX_DURATION_HOURS``, and outcome)."""
    p.add_argument(
        "--max-duration",
        type=positive_hours,
        default=default_hours,
        metavar="HOURS",
        help=f"stop decoding a file after this many hours of audio: {outcome} (default {default_hours:g})",
    )


def valid_hours(hours: float) -> bool:
    """What ``--max-duration`` accepts (and ``recogenre.classify(max_duration=...)``): finite and > 0."""
    return math.isfinite(hours) and hours > 0


def positive_hours(text: str) -> float:
    """argparse type of ``--max-duration``."""
    import argparse

    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not valid_hours(hours):
        raise argparse.ArgumentTypeError(f"must be a positive number of hours: {text!r}")
    return hours
