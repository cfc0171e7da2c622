"""recogenre tag: the field the user names is the field written and read (a custom field called
"genre" is not the genre), and a genre already in an MP3's APEv2 tag counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import mutagen
import soundfile as sf
from mutagen.id3 import ID3, TCON
from mutagen.mp4 import MP4

from tests.conftest import AUDIO, run_in_process
from tests.test_tagging import EVERY_TRACK, SECONDS, _encode, sha256, tag, tracks


def _clip() -> tuple:
    samples, sr = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    return samples[: sr * SECONDS], sr


def _genres(out: Path, files: dict[str, Path]) -> dict[str, str]:
    from recogenre.apps.tag_formats import TAG_VALUES

    return {k: TAG_VALUES[tracks(out).loc[str(p), "top_genre"]] for k, p in files.items()}


def test_a_custom_field_named_genre_leaves_the_real_genre(tmp_path, capsys):
    """`--field TXXX:genre` writes TXXX:genre (MP3) and ----:com.apple.iTunes:genre (MP4), keeps
    the user's TCON / ©gen "Rock" even with --overwrite, and reads "already there" from the same
    field; in FLAC a comment named genre is GENRE itself, so the spec is refused before any file
    is touched; a custom field in FLAC leaves GENRE as it was."""
    lib, out = tmp_path / "lib", tmp_path / "out"
    lib.mkdir()
    samples, sr = _clip()
    mp3, m4a, flac = lib / "e.mp3", lib / "d.m4a", lib / "a.flac"
    shutil.copyfile(AUDIO / "bensound-cute.mp3", mp3)
    id3 = ID3(mp3)
    id3.add(TCON(encoding=3, text=["Rock"]))
    id3.save()
    _encode(samples, sr, m4a, "aac", sr, "ipod")
    tags = MP4(m4a)
    tags["\xa9gen"] = ["Rock"]
    tags.save()
    assert run_in_process(lib, out, *EVERY_TRACK) == 0
    genre = _genres(out, {"mp3": mp3, "m4a": m4a})

    code, lines, err = tag(capsys, out, "--field", "TXXX:genre", "--write", "--overwrite")
    assert code == 0, err
    assert f"{mp3}: (none) -> {genre['mp3']}" in lines
    assert f"{m4a}: (none) -> {genre['m4a']}" in lines
    assert ID3(mp3).getall("TCON")[0].text == ["Rock"]
    assert ID3(mp3).getall("TXXX:genre")[0].text == [genre["mp3"]]
    assert MP4(m4a)["\xa9gen"] == ["Rock"]
    assert [bytes(v).decode() for v in MP4(m4a)["----:com.apple.iTunes:genre"]] == [genre["m4a"]]
    assert lines[-1].startswith("fields written: ----:com.apple.iTunes:genre, TXXX:genre; ")
    code, lines, err = tag(capsys, out, "--field", "TXXX:genre")  # read back from the same field
    assert f"{mp3}: {genre['mp3']} (already)" in lines and f"{m4a}: {genre['m4a']} (already)" in lines

    # FLAC: a comment named "genre" is GENRE, the real genre. Refused with one line, exit 2,
    # no file read or written, even in a dry run.
    sf.write(flac, samples, sr)
    vorbis = mutagen.File(flac)
    vorbis["GENRE"] = ["Rock"]
    vorbis.save()
    assert run_in_process(lib, out, *EVERY_TRACK) == 0
    before = {p: sha256(p) for p in (mp3, m4a, flac)}
    for args in (["--write", "--overwrite"], []):
        code, lines, err = tag(capsys, out, "--field", "TXXX:genre", *args)
        assert code == 2 and lines == [] and len(err.splitlines()) == 1, err
        assert "--field 'TXXX:genre': in FLAC, Ogg Vorbis and Opus files a custom field named 'genre'" in err
        assert "(GENRE)" in err and "1 such file" in err
        assert {p: sha256(p) for p in before} == before
    code, lines, err = tag(capsys, out, "--field", "TXXX:Recogenre_Genre", "--write")
    assert code == 0, err
    flac_genre = _genres(out, {"flac": flac})["flac"]
    assert f"{flac}: (none) -> {flac_genre}" in lines
    assert mutagen.File(flac)["GENRE"] == ["Rock"]
    assert mutagen.File(flac)["RECOGENRE_GENRE"] == [flac_genre]
    assert ID3(mp3).getall("TCON")[0].text == ["Rock"]


def test_an_id3_frame_other_than_the_genre_is_refused(tmp_path, capsys):
    """A bare ID3 frame ID is the frame the user means, not a custom field of that name."""
    for spec in ("TIT2", "COMM", "TXXX", "TCO"):
        code, lines, err = tag(capsys, tmp_path, "--field", spec)
        assert code == 2 and lines == [] and len(err.splitlines()) == 1, err
        assert f"--field {spec!r}: {spec} is an ID3 frame other than the genre" in err
