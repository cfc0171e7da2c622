"""Junk that libsndfile or FFmpeg would turn into "music", and valid files they would refuse.

Every file is generated here: a JPEG, random bytes and an HLS playlist named
``.au``/``.snd`` (libsndfile opens them as headerless µ-law by the name
alone), AU headers that lie, full-scale white noise, and a chained Ogg
Vorbis file made of two streams of a real clip.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.classifier import classify_file, classify_samples
from recogenre.analysis.decode import AudioError, AudioStream, decode
from recogenre.analysis.genres import GENRES
from recogenre.analysis.noise_check import WHITE_NOISE, WhiteNoiseCheck
from tests.conftest import AUDIO, ROOT, WEIGHTS, classify_json, run_command, unstamped

REAL_AU = ("die.au", "disco.00000.au", "metal.00000.au")


def jpeg_bytes() -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    image = np.random.default_rng(3).random((96, 128, 3))
    plt.imsave(buf, image, format="jpeg")
    assert buf.getvalue()[:3] == b"\xff\xd8\xff"
    return buf.getvalue()


def hls_playlist() -> bytes:
    segments = "".join(f"#EXTINF:10.0,\nsegment{i:03d}.ts\n" for i in range(400))
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n{segments}#EXT-X-ENDLIST\n".encode()


def au_file(offset: int, encoding: int, data: bytes, rate: int = 8000, channels: int = 1) -> bytes:
    return b".snd" + struct.pack(">5I", offset, len(data), encoding, rate, channels) + data


@pytest.fixture(scope="module")
def junk(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("junk")
    rng = np.random.default_rng(18)
    pcm = rng.bytes(100_000)
    files = {
        "jpeg.au": jpeg_bytes(),
        "random.snd": rng.bytes(200_000),
        "hls.au": hls_playlist(),
        "offset-0.au": au_file(0, 3, pcm),  # libsndfile plays the header as audio
        "offset-8.au": au_file(8, 3, pcm),
        "encoding-99.au": au_file(24, 99, pcm),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = d / name
        paths[name].write_bytes(data)
    return paths


JUNK_NAMED_AUDIO = ("jpeg.au", "random.snd", "hls.au")


@pytest.mark.parametrize("name", [*JUNK_NAMED_AUDIO, "offset-0.au", "offset-8.au", "encoding-99.au"])
def test_junk_named_au_is_not_audio(junk, name):
    with pytest.raises(AudioError) as e, AudioStream(str(junk[name])) as stream:
        list(stream)
    assert e.value.kind == "not_audio", str(e.value)
    assert str(e.value).startswith("not an audio file (")


@pytest.mark.parametrize("name", REAL_AU)
def test_real_au_clips_decode_as_before(name):
    """The header check lets real AU files through, decoded as librosa.load decodes them."""
    info, y = decode(str(AUDIO / name))
    assert info.decoder == "libsndfile" and info.codec.startswith("au/")
    want, _ = librosa.load(str(AUDIO / name), sr=12000)
    assert len(y) == len(want)
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-6)


def classify_cli(*paths: Path) -> subprocess.CompletedProcess:
    return classify_json(*paths)


def test_classify_says_one_line_for_junk_named_au(junk, tmp_path):
    text = tmp_path / "text.mp3"  # an ordinary not-audio file: the exit status to match
    text.write_text("not audio at all\n" * 100)
    reference = classify_cli(text)
    assert reference.returncode != 0 and len(reference.stderr.splitlines()) == 1
    for name in JUNK_NAMED_AUDIO:
        proc = classify_cli(junk[name])
        assert proc.returncode == reference.returncode, (name, proc.stderr[-2000:])
        assert proc.stdout == ""
        lines = unstamped(proc.stderr).splitlines()
        assert len(lines) == 1 and lines[0].startswith("recogenre: "), lines
        assert "not an audio file" in lines[0], lines


# ---- white noise: random data that decodes ------------------------------------------------------


@pytest.fixture(scope="module")
def noise(tmp_path_factory) -> dict[str, Path]:
    """Random data in real audio containers (valid headers), and generated full-scale white noise."""
    d = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(81)
    files = {
        "random-ulaw.au": au_file(24, 1, rng.bytes(200_000)),  # 25 s of random µ-law at 8 kHz
        "random-pcm16.au": au_file(24, 3, rng.bytes(1_200_000), rate=44_100, channels=2),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = d / name
        paths[name].write_bytes(data)
    paths["uniform.flac"] = d / "uniform.flac"
    sf.write(paths["uniform.flac"], rng.uniform(-1, 1, 44_100 * 20).astype(np.float32), 44_100)
    paths["gaussian.wav"] = d / "gaussian.wav"
    sf.write(paths["gaussian.wav"], np.clip(rng.normal(0, 0.3, (22_050 * 20, 2)), -1, 1), 22_050)
    return paths


def decoded(path: Path) -> AudioStream:
    with AudioStream(str(path)) as stream:
        for _ in stream:
            pass
    return stream


CLIPS = sorted(p.name for p in AUDIO.iterdir() if p.suffix in (".au", ".mp3", ".3gp"))


@pytest.mark.parametrize("name", CLIPS)
def test_real_clips_are_not_white_noise(name):
    stream = decoded(AUDIO / name)
    assert not stream.white_noise and stream.decode_warnings is None, stream.decode_warnings


@pytest.mark.parametrize("name", ["random-ulaw.au", "random-pcm16.au", "uniform.flac", "gaussian.wav"])
def test_random_data_and_white_noise_are_flagged(noise, name):
    stream = decoded(noise[name])
    assert stream.white_noise
    assert stream.decode_warnings.startswith(WHITE_NOISE + ": spectral flatness ")


def test_the_noise_check_does_not_depend_on_block_sizes():
    """FFmpeg hands over 1,152-sample packets, libsndfile 10 s blocks: the same sums either way."""
    y, sr = sf.read(AUDIO / "metal.00000.au", dtype="float32")
    whole, packets = WhiteNoiseCheck(sr), WhiteNoiseCheck(sr)
    whole.add(y)
    for i in range(0, len(y), 1152):
        packets.add(y[i : i + 1152])
    assert whole.flatness() == pytest.approx(packets.flatness(), rel=1e-6)
    assert whole.rms() == pytest.approx(packets.rms(), rel=1e-5)


def test_white_noise_is_unknown_whatever_its_confidence(noise, model):
    result = classify_file(str(noise["random-ulaw.au"]), model, min_confidence=0.0)
    assert result.vector.confidence > 0.0 and result.vector.top_genre in GENRES  # the model still guesses
    assert result.top_genre == UNKNOWN
    answer = result.to_json()
    assert answer["top_genre"] == UNKNOWN and answer["white_noise"] is True
    assert answer["decode_warnings"].startswith(WHITE_NOISE)
    assert "white noise: unknown" in str(result)
    clean = classify_file(str(AUDIO / "metal.00000.au"), model, min_confidence=0.0)
    assert clean.top_genre == "metal" and clean.to_json()["white_noise"] is False


def test_an_array_of_white_noise_is_flagged_as_its_file_is(noise, model):
    y, sr = sf.read(noise["gaussian.wav"], dtype="float32")
    result = classify_samples(y, sr, model, min_confidence=0.0)
    assert result.white_noise and result.top_genre == UNKNOWN
    assert result.decode_warnings == classify_file(str(noise["gaussian.wav"]), model).decode_warnings


# ---- chained Ogg Vorbis --------------------------------------------------------------------------


def ogg_serial(data: bytes) -> int:
    assert data[:4] == b"OggS"
    return struct.unpack("<I", data[14:18])[0]


@pytest.fixture(scope="module")
def chained_ogg(tmp_path_factory) -> tuple[Path, float]:
    """Two Ogg Vorbis streams (10 s and 15 s of a real clip) one after the other: a valid chained file."""
    d = tmp_path_factory.mktemp("ogg")
    y, sr = sf.read(AUDIO / "metal.00000.au", dtype="float32")
    parts = []
    for i, (start, end) in enumerate([(0, 10 * sr), (10 * sr, 25 * sr)]):
        part = d / f"part{i}.ogg"
        sf.write(part, y[start:end], sr, format="OGG", subtype="VORBIS")
        parts.append(part.read_bytes())
    assert ogg_serial(parts[0]) != ogg_serial(parts[1])  # libsndfile picks a random serial per stream
    path = d / "chained.ogg"
    path.write_bytes(b"".join(parts))
    with sf.SoundFile(path) as f:
        assert f.frames == 2**63 - 1  # libsndfile cannot tell the length of a chained file
    return path, 25.0


def test_chained_ogg_decodes_whole(chained_ogg, model):
    path, seconds = chained_ogg
    with AudioStream(str(path)) as stream:
        n = sum(len(block) for block in stream)
    assert stream.info.decoder == "ffmpeg" and stream.info.codec == "vorbis"
    assert n / 12_000 == pytest.approx(seconds, abs=0.1)
    assert stream.decode_warnings is None
    result = classify_file(str(path), model)
    assert result.duration_s == pytest.approx(seconds, abs=0.1) and result.vector.top_genre == "metal"


# ---- another container named .mp3 ----------------------------------------------------------------


def aac_in_mp4(source: Path, target: Path) -> None:
    """``source`` encoded as AAC in an MP4 (M4A) container by FFmpeg (PyAV)."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44_100)
        stream.layout = "stereo"
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44_100)
        for frame in inp.decode(audio=0):
            for chunk in resampler.resample(frame):
                for packet in stream.encode(chunk):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_an_m4a_named_mp3_decodes_as_the_m4a_it_is(tmp_path, model):
    """libmpg123 goes by the name ``.mp3``, finds a false frame sync in the AAC data and
    decodes 0.02 s of "silent" Layer I audio: the file must decode as what its bytes are."""
    m4a = tmp_path / "song.m4a"
    aac_in_mp4(AUDIO / "bensound-dubstep.mp3", m4a)
    misnamed = tmp_path / "really_m4a.mp3"
    misnamed.write_bytes(m4a.read_bytes())
    want_info, want = decode(str(m4a))
    got_info, got = decode(str(misnamed))
    assert got_info.decoder == "ffmpeg" and got_info.codec == want_info.codec == "aac"
    assert len(got) / 12_000 == pytest.approx(len(want) / 12_000, abs=0.1) and len(want) > 30 * 12_000
    result = classify_file(str(misnamed), model)
    assert result.vector.top_genre == classify_file(str(m4a), model).vector.top_genre != "silent"


# ---- one run over all of it ----------------------------------------------------------------------


def test_one_run_over_junk_noise_and_chained_ogg(junk, noise, chained_ogg, tmp_path):
    """Junk named .au is a not_audio error row, white noise an unknown track flagged as such,
    a chained Ogg file a track of its whole length, a real clip unchanged."""
    library = tmp_path / "library"
    library.mkdir()
    sources = [*(junk[n] for n in JUNK_NAMED_AUDIO), noise["random-ulaw.au"], noise["uniform.flac"]]
    for path in [*sources, chained_ogg[0], AUDIO / "die.au"]:
        (library / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    proc = subprocess.run(
        run_command(library, out, "--direct_num_workers=1", "--max-error-rate=1"),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    tracks = pd.read_parquet(out / "latest" / "tracks")
    errors = pd.read_parquet(out / "latest" / "errors")
    tracks.index = [Path(p).name for p in tracks["path"]]
    errors.index = [Path(p).name for p in errors["path"]]
    assert dict(errors["error_type"]) == dict.fromkeys(JUNK_NAMED_AUDIO, "not_audio")
    assert set(errors["stage"]) == {"decode"}
    assert sorted(tracks.index) == sorted(["random-ulaw.au", "uniform.flac", "chained.ogg", "die.au"])
    for name in ("random-ulaw.au", "uniform.flac"):
        assert tracks.loc[name, "white_noise"] and tracks.loc[name, "top_genre"] == UNKNOWN
        assert tracks.loc[name, "decode_warnings"].startswith(WHITE_NOISE)
    assert tracks.loc["chained.ogg", "duration_s"] == pytest.approx(chained_ogg[1], abs=0.1)
    assert tracks.loc["chained.ogg", "top_genre"] == "metal" and not tracks.loc["chained.ogg", "white_noise"]
    assert not tracks.loc["die.au", "white_noise"] and pd.isna(tracks.loc["die.au", "decode_warnings"])
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["errors_by_type"] == {"not_audio": 3}


# ---- the API's integer-scale samples -------------------------------------------------------------


@pytest.fixture(scope="module")
def metal16() -> tuple[np.ndarray, int]:
    y16, sr = sf.read(AUDIO / "metal.00000.au", dtype="int16")
    assert y16.dtype == np.int16 and np.abs(y16).max() > 10_000
    return y16, sr


def test_integer_pcm_is_scaled_by_its_dtype(metal16):
    import recogenre

    y16, sr = metal16
    as_float = recogenre.classify_array(y16 / 32768.0, sr, weights=WEIGHTS)
    assert as_float.vector.top_genre == "metal"
    for given in (y16, y16.astype(np.int32) << 16):
        result = recogenre.classify_array(given, sr, weights=WEIGHTS)
        assert result.vector.top_genre == "metal" and result.top_genre == "metal"
        np.testing.assert_allclose(result.vector.genres, as_float.vector.genres, rtol=0, atol=1e-5)


def test_samples_at_an_unknown_or_wrong_scale_are_refused(metal16):
    import recogenre

    y16, sr = metal16
    with pytest.raises(recogenre.SampleScaleError, match=r"int64 samples .*int16 or int32.*\[-1, 1\]"):
        recogenre.classify_array(np.array(y16.tolist()), sr, weights=WEIGHTS)  # a list of ints: int64
    with pytest.raises(recogenre.SampleScaleError, match=r"beyond \+-64.*divide by 32768") as e:
        recogenre.classify_array(y16.astype(float), sr, weights=WEIGHTS)
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)
    loud = recogenre.classify_array(y16 / 32768.0 * 4, sr, weights=WEIGHTS)  # +12 dB beyond full scale
    assert loud.vector.top_genre in GENRES  # a loud master is still audio
