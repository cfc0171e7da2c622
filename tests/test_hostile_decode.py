"""Junk that libsndfile or FFmpeg would turn into "music", and valid files they would refuse.

Every file is generated here: a JPEG, random bytes and an HLS playlist named
``.au``/``.snd`` (libsndfile opens them as headerless µ-law by the name
alone), AU headers that lie, full-scale white noise, and a chained Ogg
Vorbis file made of two streams of a real clip.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest

from recogenre.transforms.decode import AudioError, AudioStream, decode
from tests.conftest import AUDIO, ROOT, WEIGHTS

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
    return subprocess.run(
        [sys.executable, "-m", "recogenre", "classify", "--json", "--weights", str(WEIGHTS)]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def test_classify_says_one_line_for_junk_named_au(junk, tmp_path):
    text = tmp_path / "text.mp3"  # an ordinary not-audio file: the exit status to match
    text.write_text("not audio at all\n" * 100)
    reference = classify_cli(text)
    assert reference.returncode != 0 and len(reference.stderr.splitlines()) == 1
    for name in JUNK_NAMED_AUDIO:
        proc = classify_cli(junk[name])
        assert proc.returncode == reference.returncode, (name, proc.stderr[-2000:])
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("recogenre: "), lines
        assert "not an audio file" in lines[0], lines
