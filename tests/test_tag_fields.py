"""recogenre tag: the field the user names is the field written and read (a custom field called
"genre" is not the genre), and a genre already in an MP3's APEv2 tag counts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import mutagen
import soundfile as sf
from mutagen.id3 import ID3, TCON, MakeID3v1
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


def _with_ape_genre(path: Path, genre: str | None, id3v1: bool = False) -> None:
    """Gives an MP3 an APEv2 tag (with a Genre item if asked), then an ID3v1 tag after it, as
    foobar2000 and MP3Gain leave them."""
    from mutagen.apev2 import APEv2

    ape = APEv2()
    ape["Title"] = "Own title"
    if genre is not None:
        ape["Genre"] = genre
    ape.save(path)
    if id3v1:
        with open(path, "ab") as f:
            f.write(MakeID3v1({"TIT2": mutagen.id3.TIT2(encoding=0, text=["v1 title"])}))


def test_an_apev2_genre_counts_and_is_updated_where_it_is(tmp_path, capsys):
    """A genre in an MP3's APEv2 tag is not "(none)": kept by default (never a second genre in
    ID3 beside it), replaced in the APEv2 tag with --overwrite; the ID3v1 tag after it stays the
    file's last bytes, the audio packets unchanged; a file with both updates both."""
    from mutagen.apev2 import APEv2

    from tests.test_tagging import assert_same_audio, audio_evidence

    lib, out = tmp_path / "lib", tmp_path / "out"
    lib.mkdir()
    ape_only, both, no_genre = lib / "a.mp3", lib / "b.mp3", lib / "c.mp3"
    for p in (ape_only, both, no_genre):
        shutil.copyfile(AUDIO / "bensound-cute.mp3", p)  # ID3v2.4 without a genre, no ID3v1
    _with_ape_genre(ape_only, "Rock", id3v1=True)
    id3 = ID3(both)
    id3.add(TCON(encoding=3, text=["Pop"]))
    id3.save()
    _with_ape_genre(both, "Rock")
    _with_ape_genre(no_genre, None)
    v1 = ape_only.read_bytes()[-128:]
    assert v1[:3] == b"TAG" and list(APEv2(ape_only)["Genre"]) == ["Rock"]
    assert run_in_process(lib, out, *EVERY_TRACK) == 0
    genre = _genres(out, {"a": ape_only, "b": both, "c": no_genre})

    code, lines, err = tag(capsys, out, "--write")
    assert code == 0, err
    assert f"{ape_only}: Rock in APEv2 Genre (kept; --overwrite replaces it with {genre['a']})" in lines
    assert f"{both}: Pop in TCON, Rock in APEv2 Genre (kept; --overwrite replaces it with {genre['b']})" in (
        lines
    )
    assert f"{no_genre}: (none) -> {genre['c']}" in lines
    assert ID3(ape_only).getall("TCON") == []  # no second genre beside the APEv2 one
    assert ID3(no_genre).getall("TCON")[0].text == [genre["c"]]
    assert list(APEv2(no_genre).keys()) == ["Title"]

    evidence = {p: audio_evidence(p) for p in (ape_only, both)}
    code, lines, err = tag(capsys, out, "--write", "--overwrite")
    assert code == 0, err
    assert f"{ape_only}: Rock in APEv2 Genre -> {genre['a']}" in lines
    assert f"{both}: Pop in TCON, Rock in APEv2 Genre -> {genre['b']}" in lines
    assert lines[-1].startswith("fields written: APEv2 Genre, TCON; ")
    ape = APEv2(ape_only)
    assert list(ape["Genre"]) == [genre["a"]] and list(ape["Title"]) == ["Own title"]
    assert ID3(ape_only).getall("TCON") == []
    assert ape_only.read_bytes()[-128:] == v1  # the ID3v1 tag still last, as it was
    assert ID3(both).getall("TCON")[0].text == [genre["b"]] and list(APEv2(both)["Genre"]) == [genre["b"]]
    for p in (ape_only, both):
        assert_same_audio(evidence[p], audio_evidence(p))
    assert not [p for p in lib.iterdir() if p.name.startswith(".")]  # no temporary file left
    code, lines, err = tag(capsys, out)
    assert f"{ape_only}: {genre['a']} in APEv2 Genre (already)" in lines
    ledger = {
        e["path"]: e["field"] for e in map(json.loads, (out / "tag-writes.jsonl").read_text().splitlines())
    }
    assert ledger[str(ape_only)] == "APEv2 Genre" and ledger[str(both)] == "TCON, APEv2 Genre"

    # The nightly run recognises these writes from the ledger: nothing decoded again.
    assert run_in_process(lib, out, *EVERY_TRACK) == 0
    assert json.loads((out / "latest" / "manifest.json").read_text())["counts"]["decoded"] == 0


def test_a_track_now_a_folder_or_unreadable_is_skipped_and_the_rest_written(tmp_path):
    """Files the snapshot lists that are now a directory, a file this user may not read, or in a
    folder this user may not enter: each skipped with its reason (exit 0), the others written.
    Run without root's permission override (setpriv), as the user a library belongs to would."""
    from tests.test_pipeline import without_dac_override
    from tests.test_tagging import make_library

    prefix = without_dac_override()
    lib, out = tmp_path / "lib", tmp_path / "out"
    files = make_library(lib)
    for k in ("ogg", "opus", "au", "mp3v23"):
        files.pop(k).unlink()
    (lib / "sub").mkdir()
    hidden = lib / "sub" / "h.mp3"
    files.pop("mp3bare").rename(hidden)
    assert run_in_process(lib, out, *EVERY_TRACK) == 0
    files["flac"].unlink()
    files["flac"].mkdir()
    files["m4a"].chmod(0o200)  # writable, not readable
    m4a = sha256(files["m4a"])
    (lib / "sub").chmod(0o600)  # cannot be entered
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "recogenre", "tag", str(out), "--write"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        (lib / "sub").chmod(0o755)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"{files['flac']}: skipped (is a directory, not an audio file)" in lines
    unreadable = "skipped (unreadable: its permissions do not let this user read it)"
    assert f"{files['m4a']}: {unreadable}" in lines and f"{hidden}: {unreadable}" in lines
    assert [ln for ln in lines if ln.startswith(f"{files['mp3']}: (none) -> ")]
    assert "tag: 1 written" in lines[-2] and "3 skipped" in lines[-2] and "0 failed" in lines[-2]
    assert ID3(files["mp3"]).getall("TCON") and sha256(files["m4a"]) == m4a
