"""The albums table end to end, and ``recogenre tag --per album`` / ``--top-k`` on real files.

A small Artist/Album library is made from the shared clips (MP3 copies, FLAC and Ogg
Vorbis written with soundfile, album tags set with mutagen; one folder untagged) and run
twice with the real weights, the second run unchanged. The albums table is checked
against a pandas recomputation from the same snapshot's tracks table; then ``tag``
writes several genres per file (read back with mutagen) and an album's genre to all of
its tracks. The tests run in file order: the tag tests change the library's tags last.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mutagen
import mutagen.id3
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from mutagen.easyid3 import EasyID3

from recogenre.analysis.genres import GENRES
from tests.conftest import AUDIO, run_in_process, stored, unstamped

SECONDS = 10  # one frame per clip: cheap to decode
EVERY_TRACK = ("--min-confidence", "0")  # 10 s excerpts are often below the default: tag every track
TAGGED = {"albumartist": "The Artist", "album": "One"}


def _excerpt(name: str, start: int = 0) -> tuple[np.ndarray, int]:
    samples, sr = sf.read(AUDIO / name, dtype="float32")
    return samples[sr * start : sr * (start + SECONDS)], sr


def _tag_vorbis(path: Path, tags: dict[str, str]) -> None:
    audio = mutagen.File(path)
    for k, v in tags.items():
        audio[k.upper()] = [v]
    audio.save()


def _mp3(target: Path, source: str, tags: dict[str, str]) -> None:
    """A shared MP3 copied with a fresh ID3v2.4 tag (the copies' own tags removed)."""
    shutil.copyfile(AUDIO / source, target)
    mutagen.id3.delete(target)
    easy = EasyID3()
    for k, v in tags.items():
        easy[k] = v
    easy.save(target, v2_version=4)


def make_library(root: Path) -> dict[str, Path]:
    one, cd2, loose = root / "The Artist" / "One", root / "The Artist" / "One" / "CD2", root / "Loose"
    for folder in (one, cd2, loose):
        folder.mkdir(parents=True)
    files = {
        "01": one / "01.mp3",
        "02": one / "02.flac",
        "03": cd2 / "03.ogg",
        "04": loose / "04.mp3",
        "05": loose / "05.ogg",
    }
    _mp3(files["01"], "bensound-cute.mp3", {**TAGGED, "title": "first"})
    sf.write(files["02"], *_excerpt("disco.00000.au"))
    _tag_vorbis(files["02"], {**TAGGED, "title": "second"})
    sf.write(files["03"], *_excerpt("metal.00000.au"), format="OGG", subtype="VORBIS")
    _tag_vorbis(files["03"], {**TAGGED, "title": "third"})
    _mp3(files["04"], "bensound-dubstep.mp3", {})  # no tags: its folder is its album
    sf.write(files["05"], *_excerpt("disco.00000.au", 15), format="OGG", subtype="VORBIS")
    return files


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("albums")
    files = make_library(root / "lib")
    out = root / "out"
    assert run_in_process(root / "lib", out, *EVERY_TRACK) == 0
    first = snapshot(out)
    assert run_in_process(root / "lib", out, *EVERY_TRACK) == 0  # nothing changed: all carried over
    return root, files, out, first, snapshot(out)


def snapshot(out: Path) -> dict[str, pd.DataFrame]:
    run = (out / "latest").resolve()
    return {name: pd.read_parquet(run / name) for name in ("tracks", "albums", "changes")}


def _tag_text(value) -> str | None:
    return None if value is None or value != value or not str(value).strip() else str(value).strip()


def expected_albums(tracks: pd.DataFrame) -> dict[tuple, dict]:
    """The albums table recomputed with pandas from the tracks table, as analysis/albums.py defines it."""
    t = tracks.copy()
    t["folder"] = t["path"].map(lambda p: p.rsplit("/", 1)[0])
    artist = [_tag_text(v) for v in t["albumartist"]] if "albumartist" in t else [None] * len(t)
    album = [_tag_text(v) for v in t["album"]] if "album" in t else [None] * len(t)
    t["key"] = [
        (a, b, None) if a and b else (None, b, f) for a, b, f in zip(artist, album, t["folder"], strict=True)
    ]
    voting = t[t[GENRES[0]].notna() & ~t["white_noise"].fillna(False).astype(bool)]
    rows = {}
    members: dict[tuple, list] = {}
    for index, key in zip(t.index, t["key"], strict=True):
        members.setdefault(key, []).append(index)
    for key, indices in members.items():  # not groupby: it turns the keys' None into NaN
        group = t.loc[indices]
        v = voting[voting.index.isin(indices)]
        w = v["analysed_s"].to_numpy()
        genres = (v[list(GENRES)].to_numpy() * w[:, None]).sum(axis=0) / w.sum()
        confidence = float((v["confidence"].to_numpy() * w).sum() / w.sum())
        top = GENRES[int(np.argmax(genres))]  # --min-confidence 0: never unknown
        rows[key] = {
            "n_tracks": len(group),
            "duration_s": group["duration_s"].sum(),
            **dict(zip(GENRES, genres, strict=True)),
            "confidence": confidence,
            "top_genre": top,
            "agreement": float((v["top_genre"] == top).mean()),
            "folder": group["folder"].min(),
        }
    return rows  # not a DataFrame: pandas would turn the keys into a MultiIndex, their None into NaN


def _keyed(albums: pd.DataFrame) -> dict[tuple, dict]:
    """The albums table's rows by their key (albumartist, album, folder when the tags do not decide)."""
    return {
        (a, b, None if a else row["folder"]): row
        for row in albums.to_dict("records")
        for a, b in [(_tag_text(row["albumartist"]), _tag_text(row["album"]))]
    }


def test_the_albums_table_agrees_with_its_tracks(library):
    _root, files, _out, first, _ = library
    tracks, albums = first["tracks"], _keyed(first["albums"])
    want = expected_albums(tracks)
    assert sorted(albums, key=str) == sorted(want, key=str)
    assert sum(a["n_tracks"] for a in albums.values()) == len(tracks) == len(files)
    for key, row in want.items():
        got = albums[key]
        assert got["n_tracks"] == row["n_tracks"] and got["top_genre"] == row["top_genre"]
        assert got["folder"] == row["folder"]
        for column in ("duration_s", "confidence", "agreement", *GENRES):
            assert abs(got[column] - row[column]) <= 1e-9, (key, column)
    assert first["albums"]["run_id"].nunique() == 1 and first["albums"]["album_id"].is_unique


def test_untagged_tracks_make_their_folder_an_album(library):
    _root, files, _out, first, _ = library
    albums = {row["folder"]: row for row in first["albums"].to_dict("records")}
    loose = albums[stored(files["04"]).rsplit("/", 1)[0]]
    assert loose["n_tracks"] == 2 and pd.isna(loose["album"]) and pd.isna(loose["albumartist"])


def test_an_unchanged_second_run_carries_every_track_into_its_albums(library):
    _root, files, out, first, second = library
    assert set(second["changes"]["change"]) == {"unchanged"}
    assert second["albums"]["n_tracks"].sum() == len(second["tracks"]) == len(files)
    before = first["albums"].drop(columns="run_id").sort_values("album_id").reset_index(drop=True)
    after = second["albums"].sort_values("album_id").reset_index(drop=True)
    assert set(after["run_id"]) == {(out / "latest").resolve().name}
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["albums"] == len(after)
    pd.testing.assert_frame_equal(before, after.drop(columns="run_id"), check_exact=False, atol=1e-9, rtol=0)
    assert expected_albums(second["tracks"]) == expected_albums(first["tracks"])


def tag(capsys, out: Path, *args: str) -> tuple[int, list[str], str]:
    from recogenre.cli import main

    capsys.readouterr()
    try:
        code = main(["tag", str(out), *args])
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), unstamped(captured.err)


def top_k(row, k: int, min_share: float) -> list[str]:
    """The genres ``--top-k k --min-share s`` writes for a track's or album's row, best first."""
    from recogenre.apps.tag_formats import TAG_VALUES  # the spelling written into files

    ranked = sorted(GENRES, key=lambda g: -row[g])
    chosen = [row["top_genre"]] + [g for g in ranked if g != row["top_genre"] and row[g] >= min_share]
    return [TAG_VALUES[g] for g in chosen[:k]]


def genres_in(path: Path) -> list[str]:
    """The genre values mutagen reads from the file: ID3 TCON's, or the repeated GENRE comments."""
    audio = mutagen.File(path)
    if path.suffix == ".mp3":
        return [v for frame in audio.tags.getall("TCON") for v in frame.text]
    return list(audio.tags.get("GENRE", []))


def test_top_k_writes_several_values_and_the_dry_run_changes_nothing(library, capsys):
    root, files, out, _, second = library
    before = {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in files.items()}
    tracks = second["tracks"].set_index("path")
    code, lines, err = tag(capsys, out, "--top-k", "3", "--min-share", "0.1")
    assert code == 0 and err == ""
    assert {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in files.items()} == before
    listing = dict(line.split(": ", 1) for line in lines if line.startswith(str(root)))
    for path in files.values():
        assert listing[stored(path)] == "(none) -> " + "; ".join(top_k(tracks.loc[stored(path)], 3, 0.1))

    code, _lines, err = tag(capsys, out, "--top-k", "3", "--min-share", "0.1", "--write")
    assert code == 0 and err == ""
    several = 0
    for k, path in files.items():
        want = top_k(tracks.loc[stored(path)], 3, 0.1)
        assert genres_in(path) == want, k
        several += len(want) > 1
    assert several >= 2  # the excerpts' vectors are spread: the test writes multiple values
    assert any(len(genres_in(p)) > 1 for p in files.values() if p.suffix == ".mp3")  # ID3 multi-values
    assert any(len(genres_in(p)) > 1 for p in files.values() if p.suffix != ".mp3")  # Vorbis comments


def test_per_album_writes_the_albums_genre_to_each_of_its_tracks(library, capsys):
    from recogenre.analysis.albums import album_key

    root, files, out, _, second = library
    tracks = second["tracks"].set_index("path", drop=False)
    albums = second["albums"].set_index("album_id")
    before = {k: p.read_bytes() for k, p in files.items()}
    code, lines, err = tag(capsys, out, "--per", "album", "--top-k", "2")
    assert code == 0 and err == "" and {k: p.read_bytes() for k, p in files.items()} == before  # a dry run
    # genres are there from the test before: without --overwrite they are kept
    listed = [line for line in lines if line.startswith(str(root))]
    assert len(listed) == len(files)
    assert all(line.endswith("(already)") or "(kept; --overwrite replaces it with" in line for line in listed)

    code, lines, err = tag(capsys, out, "--per", "album", "--top-k", "2", "--overwrite", "--write")
    assert code == 0 and err == ""
    by_album: dict[str, set] = {}
    for path in files.values():
        album = albums.loc[album_key(tracks.loc[stored(path)].to_dict()).album_id]
        assert genres_in(path) == top_k(album, 2, 0.1)
        by_album.setdefault(album.name, set()).add(tuple(genres_in(path)))
    assert all(len(written) == 1 for written in by_album.values())
    assert max(albums.loc[a, "n_tracks"] for a in by_album) >= 2  # an album of several tracks got one genre


def test_several_genres_in_id3v23_mp4_and_an_ape_tag_read_back_as_stored(tmp_path):
    """The formats' own multiple values, written by tag_formats and read back with mutagen.

    ID3v2.3 (kept as v2.3) has none: the genres are one value joined by "/". MP4 holds
    several values in one ©gen atom; an MP3's APEv2 Genre (updated where it is) holds
    several NUL-separated values.
    """
    import av
    from mutagen.apev2 import APEv2

    from recogenre.apps import tag_formats

    v23 = tmp_path / "v23.mp3"
    shutil.copyfile(AUDIO / "bensound-actionable.mp3", v23)  # ID3v2.3 with genre "Abstract"
    assert mutagen.File(v23).tags.version[:2] == (2, 3)
    m4a = tmp_path / "a.m4a"
    samples, sr = _excerpt("disco.00000.au")
    with av.open(str(m4a), "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=sr,
                                      frame_size=stream.codec_context.frame_size)  # fmt: skip
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = sr
        for f in resampler.resample(frame) + resampler.resample(None):
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    ape = tmp_path / "ape.mp3"
    _mp3(ape, "bensound-cute.mp3", {})
    mutagen.id3.delete(ape)
    tag = APEv2()
    tag["Genre"] = "Ambient"
    tag.save(ape)

    values = ["Classical", "Pop", "Jazz"]
    for path, fmt in ((v23, tag_formats.MP3), (m4a, tag_formats.MP4), (ape, tag_formats.MP3)):
        tags = tag_formats.open_tags(str(path), fmt)
        keys = tags.set(tag_formats.GENRE_FIELD, values)
        expected = tags.stored(tag_formats.GENRE_FIELD, values)
        tags.save()
        assert tag_formats.open_tags(str(path), fmt).found(tag_formats.GENRE_FIELD) == expected
        assert list(expected) == keys
    id3 = mutagen.File(v23).tags
    assert id3.version[:2] == (2, 3) and [f.text for f in id3.getall("TCON")] == [["Classical/Pop/Jazz"]]
    assert mutagen.File(m4a).tags["\xa9gen"] == values
    assert list(APEv2(ape)["Genre"]) == values
