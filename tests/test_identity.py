"""Identity: the same library is the same library, whatever its spelling; a moved file is not new."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from recogenre.analysis.catalogue_files import read_catalogue_file, track_id_for
from tests.conftest import AUDIO, run_in_process

CLIPS = ["a.au", "b.au", "c.au"]


def variant(target: Path, k: int) -> None:
    """die.au (13 s, one frame) with its last k * 100 bytes silenced: same size, other content."""
    data = bytearray((AUDIO / "die.au").read_bytes())
    if k:
        data[-100 * k :] = bytes(100 * k)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))


def run(catalogue: str, out: Path) -> dict:
    assert run_in_process(catalogue, out) == 0
    return json.loads((out / "latest" / "manifest.json").read_text())


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / name)


def test_any_spelling_decodes_nothing_and_a_moved_file_is_carried_over(tmp_path, monkeypatch):
    library = tmp_path / "music"
    library.mkdir()
    for k, name in enumerate(CLIPS):
        variant(library / name, k)
    out = tmp_path / "out"

    monkeypatch.chdir(tmp_path)
    first = run("music", out)  # relative spelling
    assert first["counts"]["decoded"] == len(CLIPS)
    tracks = table(out, "tracks").set_index("path")
    assert sorted(tracks.index) == sorted(str(library / name) for name in CLIPS)  # absolute, canonical
    assert all(tracks.loc[str(library / n), "track_id"] == track_id_for(str(library / n)) for n in CLIPS)
    first_frames = table(out, "frames")

    alias = tmp_path / "alias"
    alias.symlink_to(library)
    second = run(f"{alias}/", out)  # a symlink to the folder, trailing slash
    assert second["counts"]["decoded"] == 0 and second["counts"]["unchanged"] == len(CLIPS)
    assert set(table(out, "changes")["change"]) == {"unchanged"}
    again = table(out, "tracks").set_index("path")["track_id"]
    assert again.sort_index().equals(tracks["track_id"].sort_index())

    # a.au renamed into a subfolder; b.au replaced by an edit of the same size (not a move).
    (library / "sub").mkdir()
    os.rename(library / "a.au", library / "sub" / "renamed.au")
    (library / "b.au").unlink()
    variant(library / "b-edit.au", 5)
    third = run(f"{tmp_path}/alias/../music", out)
    counts = third["counts"]
    assert (counts["moved"], counts["new"], counts["removed"], counts["unchanged"]) == (1, 1, 1, 1)
    assert counts["decoded"] == 1
    assert third["removed"] == [str(library / "b.au")]
    changes = table(out, "changes").set_index("path")
    moved = changes.loc[str(library / "sub" / "renamed.au")]
    assert moved["change"] == "moved" and moved["previous_path"] == str(library / "a.au")
    assert changes.loc[str(library / "b-edit.au"), "change"] == "new"
    assert changes["previous_path"].notna().sum() == 1

    # The moved track keeps its results under its new path and id; its frames follow it.
    now = table(out, "tracks").set_index("path")
    new_id = track_id_for(str(library / "sub" / "renamed.au"))
    old, new = tracks.loc[str(library / "a.au")], now.loc[str(library / "sub" / "renamed.au")]
    assert new["track_id"] == new_id and new["top_genre"] == old["top_genre"]
    assert new["content_sha256"] == old["content_sha256"]
    frames = table(out, "frames")
    moved_frames = frames[frames["track_id"] == new_id].drop(columns="track_id").reset_index(drop=True)
    old_frames = first_frames[first_frames["track_id"] == old["track_id"]]
    pd.testing.assert_frame_equal(moved_frames, old_frames.drop(columns="track_id").reset_index(drop=True))
    assert set(frames["track_id"]) == set(now["track_id"])


def test_a_catalogue_listing_a_file_twice_gives_one_row_and_duplicate_ids_are_errors(tmp_path, copy_clip):
    die, disco = copy_clip("die.au"), copy_clip("die.au", "disco.au")
    metal = copy_clip("die.au", "sub/metal.au")
    catalogue = tmp_path / "catalogue.csv"
    pd.DataFrame(
        {
            "path": ["die.au", die, "sub/../die.au", "sub/metal.au", disco],
            "track_id": ["", "T1", "", "T1", ""],
            "label": ["", "", "blues", "metal", "disco"],
        }
    ).to_csv(catalogue, index=False)
    entries = read_catalogue_file(str(catalogue))
    assert [(e.path, e.track_id, e.label) for e in entries] == [
        (die, "T1", "blues"),
        (metal, track_id_for(metal), "metal"),
        (disco, track_id_for(disco), "disco"),
    ]
    assert entries[1].problem[0] == "duplicate_track_id" and die in entries[1].problem[1]

    out = tmp_path / "out"
    manifest = run(str(catalogue), out)
    assert manifest["counts"]["inputs"] == 3
    tracks = table(out, "tracks").set_index("path")
    assert sorted(tracks.index) == [die, disco]
    assert (tracks.loc[die, "track_id"], tracks.loc[die, "label"]) == ("T1", "blues")
    errors = table(out, "errors")
    assert list(errors["path"]) == [metal] and list(errors["error_type"]) == ["duplicate_track_id"]
