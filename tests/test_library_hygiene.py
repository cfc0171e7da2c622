"""What a library manager expects of a run (issue 22): the files' own tags in ``tracks``,
junk left out, and a broken file not decoded again every night while it stays the same.

The library is made here from the shared clips: tagged with mutagen (ID3 in an MP3,
Vorbis comments in a FLAC), one MP3 whose ID3 tag is garbage, the junk every real
library collects (an AppleDouble ``._`` file, a ``.Trash-1000`` folder, a Synology
``@eaDir`` folder, ``.DS_Store``) and a broken ``.mp3`` that is not audio. Expected
tags come from mutagen reading the files, expected paths from the product's
``canonical_file``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import apache_beam as beam
import mutagen
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that, equal_to
from stage_fakes import write_sine

from recogenre.analysis import schemas
from recogenre.analysis.catalogue_files import list_entries, list_inputs, track_id_for
from recogenre.analysis.exclusions import DEFAULT_EXCLUDES, Exclusions
from recogenre.analysis.file_tags import NO_TAGS, read_tags
from recogenre.transforms.incremental import PlanChanges
from tests.conftest import AUDIO, run_in_process, stored

TAGGED = {  # easy keys, as a tagger writes them
    "artist": ["Artist A"],
    "album": ["Album X"],
    "albumartist": ["Artist A"],
    "title": ["Dubstep"],
    "tracknumber": ["3/12"],
    "date": ["2019-05-01"],
    "genre": ["Electronic", "Dubstep"],  # multi-valued: two TCON values
}
VORBIS = {"ARTIST": "Artist B", "ALBUMARTIST": "Various", "TITLE": "Tone", "TRACKNUMBER": "7", "DATE": "1999"}
# An ID3v2.4 header that says an extended header follows, then a size that cannot be one:
# mutagen refuses the tag, FFmpeg skips it by its length and decodes the MP3 behind it.
GARBAGE_ID3 = b"ID3\x04\x00\x40\x00\x00\x02\x00" + b"\xff\xff\xff\xff" + bytes(252)
APPLEDOUBLE = (
    b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + bytes(4000)
)  # resource fork, not audio


def tag_mp3(path: Path) -> Path:
    audio = mutagen.File(path, easy=True)
    for key, values in TAGGED.items():
        audio[key] = values
    audio.save()
    return path


def make_library(root: Path) -> dict[str, Path]:
    """The music (four files, one broken) and the junk around it."""
    album = root / "Artist A" / "Album X"
    album.mkdir(parents=True)
    files = {
        "tagged": tag_mp3(Path(shutil.copyfile(AUDIO / "bensound-dubstep.mp3", album / "03 Dubstep.mp3")))
    }
    (root / "Artist B").mkdir()
    flac = root / "Artist B" / "tone.flac"
    sf.write(flac, sf.read(write_sine(root / "tone.wav", 3.0))[0], 22_050, subtype="PCM_16")
    (root / "tone.wav").unlink()
    vorbis = mutagen.File(flac)
    vorbis.update(VORBIS)
    vorbis["GENRE"] = ["Ambient", "Drone"]  # a Vorbis comment repeated
    vorbis.save()
    files["vorbis"] = flac
    files["garbage_tag"] = root / "Artist B" / "garbage tag.mp3"
    files["garbage_tag"].write_bytes(GARBAGE_ID3 + (AUDIO / "bensound-cute.mp3").read_bytes())
    files["untagged"] = Path(shutil.copyfile(AUDIO / "die.au", root / "die.au"))
    files["broken"] = root / "Artist B" / "broken.mp3"
    files["broken"].write_bytes(b"ID3" + bytes(range(256)) * 40)  # an ID3 header and no audio
    # junk: each would be a track or an error row if it were listed
    (album / "._03 Dubstep.mp3").write_bytes(APPLEDOUBLE)
    (album / ".DS_Store").write_bytes(bytes(64))
    for folder in (".Trash-1000", "@eaDir"):
        (root / folder).mkdir()
        shutil.copyfile(AUDIO / "die.au", root / folder / "x.mp3")
    return files


def latest(out: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / table)


def manifest(out: Path) -> dict:
    return json.loads((out / "latest" / "manifest.json").read_text())


def test_read_tags_gives_what_mutagen_reads_and_nothing_for_garbage(tmp_path):
    files = make_library(tmp_path)
    tags = read_tags(stored(files["tagged"]))
    easy = mutagen.File(files["tagged"], easy=True)
    assert (tags.artist, tags.album, tags.albumartist, tags.title) == tuple(
        easy[k][0] for k in ("artist", "album", "albumartist", "title")
    )
    assert tags.tracknumber == int(easy["tracknumber"][0].split("/")[0]) == 3
    assert tags.year == int(easy["date"][0][:4])
    assert list(tags.file_genre) == list(easy["genre"]) and len(tags.file_genre) == 2
    vorbis = read_tags(stored(files["vorbis"]))
    raw = mutagen.File(files["vorbis"])
    assert (vorbis.artist, vorbis.albumartist, vorbis.title) == (
        raw["artist"][0],
        raw["albumartist"][0],
        raw["title"][0],
    )
    assert (vorbis.tracknumber, vorbis.year, vorbis.album) == (
        int(raw["tracknumber"][0]),
        int(raw["date"][0]),
        None,
    )
    assert list(vorbis.file_genre) == raw["genre"]
    with pytest.raises(mutagen.MutagenError):  # the tag really is garbage to mutagen ...
        mutagen.File(files["garbage_tag"], easy=True)
    assert read_tags(stored(files["garbage_tag"])) == NO_TAGS  # ... and gives no tags, no exception
    for other in ("untagged", "broken"):
        assert read_tags(stored(files[other])) == NO_TAGS
    assert read_tags(stored(tmp_path / "missing.mp3")) == NO_TAGS
    assert read_tags("gs://bucket/a.mp3") == NO_TAGS  # remote: not read (analysis/file_tags.py)


def test_junk_is_excluded_from_the_listing_and_counted(tmp_path):
    make_library(tmp_path)
    root = stored(tmp_path / "Artist A").rsplit("/", 1)[0]

    def listed(exclusions: Exclusions) -> tuple[set[str], tuple[int, int]]:
        inputs = list_inputs(str(tmp_path), exclusions)
        return {e.path.removeprefix(root + "/") for e in inputs.entries}, tuple(inputs.excluded)

    music = {"Artist A/Album X/03 Dubstep.mp3", "Artist B/tone.flac", "Artist B/garbage tag.mp3"}
    music |= {"Artist B/broken.mp3", "die.au"}
    junk = {"Artist A/Album X/._03 Dubstep.mp3", ".Trash-1000/x.mp3", "@eaDir/x.mp3"}
    assert listed(Exclusions()) == (music, (1, 2))  # the ._ file; two folders, not entered
    assert listed(Exclusions(defaults=False)) == (music | junk, (0, 0))
    assert listed(Exclusions(["Artist B", "*.au"])) == (
        music - {"die.au"} - {m for m in music if "B/" in m},
        (2, 3),
    )
    album = {"Artist A/Album X/03 Dubstep.mp3", "Artist A/Album X/._03 Dubstep.mp3"}
    assert listed(Exclusions(["Artist A/**/*.mp3"], defaults=False)) == ((music | junk) - album, (2, 0))
    # whatever the case of a default name (Windows writes $Recycle.Bin too)
    assert Exclusions().excludes("$Recycle.Bin/S-1-5/a.mp3") and Exclusions().excludes("x/@EADIR/y.mp3")
    assert all(Exclusions().excludes(f"a/{name}/b.mp3") for name in DEFAULT_EXCLUDES if "*" not in name)
    assert not Exclusions().excludes("Artist A/Album X/03 Dubstep.mp3")


def test_a_catalogue_file_is_taken_as_it_lists(tmp_path):
    """An explicit list is tagged as asked: exclusions are for what recogenre lists itself."""
    make_library(tmp_path)
    listing = tmp_path / "list.csv"
    listing.write_text("path\n.Trash-1000/x.mp3\ndie.au\n")
    assert sorted(e.path for e in list_entries(str(listing))) == [
        stored(tmp_path / ".Trash-1000" / "x.mp3"),
        stored(tmp_path / "die.au"),
    ]


def test_tags_land_in_tracks_junk_in_no_table_and_a_broken_file_is_not_decoded_again(tmp_path, capsys):
    lib, out = tmp_path / "library", tmp_path / "out"
    lib.mkdir()
    files = make_library(lib)
    broken = stored(files["broken"])

    assert run_in_process(lib, out) == 0
    first = manifest(out)
    tracks = latest(out, "tracks").set_index("path")
    music = {stored(files[k]) for k in ("tagged", "vorbis", "garbage_tag", "untagged")}
    assert set(tracks.index) == music
    for key in ("tagged", "vorbis", "garbage_tag", "untagged"):
        row, tags = tracks.loc[stored(files[key])], read_tags(stored(files[key]))
        for column, value in tags.columns().items():
            stored_value = row[column]
            if value is None:
                assert stored_value is None or pd.isna(stored_value), (key, column, stored_value)
            elif column == "file_genre":
                assert list(stored_value) == value
            else:
                assert stored_value == value, (key, column)
    assert list(tracks.loc[stored(files["tagged"]), "file_genre"]) == TAGGED["genre"]
    assert tracks.loc[stored(files["garbage_tag"]), "top_genre"]  # a garbage tag costs nothing else
    errors = latest(out, "errors")
    assert list(errors["path"]) == [broken]
    st = os.stat(files["broken"])
    assert errors.loc[0, "size_bytes"] == st.st_size
    assert errors.loc[0, "mtime"] == dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)
    assert errors.loc[0, "first_run_id"] == errors.loc[0, "run_id"] == first["run_id"]
    # junk: in no table, counted in the manifest; the conservation rule holds
    every_path = set(tracks.index) | set(errors["path"]) | set(latest(out, "changes")["path"])
    assert every_path == music | {broken}
    assert (first["counts"]["excluded"], first["counts"]["excluded_folders"]) == (1, 2)
    assert first["counts"]["inputs"] == first["counts"]["tracks"] + first["counts"]["errors"] == 5
    assert "excluded 1 file and 2 folders" in capsys.readouterr().out

    assert run_in_process(lib, out) == 0  # nothing changed: nothing is decoded, the broken file included
    second = manifest(out)
    assert second["counts"]["decoded"] == second["counts"]["failed"] == second["counts"]["retried"] == 0
    assert second["counts"]["unchanged_error"] == 1 and second["counts"]["unchanged"] == 4
    changes = latest(out, "changes").set_index("path")
    assert (
        changes.loc[broken, "change"] == "unchanged_error"
        and first["run_id"] in changes.loc[broken, "reason"]
    )
    again = latest(out, "errors")
    assert (again.loc[0, "run_id"], again.loc[0, "first_run_id"]) == (second["run_id"], first["run_id"])
    assert again.loc[0, "message"] == errors.loc[0, "message"]
    assert "1 unchanged error" in capsys.readouterr().out

    assert run_in_process(lib, out, "--retry-errors") == 0  # tried again, once, and still broken
    third = manifest(out)
    assert third["counts"]["retried"] == third["counts"]["failed"] == 1 and third["counts"]["unchanged"] == 4
    assert third["options"]["retry_errors"] is True
    retried = latest(out, "errors")
    assert (retried.loc[0, "run_id"], retried.loc[0, "first_run_id"]) == (third["run_id"], first["run_id"])

    # --exclude drops a file from the next snapshot (removed), and counts it
    assert run_in_process(lib, out, "--exclude", "*.au", "--exclude", "Artist B/broken.mp3") == 0
    fourth = manifest(out)
    assert (fourth["counts"]["excluded"], fourth["counts"]["removed"], fourth["counts"]["decoded"]) == (
        3,
        1,
        0,
    )
    assert set(latest(out, "tracks")["path"]) == music - {stored(files["untagged"])}
    assert latest(out, "errors").empty
    assert fourth["options"]["exclude"] == ["*.au", "Artist B/broken.mp3"]


# --- PlanChanges alone: which error rows are carried over ------------------------------------

PREVIOUS_RUN, RUN = "2026-01-01T00-00-00", "2026-01-02T00-00-00"


def write_table(folder: Path, rows: list[dict], schema: pa.Schema) -> None:
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema), folder / "part-00000-of-00001.parquet")


@pytest.fixture
def failed_before(tmp_path):
    """Five files that each failed in the previous snapshot, in a different way."""
    lib = tmp_path / "lib"
    lib.mkdir()
    errors, paths = [], {}
    kinds = {  # name: (stage, error_type, mtime shift: 0 = unchanged since)
        "corrupt.mp3": ("decode", "corrupt", 0.0),
        "touched.mp3": ("decode", "not_audio", -100.0),
        "denied.mp3": ("decode", "unreadable", 0.0),  # permissions change without the mtime
        "long.mp3": ("decode", "too_long", 0.0),
        "crashed.mp3": ("decode", "MemoryError", 0.0),  # the decoder's machine, maybe
    }
    for name, (stage, error_type, shift) in kinds.items():
        (lib / name).write_bytes(b"ID3" + bytes(range(256)) * 4)
        st = os.stat(lib / name)
        paths[name] = stored(lib / name)
        mtime = dt.datetime.fromtimestamp(st.st_mtime + shift, tz=dt.UTC)
        row = {"path": paths[name], "stage": stage, "error_type": error_type, "message": f"{name} failed"}
        errors.append(
            row | {"run_id": PREVIOUS_RUN, "size_bytes": st.st_size, "mtime": mtime, "first_run_id": "run-0"}
        )
    previous = tmp_path / "runs" / PREVIOUS_RUN
    write_table(previous / "errors", errors, schemas.ERRORS)
    write_table(previous / "tracks", [], schemas.TRACKS)
    write_table(previous / "frames", [], schemas.FRAMES)
    by_path = {e["path"]: e for e in errors}
    return {"lib": str(lib), "previous": str(previous), "path": paths, "errors": by_path}


@pytest.mark.parametrize(
    "retry_errors, retry_types, carried",
    [
        (False, frozenset(), ["corrupt.mp3", "long.mp3"]),
        (False, frozenset({"too_long"}), ["corrupt.mp3"]),  # --max-duration changed
        (True, frozenset(), []),  # --retry-errors
    ],
)
def test_plan_changes_carries_an_unchanged_files_content_error(
    failed_before, retry_errors, retry_types, carried
):
    path, previous = failed_before["path"], failed_before["errors"]
    tried = sorted(set(path) - set(carried))
    # a file tried again as it was keeps the run it first failed in; a touched one does not
    failed_since = {n: None if n == "touched.mp3" else "run-0" for n in tried}
    with BeamTestPipeline() as p:
        entries = p | beam.Create(list_entries(failed_before["lib"]))
        plan = entries | PlanChanges(failed_before["previous"], RUN, None, None, retry_errors, retry_types)
        assert_that(
            plan["changes"] | "Kinds" >> beam.Map(lambda c: (c["path"], c["track_id"], c["change"])),
            equal_to(
                [(path[n], track_id_for(path[n]), "unchanged_error") for n in carried]
                + [(path[n], track_id_for(path[n]), "retried") for n in tried]
            ),
            label="Changes",
        )
        assert_that(
            plan["carried_errors"],
            equal_to([previous[path[n]] | {"run_id": RUN} for n in carried]),
            label="Carried error rows",
        )
        assert_that(
            plan["decode"] | "Tried" >> beam.Map(lambda e: (e.path, e.failed_since)),
            equal_to([(path[n], failed_since[n]) for n in tried]),
            label="Decoded again",
        )
        assert_that(plan["carried"], equal_to([]), label="No tracks")


def test_read_catalogue_leaves_out_what_its_exclusions_rule_out(tmp_path):
    """The stage alone, listing a folder itself (no launcher list): junk is not read."""
    from recogenre.transforms.catalogue import ReadCatalogue

    make_library(tmp_path)
    music = ["Artist A/Album X/03 Dubstep.mp3", "Artist B/broken.mp3", "Artist B/garbage tag.mp3", "die.au"]
    music.append("Artist B/tone.flac")
    junk = ["Artist A/Album X/._03 Dubstep.mp3", ".Trash-1000/x.mp3", "@eaDir/x.mp3"]
    with BeamTestPipeline() as p:
        default = p | "Default" >> ReadCatalogue(str(tmp_path))
        assert_that(
            default | "Paths" >> beam.Map(lambda e: e.path),
            equal_to([stored(tmp_path / name) for name in music]),
            label="Without junk",
        )
        everything = p | "All" >> ReadCatalogue(
            str(tmp_path), exclusions=Exclusions(["*.au"], defaults=False)
        )
        assert_that(
            everything | "All paths" >> beam.Map(lambda e: e.path),
            equal_to([stored(tmp_path / name) for name in [*music, *junk] if not name.endswith(".au")]),
            label="With junk, without .au",
        )


def test_remote_paths_are_excluded_below_the_folder_or_the_globs_fixed_part():
    """A remote match lists every file: the exclusions are applied to each path below the root."""
    from recogenre.analysis.catalogue_files import kept_remote, remote_root

    assert remote_root("gs://b/music/") == "gs://b/music"
    assert remote_root("gs://b/music/**/*.mp3") == "gs://b/music"
    root, rules = "gs://b/music", Exclusions(["Live/**"])
    assert kept_remote("gs://b/music/A/x.mp3", root, rules)
    for junk in ("A/._x.mp3", "@eaDir/A/x.mp3", "A/.hidden/x.mp3", "Live/2001/x.mp3"):
        assert not kept_remote(f"{root}/{junk}", root, rules), junk
    assert kept_remote("gs://b/.music/x.mp3", "gs://b/.music", Exclusions())  # only below the root


def test_too_long_errors_are_tried_again_when_max_duration_changes(tmp_path):
    """``too_long`` is measured against ``--max-duration``, an option: another limit, another verdict."""
    import argparse

    from recogenre.pipeline.layout import MANIFEST
    from recogenre.pipeline.manifest import retried_error_types

    previous = tmp_path / "runs" / PREVIOUS_RUN
    previous.mkdir(parents=True)
    (previous / MANIFEST).write_text(json.dumps({"options": {"max_duration_h": 12.0}}))
    assert retried_error_types(argparse.Namespace(max_duration=12.0), str(previous)) == frozenset()
    assert retried_error_types(argparse.Namespace(max_duration=20.0), str(previous)) == {"too_long"}
    assert retried_error_types(argparse.Namespace(max_duration=20.0), None) == frozenset()  # a full run
