"""The beets plugin (issue 22) on a real beets library made by ``beet import -A``, run by the real ``beet``.

The library: shared clips copied into Artist/Album folders and tagged with mutagen (the .au clips
as FLAC, which beets reads), a real ``recogenre run`` into OUT, then one more file that the run
never saw. beets finds the plugin as ``beetsplug.recogenre`` through the installed package.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import mutagen
import pytest
import soundfile as sf

import recogenre
from recogenre.analysis.aggregate import UNKNOWN
from recogenre.apps.tag_formats import TAG_VALUES
from tests.beets_library import BeetsLibrary, make_beets_library
from tests.conftest import AUDIO, WEIGHTS, classify_json, run_in_process, stored

# (artist, album, title, the clip, the file's name under Artist/Album); the jazz mp3 carries
# its own genre tag ("Abstract"), the FLACs none
TRACKS = (
    ("Bensound", "Piano", "The Jazz Piano", "bensound-thejazzpiano.mp3", "01 The Jazz Piano.mp3"),
    ("GTZAN", "Zero", "Disco Zero", "disco.00000.au", "01 Disco Zero.flac"),
    ("Samples", "Short", "Die", "die.au", "01 Die.flac"),
)
LATE = ("GTZAN", "Later", "Late Disco", "disco.00000.au", "01 Late Disco.flac")  # after the run
LS_FORMAT = "$artist - $title: $recogenre_genre"
TOLERANCE = 1e-9  # beets keeps a flexible float with 15 significant digits


@dataclass(frozen=True)
class Tagged:
    music: Path
    out: Path
    files: dict[tuple[str, str], Path]  # (artist, title) -> file

    def snapshot_rows(self) -> dict[str, dict]:
        tracks = recogenre.load_snapshot(str(self.out)).tracks  # the product's own reader
        return {row["path"]: row for row in tracks.to_dict("records")}


def add_track(music: Path, artist: str, album: str, title: str, clip: str, name: str) -> Path:
    target = music / artist / album / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if Path(name).suffix == Path(clip).suffix:
        shutil.copyfile(AUDIO / clip, target)
    else:
        samples, rate = sf.read(AUDIO / clip)
        sf.write(target, samples, rate)
    tags = mutagen.File(target, easy=True)
    if tags.tags is None:
        tags.add_tags()
    tags["artist"], tags["album"], tags["title"] = artist, album, title
    tags.save()
    return target


def tagged_library(root: Path) -> Tagged:
    """Three tagged tracks, a recogenre run over them into OUT, then a fourth the run never saw."""
    music, out = root / "music", root / "out"
    files = {(t[0], t[2]): add_track(music, *t) for t in TRACKS}
    assert run_in_process(music, out) == 0
    files[(LATE[0], LATE[2])] = add_track(music, *LATE)
    return Tagged(music, out, files)


def beets_with_plugin(home: Path, tagged: Tagged, settings: str = "") -> BeetsLibrary:
    config = f"plugins: recogenre\nrecogenre:\n  output: {tagged.out}\n{settings}"
    return make_beets_library(home, tagged.music, config)


def listing(lib: BeetsLibrary, fmt: str = LS_FORMAT) -> list[str]:
    return sorted(lib.beet("ls", "-f", fmt).stdout.splitlines())


def expected_listing(tagged: Tagged) -> list[str]:
    rows = tagged.snapshot_rows()
    lines = []
    for (artist, title), path in tagged.files.items():
        row = rows.get(stored(path))
        # beets shows a field an item does not have as the template's own text
        lines.append(f"{artist} - {title}: {'$recogenre_genre' if row is None else row['top_genre']}")
    return sorted(lines)


def items(lib: BeetsLibrary) -> dict[tuple[str, str], object]:
    """The library's items read with beets' own Python API, by (artist, title)."""
    from beets.library import Library

    library = Library(str(lib.db), str(lib.music))
    try:
        return {(i.artist, i.title): i for i in library.items()}
    finally:
        library._close()


def file_genres(path: Path) -> list[str]:
    return list((mutagen.File(path, easy=True).tags or {}).get("genre", []))


@pytest.fixture(scope="module")
def tagged(tmp_path_factory) -> Tagged:
    return tagged_library(tmp_path_factory.mktemp("beets-plugin"))


def test_beet_recogenre_sets_the_runs_genres_on_the_items(tagged, tmp_path):
    lib = beets_with_plugin(tmp_path / "beets", tagged)
    before = listing(lib)
    rows = tagged.snapshot_rows()
    unknown = sum(rows[stored(p)]["top_genre"] == UNKNOWN for p in tagged.files.values() if stored(p) in rows)
    assert unknown == 1 and len(rows) == len(TRACKS)  # die.au: below the confidence threshold

    pretend = lib.beet("recogenre", "--pretend")
    assert pretend.stdout.splitlines()[-1] == (
        f"recogenre: 4 items, 3 matched ({unknown} unknown), 1 not in snapshot, 3 would be updated"
    )
    assert "recogenre_genre: jazz" in pretend.stdout  # each change shown, as `beet modify` shows it
    assert listing(lib) == before  # a dry run changes nothing

    done = lib.beet("recogenre")
    assert done.stdout.splitlines() == [
        f"recogenre: 4 items, 3 matched ({unknown} unknown), 1 not in snapshot, 3 updated"
    ]
    assert done.stderr == ""
    assert listing(lib) == expected_listing(tagged)
    assert "GTZAN - Late Disco: $recogenre_genre" in listing(lib)  # not in the snapshot: no attribute

    for key, item in items(lib).items():
        row = rows.get(stored(tagged.files[key]))
        if row is None:
            assert "recogenre_genre" not in item and "recogenre_confidence" not in item
            continue
        assert item["recogenre_genre"] == row["top_genre"]
        confidence = float(item["recogenre_confidence"])
        assert math.isclose(confidence, row["confidence"], rel_tol=0, abs_tol=TOLERANCE)
        assert item.genres == (["Abstract"] if key[0] == "Bensound" else [])  # write_genre: no

    again = lib.beet("recogenre")  # nothing new: nothing stored
    assert again.stdout.splitlines()[-1].endswith("1 not in snapshot, 0 updated")

    query = lib.beet("recogenre", "artist:GTZAN")  # a beets query picks the items
    summary = query.stdout.splitlines()[-1]
    assert summary.startswith("recogenre: 2 items, 1 matched (0 unknown), 1 not in snapshot")
    assert lib.beet("ls", "-f", "$title", "recogenre_genre:jazz").stdout.split("\n")[0] == "The Jazz Piano"


def test_write_genre_sets_beets_genres_never_unknown_and_keeps_a_genre_unless_overwrite(tmp_path):
    tagged = tagged_library(tmp_path / "lib")
    lib = beets_with_plugin(tmp_path / "beets", tagged, "  write_genre: yes\n")
    rows = tagged.snapshot_rows()
    disco = rows[stored(tagged.files[("GTZAN", "Disco Zero")])]
    jazz = rows[stored(tagged.files[("Bensound", "The Jazz Piano")])]

    done = lib.beet("recogenre")
    assert done.stdout.splitlines()[-1].endswith("3 updated; genre written on 1, 1 kept (overwrite: no)")
    genres = {key: item.genres for key, item in items(lib).items()}
    assert genres == {
        ("Bensound", "The Jazz Piano"): ["Abstract"],  # the file's own genre stays
        ("GTZAN", "Disco Zero"): [TAG_VALUES[disco["top_genre"]]],
        ("Samples", "Die"): [],  # unknown is never a genre
        ("GTZAN", "Late Disco"): [],  # not in the snapshot
    }

    pretend = lib.beet("recogenre", "--overwrite", "--pretend")
    assert "genre would be written on 1" in pretend.stdout
    assert {key: item.genres for key, item in items(lib).items()} == genres

    # min_confidence between the two tracks' confidences: only the surer one is written
    low, high = sorted([disco["confidence"], jazz["confidence"]])
    assert high - low > 0.05
    settings = f"  write_genre: yes\n  overwrite: yes\n  min_confidence: {(low + high) / 2:.6f}\n"
    sure = beets_with_plugin(tmp_path / "beets-sure", tagged, settings)
    sure.beet("recogenre")
    by_confidence = {key: item.genres for key, item in items(sure).items() if key in (("GTZAN", "Disco Zero"),
                     ("Bensound", "The Jazz Piano"))}  # fmt: skip
    surer, other = (jazz, disco) if jazz["confidence"] > disco["confidence"] else (disco, jazz)
    assert sorted(by_confidence.values()) == sorted([[TAG_VALUES[surer["top_genre"]]],
                                                     [] if other is disco else ["Abstract"]])  # fmt: skip

    overwrite = lib.beet("recogenre", "--overwrite")
    assert overwrite.stdout.splitlines()[-1].endswith("1 updated; genre written on 1")
    assert items(lib)[("Bensound", "The Jazz Piano")].genres == [TAG_VALUES[jazz["top_genre"]]]
    # beets puts its genres into the files on `beet write`
    lib.beet("write")
    assert file_genres(tagged.files[("Bensound", "The Jazz Piano")]) == [TAG_VALUES[jazz["top_genre"]]]
    assert file_genres(tagged.files[("GTZAN", "Disco Zero")]) == [TAG_VALUES[disco["top_genre"]]]
    assert file_genres(tagged.files[("Samples", "Die")]) == []


def test_bad_configuration_is_a_beets_error_not_a_traceback(tagged, tmp_path):
    unset = make_beets_library(tmp_path / "unset", tagged.music, "plugins: recogenre\n")
    done = unset.beet("recogenre", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "error: recogenre: no output folder configured: set `recogenre: {output: OUT}` in beets' config, "
        "OUT being the --output folder of `recogenre run`"
    )

    empty = tmp_path / "empty-out"
    empty.mkdir()
    nothing = make_beets_library(tmp_path / "nothing", tagged.music,
                                 f"plugins: recogenre\nrecogenre:\n  output: {empty}\n")  # fmt: skip
    done = nothing.beet("recogenre", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: recogenre: no published run in {empty} (recogenre.output must be the --output folder "
        "of a finished `recogenre run`)"
    )

    user = beets_with_plugin(tmp_path / "user", tagged, "  write_genre: yes\n  source: user\n")
    done = user.beet("recogenre", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "has no user genres" in done.stderr  # the run had no --head: its user columns are null
    assert user.beet("recogenre", "--pretend", check=False).returncode == 1

    bad = beets_with_plugin(tmp_path / "bad", tagged, "  source: lastfm\n")
    done = bad.beet("recogenre", check=False)
    assert (done.returncode, done.stderr.strip()) == (
        1, "error: recogenre: source must be one of gtzan, user, not 'lastfm'"
    )


def test_auto_classifies_items_as_they_are_imported(tmp_path):
    music = tmp_path / "music"
    files = [add_track(music, *t) for t in (TRACKS[0], TRACKS[2])]
    settings = f"plugins: recogenre\nrecogenre:\n  auto: yes\n  write_genre: yes\n  weights: {WEIGHTS}\n"
    lib = make_beets_library(tmp_path / "beets", music, settings)
    classified = classify_json(*files)
    assert classified.returncode == 0, classified.stderr
    import json

    expected = {stored(r["path"]): r for r in map(json.loads, classified.stdout.splitlines())}
    got = items(lib)
    for key, path in zip(((TRACKS[0][0], TRACKS[0][2]), (TRACKS[2][0], TRACKS[2][2])), files):
        want = expected[stored(path)]
        assert got[key]["recogenre_genre"] == want["top_genre"]
        assert math.isclose(float(got[key]["recogenre_confidence"]), want["confidence"], abs_tol=1e-6)
    assert got[("Samples", "Die")].genres == []  # unknown: no genre
    assert got[("Bensound", "The Jazz Piano")].genres == ["Abstract"]  # overwrite: no


def test_a_user_heads_columns_become_attributes_and_source_user_writes_its_genre():
    """The columns a user head adds (issue 20) on a real beets Item, through the plugin's own steps:
    set when present, removed when null (a stale value never stays), written with ``source: user``."""
    from beets.library import Item

    from beetsplug.recogenre import USER_CONFIDENCE, USER_GENRE, Counts, RecogenrePlugin, genre_value

    item = Item(path=b"/music/a.mp3", genres=[])
    counts = Counts()
    row = {"recogenre_genre": "jazz", "recogenre_confidence": 0.5, USER_GENRE: "lo-fi", USER_CONFIDENCE: 0.9}
    RecogenrePlugin._set(item, row, counts)
    assert (item[USER_GENRE], item[USER_CONFIDENCE], counts.matched) == ("lo-fi", 0.9, 1)
    assert genre_value(item, "user", None) == "lo-fi"  # a user head's label as it named it
    assert genre_value(item, "user", 0.95) is None  # below min_confidence
    assert genre_value(item, "gtzan", None) == TAG_VALUES["jazz"]
    RecogenrePlugin._set(item, {**row, USER_GENRE: None, USER_CONFIDENCE: float("nan")}, counts)
    assert USER_GENRE not in item and USER_CONFIDENCE not in item
    assert genre_value(item, "user", None) is None
    RecogenrePlugin._set(item, {**row, "recogenre_genre": UNKNOWN}, counts)
    assert genre_value(item, "gtzan", None) is None and counts.unknown == 1


def test_a_library_reached_through_a_symlink_matches_the_run(tagged, tmp_path):
    """beets keeps the path it was given (a symlink's name); recogenre stores the folder's real
    path: both sides go through the product's canonical_file, so they meet."""
    link = tmp_path / "music-link"
    link.symlink_to(tagged.music, target_is_directory=True)
    lib = beets_with_plugin(tmp_path / "beets", Tagged(link, tagged.out, tagged.files))
    paths = lib.beet("ls", "-p").stdout.splitlines()
    assert paths and all(p.startswith(str(link)) for p in paths)  # beets did not resolve the link
    summary = lib.beet("recogenre").stdout.splitlines()[-1]
    assert summary.startswith("recogenre: 4 items, 3 matched (1 unknown), 1 not in snapshot")
    assert listing(lib) == expected_listing(tagged)
