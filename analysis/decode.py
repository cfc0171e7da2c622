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

Files are hostile until proven otherwise (limits in ``analysis/limits.py``):
headers are checked before decoding, decoding runs on a budget, samples are
checked per block, FFmpeg may only use audio demuxers and no protocols, and
what the C libraries print about damaged streams is captured and summarised
in the error or in ``decode_warnings`` instead of reaching the terminal.

Over 400 lines as one job: one streaming decoder with its two back ends (libsndfile,
FFmpeg) sharing the block loop, the budget and the sample checks; split, each half would
need the other's internals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from recogenre.analysis import mpeg_tail, native_stderr
from recogenre.analysis.au_header import AU_HEADER_BYTES, HEADERLESS, sndfile_header_problem
from recogenre.analysis.frames import SAMPLE_RATE
from recogenre.analysis.limits import (
    ALLOWED_DEMUXERS,
    MAX_ABS_SAMPLE,
    MAX_BLOCK_SAMPLES,
    DecodeLimits,
    length_problem,
    sample_rate_problem,
)
from recogenre.analysis.logs import error_text
from recogenre.analysis.noise_check import WhiteNoiseCheck, watched
from recogenre.analysis.paths import (
    NotAFile,
    explain_missing,
    is_remote,
    open_regular,
    to_os_bytes,
    to_os_path,
)

BLOCK_SECONDS = 10.0  # decoded audio held at once, at the source rate
# libsndfile's frame count when it does not know the length (SF_COUNT_MAX): not a claim
# the file makes, so not a reason to call it corrupt; FFmpeg decodes the file instead.
SF_UNKNOWN_LENGTH = 2**63 - 1

# FFmpeg opens only allowed audio demuxers and, from inside them, nothing at all:
# the file itself comes through our own file object, so no protocol is needed.
FFMPEG_OPTIONS = {"format_whitelist": ",".join(sorted(ALLOWED_DEMUXERS)), "protocol_whitelist": "none"}
# Containers whose duration is a field of the header, not an estimate from the bitrate.
FFMPEG_LENGTH_HEADERS = frozenset({"flac", "wav", "w64", "aiff", "au", "caf", "mov,mp4,m4a,3gp,3g2,mj2"})

# libsndfile's names for an MPEG audio file, and FFmpeg's MP3 decoders: stereo MP3s are
# decoded by FFmpeg (see AudioStream._mp3_to_ffmpeg).
SNDFILE_MP3_FORMATS = frozenset({"MPEG", "MP3"})
FFMPEG_MP3_DECODERS = frozenset({"mp3float", "mp3"})
MP3_DECODER_DELAY = 529  # samples: the Layer III synthesis filterbank's delay

_pyav_ready = False


def _pyav():
    """PyAV with FFmpeg's errors routed to per-call captures, never to the terminal.

    Level ERROR lets damaged-stream errors reach :class:`av.logging.Capture`;
    a message from a thread with no capture goes to the ``libav`` logger,
    which drops it (its lines would otherwise be raw library chatter).
    """
    global _pyav_ready
    import av

    if not _pyav_ready:
        libav = logging.getLogger("libav")
        libav.addHandler(logging.NullHandler())
        libav.propagate = False
        av.logging.set_level(av.logging.ERROR)
        av.logging.set_skip_repeated(False)  # its tally of repeats would land in another file's capture
        _pyav_ready = True
    return av


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


def open_binary(path: str) -> BinaryIO:
    """Opens ``path`` for reading through Beam's filesystems, raising AudioError.

    A local path is a stored ``path`` value (see ``recogenre.analysis.paths``) and is
    opened only if it is a regular file: a FIFO, socket or device is
    ``not_a_file`` without being opened, a dangling symlink ``missing``.
    """
    if not is_remote(path):
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
        raise AudioError(f"cannot open: {error_text(e, reason_only=True)}", "unreadable") from None


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

    No header is trusted: an implausible sample rate or a length the file's
    size cannot hold is a ``corrupt`` error before decoding; decoding stops
    with ``too_long`` once ``limits.max_duration_s`` of audio came out, and
    with ``corrupt`` at the first non-finite or absurdly large sample. What a
    damaged file still holds is decoded (libsndfile hands over to FFmpeg when
    it gives up mid-file), and ``decode_warnings`` says what was skipped or
    missing, once the stream is exhausted.
    """

    def __init__(self, path: str, block_seconds: float = BLOCK_SECONDS, limits: DecodeLimits | None = None):
        self.path = path
        self.block_seconds = block_seconds
        self.limits = limits or DecodeLimits()
        self.info: AudioInfo | None = None
        self.warnings: list[str] = []
        self._file: BinaryIO | None = None
        self._sf: sf.SoundFile | None = None
        self._av = None
        self._size = 0
        self._declared_frames: int | None = None  # a length field the header really holds
        self._mp3_skip: int | None = None  # samples FFmpeg decodes first on a stereo MP3 (see _mp3_to_ffmpeg)
        self._library_lines: list[str] = []  # libmpg123's chatter, summarised on failure
        self.white_noise = False  # set once the stream is exhausted (analysis/noise_check.py)

    @property
    def declared_frames(self) -> int | None:
        """The length a header field really holds, once opened (None for an MPEG bitrate estimate)."""
        return self._declared_frames

    @property
    def decode_warnings(self) -> str | None:
        """What the decoders skipped or missed, in one line; None for a clean decode."""
        return "; ".join(self.warnings) or None

    def __enter__(self) -> AudioStream:
        self._file = open_binary(self.path)
        try:
            self._size = _file_size(self._file)
            if self._size == 0:
                raise AudioError("empty file (0 bytes)", "empty")
            self._open_decoder()
            self._check_header()
            if self._sf is not None:
                self._mp3_skip = self._mp3_to_ffmpeg()
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

    def _check_header(self) -> None:
        info = self.info
        problem = sample_rate_problem(info.sample_rate)
        if problem is None and info.duration_s is not None:
            problem = length_problem(info.duration_s * info.sample_rate, info.sample_rate, self._size)
        if problem is None and self._declared_frames is not None:
            problem = length_problem(self._declared_frames, info.sample_rate, self._size)
        if problem:
            raise AudioError(problem, "corrupt")

    def _open_decoder(self) -> None:
        # libsndfile recognises more files by name than through its virtual I/O
        # (an MP3 behind an ID3v2 tag, for one), so local files go by path.
        source = to_os_bytes(self.path) if not is_remote(self.path) else self._file
        with native_stderr.captured() as chatter:
            try:
                self._sf = sf.SoundFile(source)
            except (sf.LibsndfileError, RuntimeError, TypeError):
                self._sf = None
        self._library_lines += chatter
        headerless = False
        if self._sf is not None:
            problem = sndfile_header_problem(self._sf.format, self._head())
            if problem == HEADERLESS:
                headerless = True  # libsndfile went by the name: FFmpeg may still know the bytes
                self._sf.close()
                self._sf = None
            elif problem:
                raise AudioError(problem, "not_audio")
        if self._sf is not None and self._sf.frames == SF_UNKNOWN_LENGTH:
            # libsndfile could not tell the length (a chained Ogg file: streams one after
            # another, each with its own serial number); FFmpeg decodes such files whole.
            self._sf.close()
            self._sf = None
        if self._sf is not None and self._sf.frames > 0 and self._sf.samplerate > 0:
            self.info = AudioInfo(
                sample_rate=self._sf.samplerate,
                channels=self._sf.channels,
                codec=f"{self._sf.format}/{self._sf.subtype}".lower(),
                decoder="libsndfile",
                duration_s=self._sf.frames / self._sf.samplerate,
            )
            self._declared_frames = sndfile_declared_frames(self._sf)
            return
        if self._sf is not None:
            self._sf.close()
            self._sf = None
        self._file.seek(0)
        try:
            self._open_ffmpeg()
        except AudioError as e:
            if headerless and e.kind == "not_audio":
                raise AudioError(HEADERLESS, "not_audio") from None
            raise

    def _head(self) -> bytes:
        """The file's first bytes (an AU header's length), the file left at its start."""
        self._file.seek(0)
        head = self._file.read(AU_HEADER_BYTES)
        self._file.seek(0)
        return head

    def _open_ffmpeg(self) -> None:
        av = _pyav()
        with av.logging.Capture() as logs:
            try:
                # The allow-list is checked after probing and before the demuxer
                # reads its header, so an SDP, HLS or concat file never opens a
                # socket or another file; nested opens are refused as well.
                self._av = av.open(self._file, mode="r", options=FFMPEG_OPTIONS)
            except (av.FFmpegError, ValueError, OSError) as e:
                refused = [name for level, name, message in logs if "whitelist" in message]
                if refused:
                    raise AudioError(
                        f"not an audio file ({refused[0] or 'its format'} is not an audio container "
                        "recogenre opens)"
                    ) from None
                raise AudioError(f"not an audio file ({error_text(e, reason_only=True).lower()})") from None
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
        if duration is not None and self._av.format.name in FFMPEG_LENGTH_HEADERS:
            self._declared_frames = round(duration * ctx.sample_rate)
        self.info = AudioInfo(
            sample_rate=ctx.sample_rate,
            channels=ctx.channels,
            codec=ctx.name,
            decoder="ffmpeg",
            duration_s=duration,
        )

    def _block_frames(self) -> int:
        """Frames per libsndfile read: ``block_seconds``, within a fixed memory bound."""
        frames = int(self.block_seconds * self._sf.samplerate)
        return max(1, min(frames, MAX_BLOCK_SAMPLES // max(1, self._sf.channels)))

    def _source_blocks(self) -> Iterator[np.ndarray]:
        """Mono float32 blocks at the source rate (channels averaged as librosa does)."""
        if self._sf is None:
            blocks = self._ffmpeg_blocks()
            yield from blocks if self._mp3_skip is None else _dropped(blocks, self._mp3_skip)
            return
        yield from self._window_blocks(0)

    def _mp3_to_ffmpeg(self) -> int | None:
        """A stereo MP3 libsndfile opened (and whose header passed) is decoded by FFmpeg's mp3float.

        On stereo MP3s libmpg123 as built into the soundfile wheel costs about 1.5 times
        FFmpeg's decoder per audio second on this CPU (2.07 against 1.36 ms, loaded), and MP3
        decoding was the largest stage of a run (issue 23; ``benchmarks/decode_candidates.py``,
        docs/performance.md). On mono MP3s the two cost the same and FFmpeg's opening of a file
        without a Xing header costs ~10 ms more, so those stay with libsndfile. The decoders'
        samples agree to ~1e-5 (tests/test_frontend.py). libsndfile's header checks and its
        ``info`` (codec, declared length) stay; where FFmpeg cannot open the file or disagrees
        on its rate, libsndfile decodes it (None).

        Decided on opening, so ``info.decoder`` says which decoder runs. Returns the samples
        to drop from FFmpeg's start so both decoders give the same samples: an Info/Xing
        header without LAME's delay fields makes libmpg123 drop the Layer III decoder delay
        (529 samples) and FFmpeg keep it; both headers give exact lengths, so the delay
        shows as the difference.
        """
        if self._sf.format not in SNDFILE_MP3_FORMATS or self._sf.channels < 2:
            return None
        if self._file is None or not self._file.seekable():
            return None
        info, declared, sndfile_frames = self.info, self._declared_frames, self._sf.frames
        try:
            self._file.seek(0)
            self._open_ffmpeg()
            taken = self.info.codec in FFMPEG_MP3_DECODERS and self.info.sample_rate == info.sample_rate
        except AudioError:
            taken = False
        self.info, self._declared_frames = info, declared
        if not taken:
            if self._av is not None:
                with contextlib.suppress(Exception):
                    self._av.close()
            self._av = None
            return None
        with contextlib.suppress(Exception):
            self._sf.close()
        self._sf = None
        self.info = dataclasses.replace(info, decoder="ffmpeg")
        stream = self._av.streams.audio[0]
        if stream.duration is None or stream.time_base is None:
            return 0
        ffmpeg_frames = stream.duration * stream.time_base * info.sample_rate
        return MP3_DECODER_DELAY if ffmpeg_frames - sndfile_frames == MP3_DECODER_DELAY else 0

    def _ffmpeg_takes_over(self, done: int, failure: str) -> Iterator[np.ndarray]:
        """After libsndfile gave up at sample ``done``, FFmpeg decodes the rest of the file.

        libsndfile (libFLAC, libmpg123) stops at the first damaged frame; FFmpeg
        skips it and goes on, which is what a damaged file deserves. FFmpeg
        decodes from the start and the first ``done`` samples are dropped,
        so the blocks stay continuous (to a decoder delay, on MP3).
        """
        reason = _summary(failure, self._library_lines)
        sr = self.info.sample_rate
        with contextlib.suppress(Exception):
            self._sf.close()
        self._sf = None
        info = self.info
        try:
            if self._file is None or not self._file.seekable():
                raise AudioError("not seekable")
            self._file.seek(0)
            self._open_ffmpeg()
        except AudioError:
            self.info = info
            if done == 0:
                raise AudioError(f"decoding failed: {reason}", "corrupt") from None
            self.warnings.append(f"decoding stopped at {done / sr:.1f} s: {reason}")
            return
        if self.info.sample_rate != sr:
            self.info = info
            self.warnings.append(f"decoding stopped at {done / sr:.1f} s: {reason}")
            return
        self.info = info
        self.warnings.append(f"libsndfile stopped at {done / sr:.1f} s ({reason}); FFmpeg decoded the rest")
        skip = done
        for out in self._ffmpeg_blocks():
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if len(out):
                yield out

    def _ffmpeg_blocks(self) -> Iterator[np.ndarray]:
        av = _pyav()
        stream = self._av.streams.audio[0]
        # Planar float at the stream's own rate and layout: FFmpeg only converts
        # the sample format, and the down-mix stays ours (a plain mean). Frames that
        # already are planar float at that rate (mp3float's) skip the converter.
        rate = self.info.sample_rate
        resampler = av.AudioResampler(format="fltp", rate=rate)
        packets = self._av.demux(stream)
        errors: list[str] = []
        stopped = None
        n = 0
        # Decoded frames (1,152 samples for MP3) are down-mixed one by one into a block of
        # ``block_seconds``; the checks and soxr then run once per block, not once per frame.
        mix = _BlockMixer(max(1, int(self.block_seconds * rate)))
        while True:
            # Logs are captured per call, never across a yield: the capture is per thread.
            with av.logging.Capture() as logs:
                frames = []
                try:
                    packet = next(packets, None)
                except (av.FFmpegError, ValueError, OSError) as e:
                    packet, stopped = None, error_text(e, reason_only=True)
                if packet is not None:
                    try:
                        frames = packet.decode()
                    except (av.FFmpegError, ValueError) as e:
                        if not logs:
                            errors.append(error_text(e, reason_only=True))
                try:
                    outs = []
                    for frame in frames:
                        if frame.format.name == "fltp" and frame.sample_rate == rate:
                            outs.append(frame)
                        else:
                            outs += resampler.resample(frame)
                    if packet is None:
                        outs += resampler.resample(None)
                except (av.FFmpegError, ValueError) as e:
                    reason = error_text(e, reason_only=True)
                    raise AudioError(f"decoding failed: {reason}", "corrupt") from None
            if logs:
                errors += [f"{name}: {' '.join(message.split())}" for level, name, message in logs]
            for out in outs:
                n += out.samples
                full = mix.add(out)
                if full is not None:
                    yield full
            if packet is None:
                last = mix.flush()
                if last is not None:
                    yield last
                break
        if errors:
            if n == 0:
                raise AudioError(f"decoding failed: {errors[0]}", "corrupt")
            self.warnings.append(f"decode errors skipped: {len(errors)} (first: {errors[0]})")
        if stopped is not None:
            if n == 0:
                raise AudioError(f"decoding failed: {stopped}", "corrupt")
            self.warnings.append(f"decoding stopped at {n / self.info.sample_rate:.1f} s: {stopped}")

    def _checked(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The budget and sample checks, applied to each source block as it comes.

        One max and one min per block (a NaN fails both comparisons): a few
        microseconds per ten seconds of audio, against milliseconds of decoding.
        """
        sr = self.info.sample_rate
        budget = self.limits.max_duration_s * sr
        n = 0
        for block in blocks:
            if len(block):
                hi, lo = block.max(), block.min()
                if not (hi <= MAX_ABS_SAMPLE and lo >= -MAX_ABS_SAMPLE):
                    finite = np.isfinite(hi) and np.isfinite(lo)
                    what = f"values beyond +-{MAX_ABS_SAMPLE:g}" if finite else "NaN or infinite values"
                    raise AudioError(
                        f"corrupt samples: {what} (in {n / sr:.1f}-{(n + len(block)) / sr:.1f} s)", "corrupt"
                    )
            n += len(block)
            if n > budget:
                raise AudioError(self.limits.too_long(n / sr), "too_long")
            yield block
        self._decoded_frames = n

    def _check_length(self, decoded: int) -> None:
        """A decode that ends well before the header's length is a truncated file."""
        sr = self.info.sample_rate
        declared = self._declared_frames
        if declared is not None and declared - decoded > max(sr, declared // 100):
            self.warnings.append(
                f"truncated: header says {declared / sr:.1f} s, decoded {decoded / sr:.1f} s"
            )
        elif declared is None and self.info.codec.startswith("mp3/") and not is_remote(self.path):
            missing = mpeg_tail.missing_bytes(to_os_path(self.path))
            if missing:
                self.warnings.append(
                    f"truncated: the last MPEG frame lacks {missing} bytes, decoded {decoded / sr:.1f} s"
                )

    def __iter__(self) -> Iterator[np.ndarray]:
        """12 kHz mono float32 blocks, padded at the end exactly as librosa.load pads."""
        self._decoded_frames = 0
        noise = WhiteNoiseCheck(self.info.sample_rate)
        yield from self._resampled(watched(self._checked(self._source_blocks()), noise))
        self._check_length(self._decoded_frames)
        self._judge_noise(noise)

    def _judge_noise(self, noise: WhiteNoiseCheck) -> None:
        """The last check of every decoded stream: random data decoded as audio is flagged."""
        verdict = noise.verdict()
        if verdict:
            self.white_noise = True
            self.warnings.append(verdict)

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
        noise = WhiteNoiseCheck(sr)  # judges this window: a segment of a split file
        source = watched(self._checked(self._window_blocks(first_in - preroll_in)), noise)
        for out in self._resampled(source):
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if len(out):
                yield out[:remaining]
                remaining -= min(remaining, len(out))
                if remaining == 0:
                    self._judge_noise(noise)
                    return
        if remaining and not self.warnings:  # a damaged window may come up short: flagged already
            raise AudioError("the file ends before the length its header gives", "corrupt")

    def _window_blocks(self, position: int) -> Iterator[np.ndarray]:
        """libsndfile's blocks from source sample ``position``; FFmpeg takes over where it fails.

        Not SoundFile.blocks(): it trusts the header's frame count, which libsndfile only
        estimates for VBR MP3, and pads past the real end.
        """
        block = self._block_frames()
        while True:
            with native_stderr.captured() as chatter:
                try:
                    b = self._sf.read(block, dtype="float32", always_2d=True)
                    failure = None
                except (sf.LibsndfileError, RuntimeError) as e:
                    failure = error_text(e, reason_only=True)
            self._library_lines += chatter
            if failure is not None:
                yield from self._ffmpeg_takes_over(position, failure)
                return
            if not len(b):
                return
            position += len(b)
            yield mix_to_mono(b)

    def _resampled(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        return resample_to_model_rate(blocks, self.info.sample_rate)


def _dropped(blocks: Iterator[np.ndarray], skip: int) -> Iterator[np.ndarray]:
    """``blocks`` without their first ``skip`` samples."""
    for out in blocks:
        if skip:
            dropped = min(skip, len(out))
            out, skip = out[dropped:], skip - dropped
        if len(out):
            yield out


def mix_to_mono(block: np.ndarray) -> np.ndarray:
    """(n, channels) float32 -> (n,): channels averaged as librosa does (files and arrays alike)."""
    return block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]


def resample_to_model_rate(blocks: Iterator[np.ndarray], sr: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``sr`` -> 12 kHz blocks, padded at the end as librosa.load pads.

    The one resampler of every input (files, and arrays given to ``recogenre.classify_array``).
    """
    n_in = n_out = 0
    resampler = (
        None if sr == SAMPLE_RATE else soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
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


_MPG123_PREFIX = re.compile(r"^\[src/libmpg123/[^\]]*\]\s*(error|warning):\s*")


def _summary(failure: str, library_lines: list[str]) -> str:
    """libsndfile's reason, with libmpg123's last complaint (shortened) when it printed one."""
    if not library_lines:
        return failure
    last = _MPG123_PREFIX.sub("", library_lines[-1])
    return f"{failure.rstrip('.')}; libmpg123: {last.split(' - ')[0][:100]}"


_WAV_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def sndfile_declared_frames(f: sf.SoundFile) -> int | None:
    """The length the header gives, when it is a real field and not libsndfile's estimate.

    libsndfile clamps a WAV's data size to the file and notes the header's
    value in its log ("data : N (should be M)"); MPEG lengths are estimates.
    """
    if f.format in ("MPEG", "MP3"):
        return None
    match = _WAV_DATA.search(f.extra_info or "")
    if match and f.frames:
        claimed, present = int(match.group(1)), int(match.group(2))
        if claimed > present > 0:
            return f.frames * claimed // present
    return f.frames


class _BlockMixer:
    """Planar float32 frames -> mono blocks of ``size`` samples, the channels' mean as librosa's.

    Each frame's planes are read in place (``np.frombuffer``, not ``AudioFrame.to_ndarray``,
    whose per-frame ``vstack`` was a quarter of an MP3's decoding time) and summed straight
    into the block; the block is divided by the channel count once. The numbers are those of
    ``mean(axis=0, dtype=np.float32)``: the same float32 additions, in the same order, and
    the same division.
    """

    def __init__(self, size: int):
        self.size = size
        self.buf = np.empty(size, np.float32)
        self.n = 0
        self.channels = 0

    def add(self, frame) -> np.ndarray | None:
        """Adds one frame; returns a finished block when one is ready (its layout changed or it is full)."""
        planes, count = frame.planes, frame.samples  # PyAV builds the planes anew on each access
        k = len(planes)
        done = None
        if self.n and (k != self.channels or self.n + count > self.size):
            done = self.flush()
        if count > self.size:  # a frame bigger than a block (a long FLAC frame after resampling)
            self.size = count
            self.buf = np.empty(count, np.float32)
        self.channels = k
        out = self.buf[self.n : self.n + count]
        first = np.frombuffer(planes[0], np.float32, count)
        if k == 1:
            out[:] = first
        else:
            np.add(first, np.frombuffer(planes[1], np.float32, count), out=out)
            for plane in planes[2:]:
                out += np.frombuffer(plane, np.float32, count)
        self.n += count
        return done

    def flush(self) -> np.ndarray | None:
        """The block so far (a new array), or None when it is empty."""
        if not self.n:
            return None
        block = self.buf[: self.n].copy()
        if self.channels > 1:
            block /= np.float32(self.channels)
        self.n = 0
        return block


def decode(path: str, limits: DecodeLimits | None = None) -> tuple[AudioInfo, np.ndarray]:
    """The whole file at 12 kHz mono; for tests and short clips only."""
    with AudioStream(path, limits=limits) as stream:
        return stream.info, np.concatenate(list(stream) or [np.zeros(0, np.float32)])


class StreamVerdicts:
    """What a wrapper of an :class:`AudioStream` (``self._stream``) reports of it once read.

    One place for the verdicts, so that every wrapper (the frame reader, the service's
    budgeted stream) passes on each of them: a verdict added to the stream and missed by a
    wrapper once made every upload fail.
    """

    _stream: AudioStream

    @property
    def decode_warnings(self) -> str | None:
        """What the decoder skipped or missed (see ``AudioStream``), once the audio is exhausted."""
        return self._stream.decode_warnings

    @property
    def white_noise(self) -> bool:
        """Whether the audio is white noise (``analysis/noise_check.py``), once the audio is exhausted."""
        return self._stream.white_noise
