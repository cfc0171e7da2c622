"""Files that lie, overflow or point elsewhere: each costs at most its own row.

Every hostile file is generated here from the real clips or from bytes
written by hand: absurd headers (sample rates, lengths), non-finite and huge
float samples, garbage in the middle of an MP3 and a FLAC, truncated MP3,
FLAC and WAV, and SDP / HLS / ffconcat playlists disguised as audio.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recogenre.analysis.catalogue_files import CatalogueEntry
from recogenre.analysis.classifier import classify_file
from recogenre.analysis.decode import AudioError, AudioStream, decode
from recogenre.analysis.features import TrackReader
from recogenre.analysis.genres import GENRES
from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.segments import plan_segments
from tests.conftest import AUDIO, ROOT, WEIGHTS, run_command, unstamped

# What libmpg123, libsndfile and FFmpeg print when left alone.
RAW_LIBRARY_LINE = re.compile(r"Note: |Warning: |libmpg123|\[src/|\[mp3|\[flac|Header missing|resync", re.I)


def wav_header(sample_rate: int, data: bytes, declared_frames: int | None = None, bits: int = 16) -> bytes:
    """A PCM WAV whose header may claim another rate or length than its data."""
    align = bits // 8
    size = len(data) if declared_frames is None else min(declared_frames * align, 2**32 - 64)
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * align, align, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", size) + data)
    )


def au_header(sample_rate: int, data: bytes) -> bytes:
    return b".snd" + struct.pack(">IIIII", 24, len(data), 3, sample_rate, 1) + data


def patch_flac_streaminfo(flac: bytes, sample_rate: int | None = None, total: int | None = None) -> bytes:
    """STREAMINFO's packed 64 bits: rate (20), channels-1 (3), bits-1 (5), total samples (36)."""
    b = bytearray(flac)
    assert b[:4] == b"fLaC" and b[4] & 0x7F == 0
    at = 8 + 10
    v = int.from_bytes(b[at : at + 8], "big")
    if sample_rate is not None:
        v = (v & ~(((1 << 20) - 1) << 44)) | (sample_rate << 44)
    if total is not None:
        v = (v & ~((1 << 36) - 1)) | total
    b[at : at + 8] = v.to_bytes(8, "big")
    return bytes(b)


def damage_middle(data: bytes, seed: int, n: int = 20_000) -> bytes:
    b = bytearray(data)
    middle = len(b) // 2
    b[middle : middle + n] = np.random.default_rng(seed).bytes(n)
    return bytes(b)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    files: dict[str, Path] = {}

    def put(name: str, data: bytes | str) -> None:
        files[name] = d / name
        if isinstance(data, str):
            files[name].write_text(data)
        else:
            files[name].write_bytes(data)

    pcm = (np.sin(np.arange(8000) / 10) * 8000).astype("<i2").tobytes()
    put("rate-1hz.wav", wav_header(1, pcm))
    put("rate-10mhz.au", au_header(10_000_000, pcm))
    put("claims-13h.wav", wav_header(44_100, pcm, declared_frames=2**31 - 64))
    y, sr = sf.read(AUDIO / "bensound-cute.mp3", dtype="int16")  # 31 s, 44.1 kHz stereo
    sf.write(d / "cute.flac", y, sr)
    flac = (d / "cute.flac").read_bytes()
    put("rate-1hz.flac", patch_flac_streaminfo(flac, sample_rate=1))
    put("claims-2e36.flac", patch_flac_streaminfo(flac[:200_000], total=2**36 - 1))
    for name, value in (("nan", np.nan), ("inf", -np.inf), ("huge", 1e9)):
        samples = np.zeros(44_100, np.float32)
        samples[30_000] = value
        sf.write(d / f"{name}.wav", samples, 44_100, subtype="FLOAT")
        files[name] = d / f"{name}.wav"
    mp3 = (AUDIO / "bensound-cute.mp3").read_bytes()
    put("garbage-middle.mp3", damage_middle(mp3, 1))
    put("garbage-middle.flac", damage_middle(flac, 2))
    put("truncated.mp3", mp3[: len(mp3) // 3])
    put("truncated.flac", flac[: len(flac) // 3])
    wav = wav_header(22_050, sf.read(AUDIO / "disco.00000.au", dtype="int16")[0].tobytes())
    put("truncated.wav", wav[: len(wav) // 2])
    # Playlists and protocol descriptions, named like audio.
    put(
        "stream.mp3",
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 47001 RTP/AVP 0\n",
    )
    put(
        "playlist.m4a",
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:9/a.ts\n#EXT-X-ENDLIST\n",
    )
    put("concat.m4a", "ffconcat version 1.0\nfile 'good.au'\nfile 'good.au'\n")
    files["good.au"] = d / "good.au"
    files["good.au"].write_bytes((AUDIO / "disco.00000.au").read_bytes())
    files["good.flac"] = d / "cute.flac"
    return files


def error_of(path: Path, limits: DecodeLimits | None = None) -> AudioError:
    with pytest.raises(AudioError) as e:
        decode(str(path), limits)
    assert "\n" not in str(e.value)
    return e.value


@pytest.mark.parametrize(
    "name", ["rate-1hz.wav", "rate-10mhz.au", "rate-1hz.flac", "claims-13h.wav", "claims-2e36.flac"]
)
def test_implausible_headers_are_corrupt_before_decoding(hostile, name):
    with pytest.raises(AudioError) as e:
        AudioStream(str(hostile[name])).__enter__()  # opening alone decides: nothing is decoded
    assert e.value.kind == "corrupt" and str(e.value).startswith("implausible header: ")
    assert ("sample rate" in str(e.value)) == ("rate" in name)


def test_segment_planning_trusts_no_header(hostile, tmp_path):
    """2^36 samples claimed: one whole segment, not millions; a cut or over-long file is not split."""
    for name in ("claims-2e36.flac", "claims-13h.wav", "truncated.wav"):
        segments = plan_segments(CatalogueEntry(str(hostile[name]), name), 0.0, 1)
        assert len(segments) == 1 and segments[0].count == 1, name
    y, sr = sf.read(AUDIO / "example_cl.mp3", dtype="int16", frames=44_100 * 70)  # two frames
    sf.write(tmp_path / "intact.flac", y, sr)
    intact = (tmp_path / "intact.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(intact[: len(intact) * 2 // 3])  # its header still says 70 s

    def count(name: str, limits: DecodeLimits | None = None) -> int:
        return len(plan_segments(CatalogueEntry(str(tmp_path / name), name), 0.0, 1, limits))

    assert count("intact.flac") == 2  # the control: a sound file is split
    assert count("cut.flac") == 1
    assert count("intact.flac", DecodeLimits(max_duration_s=60)) == 1  # the decoder's budget stops it


def test_a_damaged_file_split_between_workers_is_recovered_and_flagged(tmp_path):
    """Damage the header cannot show: segments are planned, and the one that meets it recovers."""
    y, sr = sf.read(AUDIO / "example_cl.mp3", dtype="int16", frames=44_100 * 70)
    sf.write(tmp_path / "intact.flac", y, sr)
    (tmp_path / "damaged.flac").write_bytes(damage_middle((tmp_path / "intact.flac").read_bytes(), 3))
    segments = plan_segments(CatalogueEntry(str(tmp_path / "damaged.flac"), "d"), 0.0, 1)
    assert len(segments) == 2
    warnings = []
    for seg in segments:
        with TrackReader(seg.entry.path, 0.0, (seg.first_frame, seg.n_frames, seg.start_sample)) as reader:
            assert len(list(reader.frames())) == 1
            warnings.append(reader.decode_warnings)
    assert any(w and "FFmpeg decoded the rest" in w for w in warnings), warnings


def test_the_duration_budget_stops_decoding(hostile, model):
    limits = DecodeLimits(max_duration_s=20)
    e = error_of(hostile["good.au"], limits)  # 30 s
    assert e.kind == "too_long" and "--max-duration" in str(e)
    with pytest.raises(AudioError):
        classify_file(str(hostile["good.au"]), model, limits=limits)
    # Under the limit nothing changes.
    assert (
        decode(str(hostile["good.au"]), DecodeLimits(max_duration_s=31))[1].size
        == decode(str(hostile["good.au"]))[1].size
    )


@pytest.mark.parametrize("name", ["nan", "inf", "huge"])
def test_non_finite_or_huge_samples_are_corrupt(hostile, name):
    e = error_of(hostile[name])
    assert e.kind == "corrupt" and str(e).startswith("corrupt samples: ")


def test_damaged_files_are_recovered_and_flagged_alike(hostile, model):
    results = {n: classify_file(str(hostile[n]), model) for n in hostile if "middle" in n or "truncated" in n}
    for name, r in results.items():
        assert r.vector.top_genre in GENRES and r.decode_warnings, name
    for name in ("garbage-middle.mp3", "garbage-middle.flac"):
        # Most of the 31 s survive: FFmpeg skipped the damaged stretch where libsndfile gave up.
        assert results[name].duration_s > 25 and "decode errors skipped: " in results[name].decode_warnings
    for name in ("truncated.mp3", "truncated.flac", "truncated.wav"):
        assert "truncated: " in results[name].decode_warnings and results[name].duration_s < 16, name
    assert "header says 31.3 s" in results["truncated.flac"].decode_warnings
    assert "header says 30.1 s" in results["truncated.wav"].decode_warnings
    clean = classify_file(str(hostile["good.flac"]), model)
    assert clean.decode_warnings is None and clean.to_json()["decode_warnings"] is None


SDP_PORTS = {47001, 47002}  # the SDP's RTP port and its RTCP port


def _udp_ports() -> set[int]:
    """Local UDP ports bound in this network namespace (the table is not per process)."""
    ports = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            ports.add(int(line.split()[1].rsplit(":", 1)[1], 16))
    return ports


def _sockets_opened_during(action) -> set[int]:
    """The SDP's UDP ports, if bound while ``action`` ran (polled every millisecond)."""
    before, seen, done = _udp_ports(), set(), threading.Event()

    def watch():
        while not done.is_set():
            seen.update((_udp_ports() - before) & SDP_PORTS)
            done.wait(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        action()
    except Exception:
        pass
    finally:
        done.set()
        watcher.join()
    return seen


def test_playlists_and_protocols_never_open_a_socket_or_a_file(hostile):
    import av

    # The detector works: FFmpeg left to itself binds the SDP's RTP ports.
    def plain_open():
        with open(hostile["stream.mp3"], "rb") as f:
            av.open(f, timeout=0.5).close()

    assert _sockets_opened_during(plain_open)
    http = socket.create_server(("127.0.0.1", 0))
    http.settimeout(0.2)
    port = http.getsockname()[1]
    hostile["playlist.m4a"].write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:{port}/a.ts\n"
        f"#EXTINF:10,\n{hostile['good.au']}\n#EXT-X-ENDLIST\n"
    )
    try:
        for name in ("stream.mp3", "playlist.m4a", "concat.m4a"):
            errors = []
            opened = _sockets_opened_during(lambda n=name, found=errors: found.append(error_of(hostile[n])))
            assert not opened, name
            assert errors and errors[0].kind == "not_audio", name
            with pytest.raises(TimeoutError):
                http.accept()  # nobody came to fetch the playlist's segment
        assert "sdp is not an audio container" in str(error_of(hostile["stream.mp3"]))
    finally:
        http.close()


def test_classify_cli_keeps_library_chatter_off_stderr(hostile, bad_files):
    files = [bad_files["random"], hostile["garbage-middle.mp3"], hostile["truncated.flac"], hostile["nan"]]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recogenre",
            "classify",
            "--json",
            "--weights",
            str(WEIGHTS),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    lines = unstamped(proc.stderr).splitlines()
    assert len(lines) == 2 and all(ln.startswith("recogenre: ") for ln in lines), proc.stderr[-2000:]
    assert not RAW_LIBRARY_LINE.search(proc.stderr.replace(bad_files["random"], "")), proc.stderr
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(o["path"]).name for o in objects] == ["garbage-middle.mp3", "truncated.flac"]
    assert all(o["decode_warnings"] for o in objects)


def test_one_run_over_every_hostile_file(hostile, bad_files, tmp_path, model):
    """Errors and flags as above, good files keep their results, an incremental run keeps the flags."""
    library = tmp_path / "library"
    library.mkdir()
    for path in hostile.values():
        (library / path.name).write_bytes(path.read_bytes())
    (library / "long.mp3").write_bytes((AUDIO / "example_cl.mp3").read_bytes())  # 203 s: over 0.05 h
    (library / "random.mp3").write_bytes(Path(bad_files["random"]).read_bytes())
    out = tmp_path / "out"
    cmd = run_command(library, out, "--max-duration=0.05", "--direct_num_workers=1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not RAW_LIBRARY_LINE.search(proc.stderr), proc.stderr[-3000:]
    tracks = pd.read_parquet(out / "latest" / "tracks").set_index("path")
    errors = pd.read_parquet(out / "latest" / "errors").set_index("path")
    names = {p.name for p in library.iterdir()}
    assert {Path(p).name for p in tracks.index} | {Path(p).name for p in errors.index} == names
    assert len(tracks) + len(errors) == len(names)
    kind = {Path(p).name: k for p, k in errors["error_type"].items()}
    assert kind == {
        "rate-1hz.wav": "corrupt",
        "rate-10mhz.au": "corrupt",
        "claims-13h.wav": "corrupt",
        "rate-1hz.flac": "corrupt",
        "claims-2e36.flac": "corrupt",
        "nan.wav": "corrupt",
        "inf.wav": "corrupt",
        "huge.wav": "corrupt",
        "stream.mp3": "not_audio",
        "playlist.m4a": "not_audio",
        "concat.m4a": "not_audio",
        "long.mp3": "too_long",
        "random.mp3": "not_audio",
    }
    warnings = {Path(p).name: w if pd.notna(w) else None for p, w in tracks["decode_warnings"].items()}
    assert {n for n, w in warnings.items() if w} == {
        "garbage-middle.mp3",
        "garbage-middle.flac",
        "truncated.mp3",
        "truncated.flac",
        "truncated.wav",
    }
    for name, w in warnings.items():
        if w:
            assert w == classify_file(str(library / name), model).decode_warnings
    for name in ("good.au", "cute.flac"):
        row = tracks.loc[str(library / name)]
        want = classify_file(str(library / name), model)
        np.testing.assert_allclose([row[g] for g in GENRES], want.vector.genres, rtol=0, atol=1e-6)
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["options"]["max_duration_h"] == 0.05 and "max_duration_h" not in manifest["settings"]

    # Tonight again, with the default limit: nothing changed, so nothing is decoded but the
    # files that failed; the flags come with the carried rows.
    proc = subprocess.run(run_command(library, out, "--direct_num_workers=1"), capture_output=True, text=True,
                          timeout=900, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = pd.read_parquet(out / "latest" / "tracks").set_index("path")
    assert again.loc[tracks.index, "decode_warnings"].equals(tracks["decode_warnings"])
    assert again.loc[str(library / "long.mp3"), "top_genre"] == "classical"  # retried, under 12 h


def test_the_service_app_applies_the_same_limits(hostile, model, tmp_path):
    """The WSGI application itself (no server needed to prove the decoder's part): an uploaded
    SDP is 415 and binds nothing, a too-long upload is 413, a damaged one is answered with its flag."""
    from recogenre.apps.service import GenreService

    app = GenreService(model, str(tmp_path), 10 * 2**20, limits=DecodeLimits(max_duration_s=20))

    def post(path: Path) -> tuple[int, dict]:
        body = path.read_bytes()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/predict",
            "QUERY_STRING": f"filename={path.name}",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/octet-stream",
            "wsgi.input": io.BytesIO(body),
        }
        status = []
        answer = b"".join(app(environ, lambda s, headers: status.append(s)))
        return int(status[0].split()[0]), json.loads(answer)

    answers = []
    assert not _sockets_opened_during(lambda: answers.append(post(hostile["stream.mp3"])))
    assert answers[0][0] == 415 and "not an audio container" in answers[0][1]["error"]
    status, answer = post(hostile["good.au"])  # 30 s
    assert status == 413 and "--max-duration" in answer["error"]
    status, answer = post(hostile["truncated.mp3"])  # 10 s
    assert status == 200 and answer["decode_warnings"].startswith("truncated: ")
    assert list(tmp_path.iterdir()) == []  # every upload removed


def test_captured_stderr_keeps_library_lines_and_passes_the_rest_on(capfd):
    from recogenre.analysis import native_stderr

    with native_stderr.captured() as lines:
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00 at offset 1.\nprogress: 3/9 tracks\n")
    assert lines == ["Note: Illegal Audio-MPEG-Header 0x00 at offset 1."]
    assert capfd.readouterr().err == "progress: 3/9 tracks\n"
