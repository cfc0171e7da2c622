"""``pipeline.graph.build``, the stages wired together, with the fake model: no weights.

Two runs in this process on a small generated library: a full run, then a
nightly run from its snapshot. The expected scores come from the fake model
applied to the frames ``TrackReader`` gives for each file (the front end is
tested on its own elsewhere); what is checked here is the wiring: every
listed file once in ``tracks`` or ``errors``, each frame's scores in its own
track, silent frames kept out of the model, changes and carried rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from stage_fakes import FakeCrnnHandler, fake_outputs, write_sine

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, UNKNOWN
from recogenre.analysis.catalogue_files import list_inputs, track_id_for
from recogenre.analysis.features import TrackReader
from recogenre.analysis.genres import GENRES
from recogenre.analysis.paths import canonical_root
from recogenre.analysis.schemas import RAW_PREFIX
from recogenre.pipeline.graph import GraphSettings, OutputDirs, build
from recogenre.transforms.track_rows import RunInfo

WEIGHTS_SHA = "f" * 64


def run(source: str, run_dir, run_id: str, previous=None) -> dict[str, list[dict]]:
    """One pipeline run of the graph; its four tables as lists of rows."""
    out = OutputDirs(*(str(run_dir / table) for table in OutputDirs._fields))
    p = BeamTestPipeline()
    run_info = RunInfo(run_id, WEIGHTS_SHA)
    settings = GraphSettings(source, run_info, out, FakeCrnnHandler(4), previous_run=previous)
    build(p, settings, list_inputs(source).entries)  # the listing as the launcher passes it
    p.run().wait_until_finish()
    return {table: pq.read_table(folder).to_pylist() for table, folder in out._asdict().items()}


def fake_scores(path: str) -> list[np.ndarray | None]:
    """What the fake model says of each frame of a file (None: silent, never sent to the model)."""
    with TrackReader(path) as reader:
        return [None if f.silent else fake_outputs(f.melgram)[0] for f in reader.frames()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graph")
    lib = tmp / "lib"
    lib.mkdir()
    write_sine(lib / "tone.wav", 35.0, hz=330)
    write_sine(lib / "short.wav", 5.0, hz=880)
    write_sine(lib / "quiet.wav", 10.0, amp=0.0)
    (lib / "fake.wav").write_text("not audio\n" * 30)
    (lib / "readme.txt").write_text("not listed")
    root = canonical_root(str(lib))
    full = run(str(lib), tmp / "runs" / "one", "one")
    write_sine(lib / "late.wav", 3.0, hz=440)
    nightly = run(str(lib), tmp / "runs" / "two", "two", previous=str(tmp / "runs" / "one"))
    return root, full, nightly


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def check_scores(root: str, tables: dict[str, list[dict]], names: list[str]) -> None:
    tracks = by(tables["tracks"], "path")
    for name in names:
        path = f"{root}/{name}"
        row, expected = tracks[path], fake_scores(path)
        frames = sorted(
            (f for f in tables["frames"] if f["track_id"] == row["track_id"]), key=lambda f: f["frame_index"]
        )
        assert [f["frame_index"] for f in frames] == list(range(len(expected)))
        assert row["n_frames"] == len(expected) and row["n_silent_frames"] == sum(e is None for e in expected)
        for f, raw in zip(frames, expected):
            assert f["silent"] == (raw is None)
            if raw is not None:
                np.testing.assert_allclose([f[RAW_PREFIX + g] for g in GENRES], raw, rtol=1e-6)
        voting = [raw for raw in expected if raw is not None]
        if not voting:
            assert row["top_genre"] is None and all(row[g] is None for g in GENRES)
            continue
        genres = np.mean([np.asarray(r, np.float64) / np.sum(r, dtype=np.float64) for r in voting], axis=0)
        np.testing.assert_allclose([row[g] for g in GENRES], genres, rtol=1e-6)
        top = GENRES[int(np.argmax(genres))]
        assert row["top_genre"] == (UNKNOWN if row["confidence"] < DEFAULT_MIN_CONFIDENCE else top)


def test_a_full_run_classifies_every_file_once(runs):
    root, full, _ = runs
    audio = {f"{root}/{n}" for n in ("tone.wav", "short.wav", "quiet.wav", "fake.wav")}
    tracks, errors = by(full["tracks"], "path"), by(full["errors"], "path")
    assert len(tracks) + len(errors) == len(full["tracks"]) + len(full["errors"]) == len(audio)
    assert set(tracks) | set(errors) == audio
    assert set(errors) == {f"{root}/fake.wav"}
    assert (errors[f"{root}/fake.wav"]["stage"], errors[f"{root}/fake.wav"]["error_type"]) == (
        "decode",
        "not_audio",
    )
    assert {row["track_id"] for row in full["tracks"]} == {track_id_for(p) for p in tracks}
    assert {(c["path"], c["change"], c["run_id"]) for c in full["changes"]} == {
        (p, "new", "one") for p in audio
    }
    assert {f["track_id"] for f in full["frames"]} == {row["track_id"] for row in full["tracks"]}
    check_scores(root, full, ["tone.wav", "short.wav", "quiet.wav"])


def test_a_nightly_run_carries_unchanged_tracks_and_decodes_the_rest(runs):
    root, full, nightly = runs
    kinds = {"tone.wav": "unchanged", "short.wav": "unchanged", "quiet.wav": "unchanged"}
    kinds |= {"fake.wav": "unchanged_error", "late.wav": "new"}  # not audio, and unchanged since
    assert {(c["path"], c["change"]) for c in nightly["changes"]} == {
        (f"{root}/{n}", k) for n, k in kinds.items()
    }
    before, after = by(full["tracks"], "path"), by(nightly["tracks"], "path")
    assert set(after) == {f"{root}/{n}" for n, k in kinds.items() if n != "fake.wav"}
    assert set(by(nightly["errors"], "path")) == {f"{root}/fake.wav"}
    before_error, error = full["errors"][0], nightly["errors"][0]
    assert (error["run_id"], error["first_run_id"], before_error["first_run_id"]) == ("two", "one", "one")
    assert error == before_error | {"run_id": "two"}  # carried as it was: message, size, mtime
    for path, row in before.items():
        assert after[path] == row | {"run_id": "two"}
    carried = {row["track_id"] for row in full["tracks"]}
    frames_before = sorted((f for f in full["frames"]), key=lambda f: (f["track_id"], f["frame_index"]))
    frames_after = sorted(
        (f for f in nightly["frames"] if f["track_id"] in carried),
        key=lambda f: (f["track_id"], f["frame_index"]),
    )
    assert frames_after == frames_before
    check_scores(root, nightly, ["late.wav"])


def test_the_albums_table_counts_decoded_and_carried_tracks(runs):
    """One untagged folder: one album, holding every track of the run, carried over or not."""
    root, full, nightly = runs
    for tables, run_id in ((full, "one"), (nightly, "two")):
        (album,) = tables["albums"]
        assert (album["folder"], album["run_id"]) == (root, run_id)
        assert album["n_tracks"] == len(tables["tracks"])
        assert album["duration_s"] == pytest.approx(sum(t["duration_s"] for t in tables["tracks"]), abs=1e-9)
