"""``ReadCatalogue`` alone on a temp tree: a folder, a glob, a catalogue file and one file.

Expected entries are built the way the product defines paths: the realpath of
the catalogue root, then the names as listed below it; ids from
``track_id_for``; size and mtime from ``os.stat``.
"""

from __future__ import annotations

import os

from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that, equal_to

from recogenre.analysis.catalogue_files import CatalogueEntry, track_id_for
from recogenre.analysis.paths import canonical_root
from recogenre.transforms.catalogue import ReadCatalogue


def listed(root: str, relative: str, label: str | None = None) -> CatalogueEntry:
    """The entry of a file found below ``root`` (sizes of regular files and link targets only)."""
    path = f"{root}/{relative}"
    try:
        st = os.stat(path)
        size, mtime = st.st_size, st.st_mtime
    except FileNotFoundError:  # a dangling link: listed, for decoding to report
        size = mtime = None
    return CatalogueEntry(path, track_id_for(path), label, size, mtime)


def test_read_catalogue_lists_each_audio_file_once(tmp_path):
    lib = tmp_path / "lib"
    (lib / "sub" / "deeper").mkdir(parents=True)
    (lib / "empty folder").mkdir()
    (lib / "a.wav").write_bytes(b"RIFF" + bytes(40))
    (lib / "B.MP3").write_bytes(bytes(100))
    (lib / "fake.wav").write_text("not audio, but named as audio: decoding reports it")
    (lib / "notes.txt").write_text("liner notes")
    (lib / "sub" / "c.flac").write_bytes(bytes(7))
    (lib / "sub" / "cover.jpg").write_bytes(bytes(9))
    (lib / "sub" / "deeper" / "d.ogg").write_bytes(bytes(3))
    (lib / "link.wav").symlink_to(lib / "a.wav")  # its own entry, under its own name
    (lib / "dangling.wav").symlink_to(lib / "nowhere.wav")
    (lib / "sub again").symlink_to(lib / "sub")  # a folder already listed: adds nothing
    # `lib` through a symlink: entries are below its real path
    (tmp_path / "music").symlink_to(lib)
    root = canonical_root(str(tmp_path / "music"))
    assert root == os.path.realpath(lib)
    audio = ["B.MP3", "a.wav", "dangling.wav", "fake.wav", "link.wav", "sub/c.flac", "sub/deeper/d.ogg"]

    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(
        "path,track_id,label\n"
        "lib/a.wav,,jazz\n"
        "lib/a.wav,id-a,rock\n"  # the same file again: one entry, first id and label given
        f"{root}/sub/c.flac,id-c,\n"
        "lib/B.MP3,id-c,blues\n"  # an id already taken: an entry with a problem, never opened
    )
    from_csv = [
        listed(root, "a.wav", "jazz")._replace(track_id="id-a", size_bytes=None, mtime=None),
        listed(root, "sub/c.flac")._replace(track_id="id-c", size_bytes=None, mtime=None),
        listed(root, "B.MP3", "blues")._replace(size_bytes=None, mtime=None),
    ]

    def check_csv(actual):
        problems = {e.path: e.problem for e in actual}
        assert sorted(e._replace(problem=None) for e in actual) == sorted(from_csv)
        kind, message = problems.pop(f"{root}/B.MP3")
        assert kind == "duplicate_track_id" and "id-c" in message and f"{root}/sub/c.flac" in message
        assert set(problems.values()) == {None}

    with BeamTestPipeline() as p:
        folder = p | "Folder" >> ReadCatalogue(str(tmp_path / "music"))
        assert_that(folder, equal_to([listed(root, name) for name in audio]), label="Folder entries")
        top = p | "Glob" >> ReadCatalogue(f"{tmp_path}/music/*.wav")  # `*` stays in its folder
        wav = [name for name in audio if name.endswith(".wav")]
        assert_that(top, equal_to([listed(root, name) for name in wav]), label="Glob entries")
        deep = p | "Deep glob" >> ReadCatalogue(f"{tmp_path}/music/sub/**/*.ogg")  # `**` does not
        assert_that(deep, equal_to([listed(root, "sub/deeper/d.ogg")]), label="Deep glob entries")
        rows = p | "Catalogue file" >> ReadCatalogue(str(catalogue))
        assert_that(rows, check_csv, label="Catalogue entries")
        one = p | "One file" >> ReadCatalogue(f"{tmp_path}/music/sub/deeper/d.ogg")
        assert_that(one, equal_to([listed(root, "sub/deeper/d.ogg")]), label="One entry")
