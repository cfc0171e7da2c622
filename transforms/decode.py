"""Streaming audio decoding to 12 kHz mono float32.

Decoding is what ``librosa.load(path, sr=12000)`` does -- libsndfile where it
can read the file, channels averaged, soxr at HQ quality, the result padded to
``ceil(n * 12000 / sr)`` samples -- so our frames match the original code's
numerically. Unlike ``librosa.load`` it streams: only one block of decoded
audio is held at a time, so a three-hour file needs no more memory than a
three-minute one. Formats libsndfile cannot read (3gp/AMR, m4a/AAC, Opus in
MP4, WMA, ...) go through FFmpeg via PyAV.

Paths may be anything Beam's ``FileSystems`` opens (``gs://``, ``s3://``, ...);
plain local paths skip importing Beam so the single-file classifier starts fast.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from transforms.frames import SAMPLE_RATE
from transforms.paths import NotAFile, explain_missing, open_regular, to_os_bytes, to_os_path

BLOCK_SECONDS = 10.0  # decoded audio held at once, at the source rate


class AudioError(Exception):
    """A file that cannot be turned into audio; ``str()`` is a one-line reason.

    ``kind`` is a short stable name for grouping errors in reports: missing,
    directory, unreadable, empty, not_audio, corrupt.
    """

    def __init__(self, message: str, kind: str = "not_audio"):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, before decoding it."""

    sample_rate: int
    channels: int
    codec: str
    decoder: str  # "libsndfile" or "ffmpeg"
    duration_s: float | None  # the container's estimate; the decoded length is authoritative


def _is_local(path: str) -> bool:
    return "://" not in path


def open_binary(path: str) -> BinaryIO:
    """Opens ``path`` for reading through Beam's filesystems, raising AudioError.

    A local path is a stored ``path`` value (see ``transforms.paths``) and is
    opened only if it is a regular file: a FIFO, socket or device is
    ``not_a_file`` without being opened, a dangling symlink ``missing``.
    """
    if _is_local(path):
        try:
            return open_regular(path)
        except NotAFile as e:
            raise AudioError(str(e), e.kind) from None
        except FileNotFoundError:
            raise AudioError(explain_missing(to_os_path(path)), "missing") from None
        except PermissionError:
            raise AudioError("permission denied", "unreadable") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise AudioError("symbolic link loop", "missing") from None
            raise AudioError(f"cannot open: {e.strerror or e}", "unreadable") from None
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    try:
        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    except Exception as e:  # each Beam filesystem raises its own error types
        raise AudioError(f"cannot open: {_one_line(e)}", "unreadable") from None


def _one_line(e: BaseException) -> str:
    """The reason alone: FFmpeg's errors otherwise repeat errno and the path."""
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__


def _file_size(f: BinaryIO) -> int:
    pos = f.tell()
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(pos)
    return size


class AudioStream:
    """A decoded file as an iterator of 12 kHz mono float32 blocks.

    Use as a context manager; ``info`` is available after ``__enter__``.
    Decoding errors surface as :class:`AudioError` during iteration.
    """

    def __init__(self, path: str, block_seconds: float = BLOCK_SECONDS):
        self.path = path
        self.block_seconds = block_seconds
        self.info: AudioInfo | None = None
        self._file: BinaryIO | None = None
        self._sf: sf.SoundFile | None = None
        self._av = None

    def __enter__(self) -> AudioStream:
        self._file = open_binary(self.path)
        try:
            if _file_size(self._file) == 0:
                raise AudioError("empty file (0 bytes)", "empty")
            self._open_decoder()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for handle in (self._sf, self._av, self._file):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self._sf = self._av = self._file = None

    def _open_decoder(self) -> None:
        # libsndfile recognises more files by name than through its virtual I/O
        # (an MP3 behind an ID3v2 tag, for one), so local files go by path.
        source = to_os_bytes(self.path) if _is_local(self.path) else self._file
        try:
            self._sf = sf.SoundFile(source)
        except (sf.LibsndfileError, RuntimeError, TypeError):
            self._sf = None
        if self._sf is not None and self._sf.frames > 0 and self._sf.samplerate > 0:
            self.info = AudioInfo(
                sample_rate=self._sf.samplerate,
                channels=self._sf.channels,
                codec=f"{self._sf.format}/{self._sf.subtype}".lower(),
                decoder="libsndfile",
                duration_s=self._sf.frames / self._sf.samplerate,
            )
            return
        if self._sf is not None:
            self._sf.close()
            self._sf = None
        self._file.seek(0)
        self._open_ffmpeg()

    def _open_ffmpeg(self) -> None:
        import av

        try:
            self._av = av.open(self._file, mode="r")
        except (av.FFmpegError, ValueError, OSError) as e:
            raise AudioError(f"not an audio file ({_one_line(e).lower()})") from None
        if not self._av.streams.audio:
            raise AudioError("not an audio file (no audio stream)")
        stream = self._av.streams.audio[0]
        ctx = stream.codec_context
        if not ctx.sample_rate:
            raise AudioError("not an audio file (no decodable audio stream)")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._av.duration is not None:
            duration = self._av.duration / 1_000_000
        self.info = AudioInfo(
            sample_rate=ctx.sample_rate,
            channels=ctx.channels,
            codec=ctx.name,
            decoder="ffmpeg",
            duration_s=duration,
        )

    def _source_blocks(self) -> Iterator[np.ndarray]:
        """Mono float32 blocks at the source rate (channels averaged as librosa does)."""
        if self._sf is not None:
            block = max(1, int(self.block_seconds * self._sf.samplerate))
            # Not SoundFile.blocks(): it trusts the header's frame count, which
            # libsndfile only estimates for VBR MP3, and pads past the real end.
            try:
                while len(b := self._sf.read(block, dtype="float32", always_2d=True)):
                    yield b.mean(axis=1, dtype=np.float32) if b.shape[1] > 1 else b[:, 0]
            except (sf.LibsndfileError, RuntimeError) as e:
                raise AudioError(f"decoding failed: {_one_line(e)}", "corrupt") from None
            return
        yield from self._ffmpeg_blocks()

    def _ffmpeg_blocks(self) -> Iterator[np.ndarray]:
        import av

        stream = self._av.streams.audio[0]
        # Planar float at the stream's own rate and layout: FFmpeg only converts
        # the sample format, and the down-mix stays ours (a plain mean).
        resampler = av.AudioResampler(format="fltp", rate=self.info.sample_rate)
        try:
            for packet in self._av.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        yield _planar_mono(out.to_ndarray())
            for out in resampler.resample(None):
                yield _planar_mono(out.to_ndarray())
        except (av.FFmpegError, ValueError) as e:
            raise AudioError(f"decoding failed: {_one_line(e)}", "corrupt") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        """12 kHz mono float32 blocks, padded at the end exactly as librosa.load pads."""
        yield from self._resampled(self._source_blocks())

    def window(self, start: int, count: int) -> Iterator[np.ndarray]:
        """Samples ``start .. start + count`` of the 12 kHz stream, without decoding what precedes.

        Lets several workers share one long file. Only for files libsndfile
        seeks exactly (PCM, FLAC) and for ``start`` on the common sample grid
        of both rates. Decoding restarts one second early so the resampler's
        filter has settled by ``start``; the samples then agree with a
        decode from the beginning to float rounding (see tests).
        """
        sr = self.info.sample_rate
        if self._sf is None or not self._sf.seekable() or (start * sr) % SAMPLE_RATE:
            raise ValueError(f"cannot decode {self.path} from sample {start} exactly")
        first_in = start * sr // SAMPLE_RATE
        preroll_in = min(first_in, sr)
        skip = preroll_in * SAMPLE_RATE // sr
        self._sf.seek(first_in - preroll_in)
        remaining = count
        for out in self._resampled(self._source_blocks()):
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if len(out):
                yield out[:remaining]
                remaining -= min(remaining, len(out))
                if remaining == 0:
                    return
        if remaining:
            raise AudioError("the file ends before the length its header gives", "corrupt")

    def _resampled(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        sr = self.info.sample_rate
        n_in = n_out = 0
        resampler = (
            None
            if sr == SAMPLE_RATE
            else soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        )
        for block in blocks:
            n_in += len(block)
            out = block if resampler is None else resampler.resample_chunk(block, last=False)
            if len(out):
                n_out += len(out)
                yield out
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            n_out += len(tail)
            expected = math.ceil(n_in * SAMPLE_RATE / sr)
            if expected > n_out:
                tail = np.concatenate([tail, np.zeros(expected - n_out, np.float32)])
            if len(tail):
                yield tail
        if n_in == 0:
            raise AudioError("no audio samples in the file", "empty")


def _planar_mono(planes: np.ndarray) -> np.ndarray:
    planes = planes.astype(np.float32, copy=False)
    return planes[0] if planes.shape[0] == 1 else planes.mean(axis=0, dtype=np.float32)


def decode(path: str) -> tuple[AudioInfo, np.ndarray]:
    """The whole file at 12 kHz mono; for tests and short clips only."""
    with AudioStream(path) as stream:
        return stream.info, np.concatenate(list(stream) or [np.zeros(0, np.float32)])
