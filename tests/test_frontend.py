"""Decoding, framing and log-mel against librosa and the original code's frames."""

from __future__ import annotations

import json
import tracemalloc

import librosa
import numpy as np
import pytest
import soundfile as sf

from recogenre.analysis.decode import AudioError, AudioStream, decode, resample_to_model_rate
from recogenre.analysis.features import TrackReader
from recogenre.analysis.frames import FRAME_SAMPLES, N_STEPS, SAMPLE_RATE
from recogenre.analysis.genres import GENRES
from recogenre.analysis.melspec import is_silent, log_mel, rms_dbfs
from tests.conftest import REFERENCE, clip

BENSOUND = ["bensound-actionable", "bensound-cute", "bensound-dubstep", "bensound-thejazzpiano"]


@pytest.mark.parametrize("name", ["disco.00000.au", "die.au", "example_cl.mp3", "bensound-cute.mp3"])
def test_decoding_matches_librosa_load(name):
    with AudioStream(clip(name)) as stream:
        ours = np.concatenate(list(stream))
    theirs, _ = librosa.load(clip(name), sr=SAMPLE_RATE)
    assert ours.dtype == np.float32 and len(ours) == len(theirs)
    if stream.info.codec.startswith("mp3/") and stream.info.channels == 2:
        # FFmpeg's mp3float decodes stereo MP3s (less CPU than libmpg123, issue 23); librosa
        # reads them with libsndfile's libmpg123. Two float decoders of the same frames:
        # measured 3.4e-6 at most over the shared MP3s, and no log-mel bin moves by 0.01 dB.
        assert stream.info.decoder == "ffmpeg" and stream.info.codec == "mp3/mpeg_layer_iii"
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
        n = len(ours) // FRAME_SAMPLES * FRAME_SAMPLES or len(ours)
        for start in range(0, n, FRAME_SAMPLES):
            a = np.resize(ours[start : start + FRAME_SAMPLES], FRAME_SAMPLES)
            b = np.resize(theirs[start : start + FRAME_SAMPLES], FRAME_SAMPLES)
            assert np.abs(log_mel(a) - log_mel(b)).max() < 0.01
    else:
        assert stream.info.decoder == "libsndfile"
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def stereo_mp3(target, rate: int, kbps: int, identical: bool = False) -> None:
    """A stereo MP3 by LAME (PyAV's libmp3lame): 60 s of the shared clips at ``rate``;
    the right channel a 7 ms echo mix of the left unless ``identical``."""
    import av
    import soxr

    parts = [sf.read(clip(n), dtype="float32")[0] for n in ("disco.00000.au", "bensound-dubstep.mp3")]
    left = soxr.resample(np.concatenate([parts[0], parts[1][: 22050 * 30]]), 22050, rate, quality="VHQ")
    lag = int(0.007 * rate)
    right = left if identical else 0.8 * left + 0.2 * np.concatenate([np.zeros(lag), left[:-lag]])
    y = np.clip(np.stack([left, right]), -1, 1).astype(np.float32)
    with av.open(str(target), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="stereo")
        stream.bit_rate = kbps * 1000
        step = 1152 * 16
        for i in range(0, y.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y[:, i : i + step]), "fltp", "stereo")
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.parametrize(("rate", "kbps"), [(48_000, 320), (44_100, 128)])
def test_stereo_mp3_is_the_mean_of_its_channels_resampled_by_soxr_hq(tmp_path, rate, kbps):
    """The FFmpeg route down-mixes frame by frame into blocks: exactly the mean of the
    channels FFmpeg decodes, then soxr HQ (librosa.load's numbers, from another decoder)."""
    import av

    path = tmp_path / f"stereo-{rate}.mp3"
    stereo_mp3(path, rate, kbps)
    info, ours = decode(str(path))
    with av.open(str(path)) as container:
        planes = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert info.sample_rate == rate and info.channels == 2 and planes.shape[0] == 2
    assert info.decoder == "ffmpeg" and info.codec == "mp3/mpeg_layer_iii"
    mean = planes.mean(axis=0, dtype=np.float32)
    want = np.concatenate(list(resample_to_model_rate(iter([mean]), rate)))
    np.testing.assert_array_equal(ours, want)
    theirs, _ = librosa.load(str(path), sr=SAMPLE_RATE)
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_stereo_of_identical_channels_equals_its_left_channel(tmp_path):
    path = tmp_path / "identical.mp3"
    stereo_mp3(path, 48_000, 256, identical=True)
    _, ours = decode(str(path))
    left, sr = librosa.load(str(path), sr=None, mono=False)
    np.testing.assert_allclose(left[0], left[1], rtol=0, atol=1e-6)  # LAME coded them alike
    want = np.concatenate(list(resample_to_model_rate(iter([left[0]]), sr)))
    np.testing.assert_allclose(ours, want, rtol=0, atol=1e-5)


def test_3gp_amr_goes_through_ffmpeg():
    info, y = decode(clip("1546464360295.3gp"))
    assert info.decoder == "ffmpeg" and info.codec.startswith("amr")
    assert abs(len(y) / SAMPLE_RATE - 69.12) < 0.05
    # A quiet phone recording: well below full scale, far above digital silence.
    assert -50 < rms_dbfs(y) < -40 and not is_silent(y)


def aligned_log_mel(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Our log-mel of the original's centre crop, shifted to undo the decoders' delay."""
    ref = np.load(REFERENCE / f"{name}.melgram.npy")[0, 0]
    _, y = decode(clip(f"{name}.mp3"))
    centre = (len(y) - FRAME_SAMPLES) // 2

    def error(lag: int) -> float:
        return float(np.abs(log_mel(y[centre + lag : centre + lag + FRAME_SAMPLES]) - ref).mean())

    coarse = min(range(-1024, 1025, 64), key=error)
    lag = min(range(coarse - 64, coarse + 65, 4), key=error)
    return log_mel(y[centre + lag : centre + lag + FRAME_SAMPLES]), ref, lag


@pytest.mark.parametrize("name", BENSOUND)
def test_log_mel_matches_the_original_frames(name, model):
    ours, ref, lag = aligned_log_mel(name)
    assert ours.shape == ref.shape == (96, N_STEPS)
    # libsndfile/mpg123 and the original's decoder differ by an MP3 decoder
    # delay (529 samples at 44.1 kHz), and soxr differs slightly from resampy.
    assert abs(lag - 144) <= 8
    assert np.median(np.abs(ours - ref)) < 0.05  # dB
    expected = json.loads((REFERENCE / "crnn_expected_outputs.json").read_text())["outputs"]
    want = np.array([expected[f"{name}.melgram.npy"][g] for g in GENRES])
    got = model.predict(ours[np.newaxis])[0]
    assert np.argmax(got) == np.argmax(want)
    np.testing.assert_allclose(got, want, atol=0.02)


def frames_of(path: str, trim: float = 0.0):
    with TrackReader(path, trim) as reader:
        frames = list(reader.frames())
        return frames, reader.duration_s


def test_long_track_is_cut_into_consecutive_frames():
    frames, duration = frames_of(clip("example_cl.mp3"))
    assert len(frames) == int(duration * SAMPLE_RATE) // FRAME_SAMPLES == 6
    assert [f.start_s for f in frames] == pytest.approx([i * 29.12 for i in range(6)])
    assert all(f.melgram.shape == (96, 1366) and f.melgram.dtype == np.float32 for f in frames)


def test_trim_applies_only_to_tracks_long_enough():
    frames, _ = frames_of(clip("example_cl.mp3"), trim=20)
    assert len(frames) == 5 and frames[0].start_s == pytest.approx(20.0)
    assert frames[-1].end_s <= 203.01 - 20
    # A 30-second clip keeps its only frame instead of becoming zeros.
    short, _ = frames_of(clip("disco.00000.au"), trim=20)
    assert len(short) == 1 and short[0].start_s == 0.0 and not short[0].silent


def test_short_track_is_one_padded_frame():
    frames, duration = frames_of(clip("die.au"))
    assert duration == pytest.approx(12.925, abs=0.01)
    assert len(frames) == 1 and frames[0].end_s == pytest.approx(duration)
    assert frames[0].melgram.shape == (96, 1366)


def test_silent_frames_are_flagged(tmp_path):
    disco, sr = sf.read(clip("disco.00000.au"), dtype="float32")
    path = tmp_path / "silence-then-disco.wav"
    sf.write(path, np.concatenate([np.zeros(round(29.12 * sr), np.float32), disco]), sr)
    frames, _ = frames_of(str(path))
    assert [f.silent for f in frames] == [True, False]
    assert frames[0].melgram is None


def test_bad_files_raise_one_line_errors(bad_files):
    for key in ("empty", "random", "text", "directory", "missing"):
        with pytest.raises(AudioError) as e:
            frames_of(bad_files[key])
        assert "\n" not in str(e.value) and bad_files[key] not in str(e.value)


def test_decoding_streams_in_bounded_memory(tmp_path):
    """A 20-minute file costs no more memory than a short one."""
    disco, sr = sf.read(clip("disco.00000.au"), dtype="int16")
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", sr, 1, "PCM_16") as out:
        for _ in range(40):
            out.write(disco)
    assert sf.info(path).duration > 1190
    tracemalloc.start()
    try:
        with AudioStream(str(path)) as stream:
            with TrackReader(str(path)) as reader:
                n = sum(1 for _ in reader.frames())
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.info.duration_s > 1190 and n == 41
    # Whole-file decoding would hold 1200 s * 22050 Hz * 4 B = 106 MB at least.
    assert peak < 40e6, f"peak traced memory {peak / 1e6:.1f} MB"


def test_a_window_decodes_like_the_whole_stream(tmp_path):
    """What lets workers share a long file: decoding from a seek point (after a
    one-second pre-roll) gives the continuous stream's samples to float rounding."""
    stereo, sr = sf.read(clip("example_cl.mp3"), dtype="int16")
    path = tmp_path / "classical.flac"
    sf.write(path, stereo, sr, format="FLAC")
    _, whole = decode(str(path))
    for start in (FRAME_SAMPLES, 3 * FRAME_SAMPLES):
        with AudioStream(str(path)) as stream:
            part = np.concatenate(list(stream.window(start, 2 * FRAME_SAMPLES)))
        assert len(part) == 2 * FRAME_SAMPLES
        np.testing.assert_allclose(part, whole[start : start + 2 * FRAME_SAMPLES], rtol=0, atol=1e-6)
    with AudioStream(str(path)) as stream, pytest.raises(AudioError, match="ends before"):
        list(stream.window(6 * FRAME_SAMPLES, 2 * FRAME_SAMPLES))


@pytest.mark.parametrize("name", ["disco.00000.au", "example_cl.mp3"])
def test_numpy_log_mel_equals_librosas(name):
    """melspec.py writes librosa's log-mel out in numpy (start-up); librosa stays the reference."""
    from recogenre.analysis.melspec import mel_basis

    basis = librosa.filters.mel(
        sr=SAMPLE_RATE, n_fft=512, n_mels=96, htk=False, norm="slaney", dtype=np.float32
    )
    np.testing.assert_array_equal(mel_basis(), basis)
    y = np.resize(decode(clip(name))[1], FRAME_SAMPLES).astype(np.float32)
    stft = librosa.stft(y, n_fft=512, hop_length=256, window="hann", center=True, pad_mode="reflect")
    want = librosa.power_to_db((basis @ np.abs(stft) ** 2) ** 2, ref=1.0, amin=1e-10, top_db=80)
    got = log_mel(y)
    assert got.dtype == np.float32 and got.shape == want.shape == (96, N_STEPS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)


def test_damaged_and_truncated_stereo_mp3s_are_recovered_and_flagged(tmp_path):
    """FFmpeg decodes stereo MP3s from the start: a damaged stretch is skipped and said so,
    a cut-off file is flagged as truncated, as they were when libmpg123 decoded them."""
    good = tmp_path / "good.mp3"
    stereo_mp3(good, 48_000, 192)
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20_000] = np.random.default_rng(1).bytes(20_000)
    (tmp_path / "damaged.mp3").write_bytes(bytes(data))
    (tmp_path / "truncated.mp3").write_bytes(good.read_bytes()[: len(data) // 3 + 7])
    with AudioStream(str(tmp_path / "damaged.mp3")) as stream:
        n = sum(len(b) for b in stream)
    assert stream.info.decoder == "ffmpeg" and n / SAMPLE_RATE > 55
    assert "decode errors skipped: " in stream.decode_warnings
    with AudioStream(str(tmp_path / "truncated.mp3")) as stream:
        n = sum(len(b) for b in stream)
    assert 15 < n / SAMPLE_RATE < 25 and "truncated: " in stream.decode_warnings
